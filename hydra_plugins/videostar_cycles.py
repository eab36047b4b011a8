"""OmegaConf resolver that lets one scalar, ``iter``, drive how many STaR cycles dvc.yaml unrolls.

DVC's Hydra composition (``dvc exp run``) imports every module under ``hydra_plugins/`` before it
composes ``conf/config.yaml`` into ``params.yaml``; importing this module registers
``${cycles:N,NORAT}``, the dict ``foreach`` unrolls. Key ``"k"`` is Video-STaR's cycle k; with
NORAT true, key ``"norat_k"`` is cycle k of the no-rationalization ablation, a second chain from
the same base. Each item names its model, its predecessor (generation uses the previous cycle's
model) and whether it rationalizes, because DVC templates have no arithmetic:

    "2":       {cycle: 2, name: cycle_2, init: cycle_1, rationalize: "on"}
    "norat_1": {cycle: 1, name: norat_1, init: cycle_0, rationalize: "off"}
"""

from omegaconf import DictConfig, OmegaConf


def cycle_graph(n: int, no_rationalization: bool = False) -> dict[str, dict]:
    n = int(n)
    if n < 1:
        raise ValueError(f"iter must be >= 1, got {n}")
    chains = [("", "cycle", "on")] + ([("norat_", "norat", "off")] if no_rationalization else [])
    graph = {}
    for key_prefix, model_prefix, rationalize in chains:
        for k in range(1, n + 1):
            graph[f"{key_prefix}{k}"] = {
                "cycle": k,
                "name": f"{model_prefix}_{k}",
                "init": "cycle_0" if k == 1 else f"{model_prefix}_{k - 1}",
                "rationalize": rationalize,
            }
    return graph


def cycles(n: int, no_rationalization: bool = False) -> DictConfig:
    # Must be an OmegaConf container: a plain dict returned by a resolver is not re-resolved.
    return OmegaConf.create(cycle_graph(n, bool(no_rationalization)))


OmegaConf.register_new_resolver("cycles", cycles, replace=True)
