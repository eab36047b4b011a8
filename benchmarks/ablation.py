"""The no-rationalization ablation next to Video-STaR's cycles, from a run that has its chain.

    dvc exp run -S loop.no_rationalization=true        # in a finished default run's clone
    .venv/bin/python benchmarks/ablation.py RUN_CLONE   # writes metrics/ablation.md
    .venv/bin/videostar readme                          # copies it into the README

The default run leaves the ablation's chain out (it would add about a quarter to its time); the
experiment above adds only that chain, every other stage coming from DVC's cache, so the two
chains compare on the same base, questions and evaluation sets.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from videostar.evaluation import report  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "metrics" / "ablation.md"


def direct_yields(n_cycles: int, train: dict) -> pd.DataFrame:
    """Direct-answer yield per task of each chain's cycles (what the verifier kept unaided)."""
    rows = {}
    for k in range(1, n_cycles + 1):
        for label, name in ((f"Video-STaR, cycle {k}", f"cycle_{k}"),
                            (f"no rationalization, cycle {k}", f"norat_{k}")):  # fmt: skip
            by_task = train.get(name, {}).get("yield", {}).get("answer_by_task")
            if by_task is not None:
                rows[label] = dict(by_task)
    return pd.DataFrame.from_dict(rows, orient="index")


def markdown(n_cycles: int, metrics: dict) -> str:
    table = report.results(n_cycles, metrics)
    if not report.has_ablation(table):
        raise SystemExit("this run has no no-rationalization chain: run the experiment first")
    chains = [label for label in table.index
              if "cycle" in label or label in ("majority baseline", "base")]  # fmt: skip
    return (
        "Held-out accuracy (adapted tasks and mean, transfer sets, retention):\n\n"
        + report.to_markdown(table.loc[chains], "model")
        + "\nDirect-answer yield per cycle and task (the fraction of the 400 training questions "
        "whose answer to the step-by-step prompt verified):\n\n"
        + report.to_markdown(direct_yields(n_cycles, metrics["train"]), "chain, cycle")
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("clone", type=Path)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    n_cycles = yaml.safe_load((args.clone / "params.yaml").read_text())["iter"]
    text = markdown(n_cycles, report.load_metrics(args.clone / "metrics"))
    args.out.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
