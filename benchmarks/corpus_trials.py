"""Tabulate the corpus trials of issue 14 from their runs' reports into metrics/trials.md.

    .venv/bin/python benchmarks/corpus_trials.py      # then `videostar readme`

Reads metrics/trials/trials.yaml (each trial: its run's report.md and what its corpus held) and
writes, per trial, the adapted-task mean of the base, label-template SFT, cycle 3 and the final
model, and the direct-answer yield of each cycle for the tasks that verify least; then appends
metrics/trials/prompt_forms.md (benchmarks/probe_prompt_forms.py) and metrics/trials/kept_spans.md
(benchmarks/kept_spans.py) if present.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import yaml

MODELS = {"base": "base", "label SFT": "label-template SFT",
          "cycle 3": "Video-STaR cycle 3 (with rationales)", "final": "Video-STaR final"}  # fmt: skip
YIELD_TASKS = ("blinks", "timing", "event")
# Written by benchmarks/probe_prompt_forms.py and benchmarks/kept_spans.py.
APPENDED = ("prompt_forms.md", "kept_spans.md")


def table_rows(text: str) -> list[list[str]]:
    return [[c.strip() for c in line.strip("|").split("|")] for line in text.splitlines()
            if line.startswith("|") and not line.startswith("|---")]  # fmt: skip


def summary(report: str) -> dict[str, str]:
    """The report's adapted means per model and the direct yields per task, cycle by cycle."""
    rows = table_rows(report)
    header = next(r for r in rows if r[0] == "model")
    mean = header.index("mean")
    means = {r[0]: r[mean] for r in rows if len(r) == len(header) and r[0] != "model"}
    yield_header = next(r for r in rows if r[0] == "cycle")
    cycles = [r for r in rows if r[0].startswith("cycle ") and len(r) == len(yield_header)]
    out = {label: means[name] for label, name in MODELS.items()}
    for task in YIELD_TASKS:
        column = yield_header.index(task)
        out[task] = " → ".join(r[column].split(" / ")[0] for r in cycles)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=Path, default=Path("metrics/trials/trials.yaml"))
    parser.add_argument("--out", type=Path, default=Path("metrics/trials.md"))
    args = parser.parse_args()
    trials = yaml.safe_load(args.trials.read_text(encoding="utf-8"))
    columns = [*MODELS, *(f"`{t}` direct yield" for t in YIELD_TASKS)]
    lines = [
        "| corpus | run | " + " | ".join(columns) + " |",
        "|---|---|" + "---|" * len(columns),
    ]
    for trial in trials:
        values = summary(Path(trial["report"]).read_text(encoding="utf-8"))
        cells = [values[c] for c in MODELS] + [values[t] for t in YIELD_TASKS]
        lines.append(f"| {trial['corpus']} | {trial['run']} | " + " | ".join(cells) + " |")
    for name in APPENDED:
        extra = args.trials.parent / name
        if extra.is_file():
            lines += ["", extra.read_text(encoding="utf-8").rstrip("\n")]
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
