"""Stage `report`: the results table across models and cycles, for `dvc plots` and people.

    python -m stages.report --cycles 3

Reads every metrics/cycles/<model>.json (cycle_0 .. cycle_N, norat_1 .. norat_N when the
no-rationalization chain ran, label_sft, final) and writes
- metrics/report.md: the results table (rows: majority baseline, base, label-template SFT,
  no-rationalization cycles, Video-STaR cycles, final; columns: held-out accuracy per adapted task
  and mean, general-ability retention, transfer sets) and the yields per cycle and task;
- metrics/cycles.csv: one row per cycle for `dvc plots` (accuracy, retention, transfer, the
  ablation's accuracy, yields overall and per task);
- metrics/yields/<task>.csv: the yield curves of one task (direct answers, rationalizations).
The README's results table is this file's table (`videostar readme` copies it there).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pandas as pd

from stages.records import read_json

METRICS = Path("metrics/cycles")


def load_metrics(metrics_dir: Path = METRICS) -> dict[str, dict[str, Any]]:
    return {path.stem: read_json(path) for path in sorted(metrics_dir.glob("*.json"))}


def summary(metrics: dict[str, Any]) -> dict[str, float]:
    """Accuracy per adapted task and mean, then retention and each transfer set's mean."""
    row = {task: value for task, value in metrics["accuracy"].items() if task != "mean"}
    row["mean"] = metrics["accuracy"]["mean"]
    for name, accuracy in metrics.get("sets", {}).items():
        row[name] = accuracy["mean"]
    return row


def model_rows(n_cycles: int, metrics: dict[str, dict[str, Any]]) -> list[tuple[str, str]]:
    """(row label, metrics name) in table order; rows whose metrics are absent are left out."""
    rows = [("base", "cycle_0"), ("label-template SFT", "label_sft")]
    rows += [(f"no rationalization, cycle {k}", f"norat_{k}") for k in range(1, n_cycles + 1)]
    rows += [(f"Video-STaR cycle {k}", f"cycle_{k}") for k in range(1, n_cycles + 1)]
    rows.append(("Video-STaR final (no rationales)", "final"))
    return [(label, name) for label, name in rows if name in metrics]


def results(n_cycles: int, metrics: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """The results table: one row per model, indexed by row label."""
    base = metrics["cycle_0"]
    majority = {**base["majority"]}
    rows = {"majority baseline": majority}
    for label, name in model_rows(n_cycles, metrics):
        rows[label] = summary(metrics[name])
    frame = pd.DataFrame.from_dict(rows, orient="index")
    tasks = [t for t in base["accuracy"] if t != "mean"]
    others = [c for c in frame.columns if c not in (*tasks, "mean")]
    return frame[[*tasks, "mean", *others]]


def cycles_frame(n_cycles: int, metrics: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """One row per cycle (0 = base) for `dvc plots`."""
    rows = []
    for k in range(n_cycles + 1):
        m = metrics[f"cycle_{k}"]
        row: dict[str, Any] = {"cycle": k}
        row.update({f"accuracy_{t}": v for t, v in m["accuracy"].items()})
        row.update({f"{name}_mean": acc["mean"] for name, acc in m.get("sets", {}).items()})
        ablation = metrics["cycle_0"] if k == 0 else metrics.get(f"norat_{k}")
        if ablation is not None:
            row["norat_accuracy_mean"] = ablation["accuracy"]["mean"]
        got = m.get("yield", {})
        for kind in ("answer", "rationale", "kept"):
            row[f"yield_{kind}"] = got.get(kind)
        for kind in ("answer", "rationale"):
            for task, value in got.get(f"{kind}_by_task", {}).items():
                row[f"yield_{kind}_{task}"] = value
        rows.append(row)
    return pd.DataFrame(rows)


def per_task_yields(cycles: pd.DataFrame) -> dict[str, pd.DataFrame]:
    done = cycles[cycles["cycle"] > 0]
    tasks = [c.removeprefix("yield_answer_") for c in cycles if c.startswith("yield_answer_")]
    return {
        task: pd.DataFrame(
            {
                "cycle": done["cycle"],
                "answer": done[f"yield_answer_{task}"],
                "rationale": done.get(f"yield_rationale_{task}"),
            }
        )
        for task in tasks
    }


def to_markdown(frame: pd.DataFrame, index_name: str) -> str:
    columns = [index_name, *map(str, frame.columns)]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for label, row in frame.iterrows():
        cells = [
            "" if pd.isna(v) else (f"{v:.3f}" if isinstance(v, float) else str(v)) for v in row
        ]
        lines.append("| " + " | ".join([str(label), *cells]) + " |")
    return "\n".join(lines) + "\n"


def yields_table(cycles: pd.DataFrame) -> pd.DataFrame:
    """Direct-answer / rationalization yield per task and cycle, as 'answer / rationale'."""
    tasks = [c.removeprefix("yield_answer_") for c in cycles if c.startswith("yield_answer_")]
    out = {}
    for _, row in cycles[cycles["cycle"] > 0].iterrows():
        out[f"cycle {int(row['cycle'])}"] = {
            task: f"{row[f'yield_answer_{task}']:.3f} / {row.get(f'yield_rationale_{task}', 0):.3f}"
            for task in tasks
        }
    return pd.DataFrame.from_dict(out, orient="index")


def markdown(table: pd.DataFrame, cycles: pd.DataFrame) -> str:
    return (
        "# Video-STaR results\n\n"
        "Held-out accuracy per adapted task and mean; `retention`: held-out captions of the "
        "pretraining corpus (general ability); other columns: transfer sets no stage trained on.\n\n"
        + to_markdown(table, "model")
        + "\n## Yield per cycle and task (direct answer / rationalization)\n\n"
        + to_markdown(yields_table(cycles), "cycle")
    )


README_BEGIN = "<!-- results:begin (videostar readme copies metrics/report.md here) -->"
README_END = "<!-- results:end -->"


def readme_with_results(readme: str, report: str) -> str:
    """``readme`` with the text between its results markers replaced by ``report`` (less its title)."""
    try:
        head, rest = readme.split(README_BEGIN, 1)
        _, tail = rest.split(README_END, 1)
    except ValueError:
        raise ValueError(f"README has no {README_BEGIN!r} ... {README_END!r} block") from None
    body = report.split("\n", 1)[1].strip() if report.startswith("# ") else report.strip()
    return f"{head}{README_BEGIN}\n{body}\n{README_END}{tail}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cycles", type=int, required=True)
    args = parser.parse_args(argv)
    metrics = load_metrics()
    cycles = cycles_frame(args.cycles, metrics)
    cycles.to_csv("metrics/cycles.csv", index=False, float_format="%.4f")
    yields_dir = Path("metrics/yields")
    yields_dir.mkdir(exist_ok=True)
    for task, curves in per_task_yields(cycles).items():
        curves.to_csv(yields_dir / f"{task}.csv", index=False, float_format="%.4f")
    text = markdown(results(args.cycles, metrics), cycles)
    Path("metrics/report.md").write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
