"""Stage `report`: one table across cycles, for `dvc plots` and people.

    python -m stages.report --cycles 3

Reads metrics/cycles/cycle_<k>.json for k = 0..N and final.json; writes metrics/cycles.csv (one row
per cycle: accuracy per task and mean, yields) and metrics/report.md (the same plus the final model
the label-template SFT baseline and the majority baselines).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pandas as pd

from stages.records import read_json

METRICS = Path("metrics/cycles")


def row_of(metrics: dict[str, Any], name: str) -> dict[str, Any]:
    row: dict[str, Any] = {"model": name}
    for task, value in metrics["accuracy"].items():
        row[f"accuracy_{task}"] = value
    for kind in ("answer", "rationale", "kept"):
        row[f"yield_{kind}"] = metrics.get("yield", {}).get(kind)
    return row


def table(n_cycles: int, metrics_dir: Path = METRICS) -> tuple[pd.DataFrame, dict[str, Any]]:
    rows = []
    for k in range(n_cycles + 1):
        rows.append(
            {"cycle": k, **row_of(read_json(metrics_dir / f"cycle_{k}.json"), f"cycle {k}")}
        )
    return pd.DataFrame(rows), read_json(metrics_dir / "final.json")


def markdown(
    cycles: pd.DataFrame, final: dict[str, Any], label_sft: dict[str, Any] | None = None
) -> str:
    extra = [{"cycle": None, **row_of(final, "final")}]
    if label_sft is not None:
        extra.insert(0, {"cycle": None, **row_of(label_sft, "label-template SFT")})
    full = pd.concat([cycles, pd.DataFrame(extra)])
    majority = {
        "model": "majority baseline",
        **{f"accuracy_{t}": v for t, v in final["majority"].items()},
    }
    full = pd.concat([full, pd.DataFrame([majority])]).drop(columns=["cycle"])
    header = "| " + " | ".join(full.columns) + " |\n|" + "---|" * len(full.columns) + "\n"
    lines = []
    for _, r in full.iterrows():
        cells = ["" if pd.isna(v) else (f"{v:.3f}" if isinstance(v, float) else str(v)) for v in r]
        lines.append("| " + " | ".join(cells) + " |")
    return "# Video-STaR cycles\n\n" + header + "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cycles", type=int, required=True)
    args = parser.parse_args(argv)
    cycles, final = table(args.cycles)
    cycles.to_csv("metrics/cycles.csv", index=False, float_format="%.4f")
    text = markdown(cycles, final, read_json(METRICS / "label_sft.json"))
    Path("metrics/report.md").write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
