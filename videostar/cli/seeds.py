"""Run the committed pipeline with several seeds as DVC experiments; print mean and spread per row.

    videostar seeds                  # seeds 0 1 2, one after another, each in a temporary workspace
    videostar seeds --seeds 0 1 2 --out metrics/seeds.md
    videostar seeds --seeds 0 --prefix lora -S train.method=lora -S train.lr=0.002 --out metrics/lora.md

Each seed is `dvc exp run --temp -S seed=<s> -n seed-<s>` (the top-level `seed` is the root of every
seed in params: world, corpus, model init, pretraining, questions, sampling, training), so the runs
are ordinary experiments: `dvc exp show`, `dvc exp apply seed-1`, `dvc exp push` work on them, and a
seed whose outputs are cached (the default run, seed 0) costs nothing. Runs on the last commit, so
commit first. The table is the report stage's results table, one cell = mean ± sample std (a
single seed gives plain values). ``--prefix`` names the experiments ``<prefix>-<s>``, so a variant
(`-S` overrides for every seed) does not replace the plain seed runs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from videostar.evaluation import report


def _dvc(*args: str, **kwargs: Any) -> subprocess.CompletedProcess:
    """Run dvc with this interpreter's environment first on PATH, so `.venv/bin/videostar seeds`
    works without activating the venv (dvc, and the stages' `python`, resolve to the venv's)."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run(["dvc", *args], env=env, **kwargs)


def run_seed(seed: int, extra: Sequence[str] = (), prefix: str = "seed") -> None:
    name = f"{prefix}-{seed}"
    _dvc("exp", "remove", name, capture_output=True)  # a rerun replaces it; none yet is fine
    overrides = [arg for pair in (("-S", s) for s in (f"seed={seed}", *extra)) for arg in pair]
    _dvc("exp", "run", "--temp", "-n", name, *overrides, check=True)


def experiment_data(show: Any, name: str) -> dict[str, Any]:
    """The `data` of experiment ``name`` anywhere in `dvc exp show --json` output."""
    stack = [show]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if node.get("name") == name and isinstance(node.get("data"), dict):
                return node["data"]
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    raise LookupError(f"no experiment named {name!r} in `dvc exp show`")


def seed_table(data: dict[str, Any]) -> pd.DataFrame:
    """The report's results table of one experiment, from its metrics in `dvc exp show`."""
    found = {path: entry["data"] for path, entry in data["metrics"].items() if "data" in entry}
    metrics = {
        "models": {Path(p).stem: m for p, m in found.items() if p.startswith("metrics/models/")},
        "train": {Path(p).stem: m for p, m in found.items() if p.startswith("metrics/train/")},
        "majority": found["metrics/majority.json"],
    }
    params = data["params"]["params.yaml"]["data"]
    return report.results(int(params["iter"]), metrics)


def aggregate(tables: Sequence[pd.DataFrame]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Cell-wise mean and sample standard deviation (NaN for one seed) of equally shaped tables."""
    stacked = pd.concat(tables, keys=range(len(tables)))
    grouped = stacked.groupby(level=1, sort=False)
    return grouped.mean(), grouped.std(ddof=1)


def to_markdown(mean: pd.DataFrame, std: pd.DataFrame, n: int) -> str:
    def cell(m: float, s: float) -> str:
        return "" if pd.isna(m) else f"{m:.3f}" if pd.isna(s) else f"{m:.3f} ± {s:.3f}"

    cells = pd.DataFrame(
        [[cell(mean.at[r, c], std.at[r, c]) for c in mean.columns] for r in mean.index],
        index=mean.index,
        columns=mean.columns,
    )
    spread = "One seed." if n == 1 else f"Mean ± sample std over {n} seeds."
    return f"{spread}\n\n" + report.to_markdown(cells, "model")


def main(
    seeds: Sequence[int], extra: Sequence[str] = (), out: str | None = None, prefix: str = "seed"
) -> str:
    for seed in seeds:
        run_seed(seed, extra, prefix)
    show = json.loads(
        _dvc("exp", "show", "--json", check=True, capture_output=True, text=True).stdout
    )
    tables = [seed_table(experiment_data(show, f"{prefix}-{seed}")) for seed in seeds]
    mean, std = aggregate(tables)
    settings = f"Seeds {', '.join(map(str, seeds))}" + (
        f", with `{' '.join(f'-S {o}' for o in extra)}`" if extra else ""
    )
    text = f"{settings}. " + to_markdown(mean, std, len(tables))
    if out:
        Path(out).write_text(text, encoding="utf-8")
    return text
