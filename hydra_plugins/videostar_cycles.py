"""OmegaConf resolver that turns ``iter`` and the ``loop`` section into the cycle graph.

DVC's Hydra composition (``dvc exp run``; ``videostar params`` for ``dvc repro``) imports every
module under ``hydra_plugins/`` before it composes ``conf/config.yaml`` into ``params.yaml``; this
one registers ``${loop_graph:ITER,NO_RATIONALIZATION,RESTART_FROM_BASE}``, whose value
(videostar.loop.graph) dvc.yaml's ``foreach`` loops unroll. ``dvc exp run -S iter=4`` after a
3-cycle run adds only cycle 4's stages (and moves the final model to cycle 4's data).
"""

from omegaconf import DictConfig, OmegaConf

from videostar.loop.graph import graph


def loop_graph(iterations: int, no_rationalization: bool, restart_from_base: bool) -> DictConfig:
    # Must be an OmegaConf container: a plain dict returned by a resolver is not re-resolved.
    return OmegaConf.create(graph(iterations, bool(no_rationalization), bool(restart_from_base)))


OmegaConf.register_new_resolver("loop_graph", loop_graph, replace=True)
