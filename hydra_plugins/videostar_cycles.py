"""OmegaConf resolvers that let one scalar, ``iter``, drive how many STaR cycles dvc.yaml unrolls.

DVC's Hydra composition (``dvc exp run``) imports every module under ``hydra_plugins/`` before it
composes ``conf/config.yaml`` into ``params.yaml``; importing this module registers:

- ``${cycles:N}`` -> ``{"1": {"prev": 0}, ..., "N": {"prev": N-1}}``: the dict ``foreach`` unrolls;
  each item names its predecessor because DVC templates have no arithmetic.
"""

from omegaconf import DictConfig, OmegaConf


def cycles(n: int) -> DictConfig:
    n = int(n)
    if n < 1:
        raise ValueError(f"iter must be >= 1, got {n}")
    # Must be an OmegaConf container: a plain dict returned by a resolver is not re-resolved.
    return OmegaConf.create({str(k): {"prev": k - 1} for k in range(1, n + 1)})


OmegaConf.register_new_resolver("cycles", cycles, replace=True)
