"""Run the committed pipeline with several seeds as DVC experiments; print mean and spread per row.

    videostar seeds                  # seeds 0 1 2, one after another, each in a temporary workspace
    videostar seeds --seeds 0 1 2 --out metrics/seeds.md

Each seed is `dvc exp run --temp -S seed=<s> -n seed-<s>` (the top-level `seed` is the root of every
seed in params: world, corpus, model init, pretraining, questions, sampling, training), so the runs
are ordinary experiments: `dvc exp show`, `dvc exp apply seed-1`, `dvc exp push` work on them, and a
seed whose outputs are cached (the default run, seed 0) costs nothing. Runs on the last commit, so
commit first. The table is the report stage's results table, one cell = mean ± sample std.
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

from stages import report

METRICS_PREFIX = "metrics/cycles/"


def _dvc(*args: str, **kwargs: Any) -> subprocess.CompletedProcess:
    """Run dvc with this interpreter's environment first on PATH, so `.venv/bin/videostar seeds`
    works without activating the venv (dvc, and the stages' `python`, resolve to the venv's)."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run(["dvc", *args], env=env, **kwargs)


def run_seed(seed: int, extra: Sequence[str] = ()) -> None:
    name = f"seed-{seed}"
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
    metrics = {
        Path(path).stem: entry["data"]
        for path, entry in data["metrics"].items()
        if path.startswith(METRICS_PREFIX) and "data" in entry
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
    return f"Mean ± sample std over {n} seeds.\n\n" + report.to_markdown(cells, "model")


def main(seeds: Sequence[int], extra: Sequence[str] = (), out: str | None = None) -> str:
    for seed in seeds:
        run_seed(seed, extra)
    show = json.loads(
        _dvc("exp", "show", "--json", check=True, capture_output=True, text=True).stdout
    )
    tables = [seed_table(experiment_data(show, f"seed-{seed}")) for seed in seeds]
    mean, std = aggregate(tables)
    text = to_markdown(mean, std, len(tables))
    if out:
        Path(out).write_text(text, encoding="utf-8")
    return text
