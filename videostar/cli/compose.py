"""Compose ``conf/config.yaml`` (+ overrides) into ``params.yaml``, exactly as ``dvc exp run`` does.

    videostar params                 # after editing conf/config.yaml, before `dvc repro`
    videostar params iter=5 world.train_per_task=50

DVC composes params.yaml itself on ``dvc exp run``; ``dvc repro`` does not, so this command keeps
the committed params.yaml in step with conf/ using DVC's own composition code.
"""

from __future__ import annotations

from pathlib import Path


def compose_params(
    repo_root: str | Path = ".",
    overrides: list[str] | None = None,
    output: str | Path | None = None,
) -> Path:
    from dvc.utils.hydra import compose_and_dump

    root = Path(repo_root).resolve()
    out = Path(output) if output else root / "params.yaml"
    compose_and_dump(
        out,
        config_dir=str(root / "conf"),
        config_module=None,
        config_name="config",
        plugins_path=str(root),
        overrides=list(overrides or []),
    )
    return out
