"""Tabulate the corpus trials of issue 14 from their runs' reports into metrics/trials.md.

    .venv/bin/python benchmarks/corpus_trials.py      # then `videostar readme`

Reads metrics/trials/trials.yaml (each trial: its run's report.md and what its corpus held) and
writes, per trial, the adapted-task mean of the base, label-template SFT, cycle 3 and the final
model, and the direct-answer yield of each cycle for the tasks that verify least; then appends
metrics/trials/prompt_forms.md (benchmarks/probe_prompt_forms.py), metrics/trials/kept_spans.md
(benchmarks/kept_spans.py) and metrics/trials/kept_labels.md (benchmarks/kept_labels.py; also of
the format-questions, count-questions, tokenizer and count-only trials) of the default run, and
the first two of the 2-layer default run of 10d49da (prompt_forms-10d49da.md,
kept_spans-10d49da.md) if present, the transfer trials of metrics/trials/transfer/ (each a base
and its label SFT, probed with benchmarks/probe_prompt_forms.py; listed in transfer.yaml), and
the base-recipe trials of metrics/trials/base-recipe/ (each a base's loss curve and
benchmarks/corpus_loss.py table; listed in base-recipe.yaml).
"""

from __future__ import annotations

import argparse
import csv
import gzip
from pathlib import Path

import yaml

MODELS = {"base": "base", "label SFT": "label-template SFT",
          "cycle 3": "Video-STaR cycle 3 (with rationales)", "final": "Video-STaR final"}  # fmt: skip
YIELD_TASKS = ("blinks", "timing", "event")
# Written by benchmarks/probe_prompt_forms.py, kept_spans.py and kept_labels.py, each under the
# line that names its run.
APPENDED = (
    ("prompt_forms.md", "The default run of e5da124 (the sixth row):"),
    ("kept_spans.md", "The default run of e5da124 (the sixth row):"),
    ("prompt_forms-10d49da.md", "The 2-layer default run of 10d49da (the fifth row):"),
    ("kept_spans-10d49da.md", "The 2-layer default run of 10d49da (the fifth row):"),
    ("kept_labels.md", "The default run of e5da124 (the sixth row):"),
    ("6-format-questions-kept_labels.md", "The format-questions trial (seventh row):"),
    ("7-count-questions-kept_labels.md", "The count-questions trial (eighth row):"),
    ("8-tokenizer-words-kept_labels.md", "The tokenizer trial (tenth row):"),
    ("9-count-only-kept_labels.md", "The count-only trial, now the default run (eleventh row):"),
    ("9-count-only-kept_spans.md", "The count-only trial, now the default run (eleventh row):"),
    (
        "9-count-only-trainseed1-kept_labels.md",
        "The count-only trial with train.seed 1 (last row):",
    ),
    ("9-count-only-trainseed1-kept_spans.md", "The count-only trial with train.seed 1 (last row):"),
)
# Probe rows of the transfer table: (column, model probed, row of its table).
PROBED = (
    ("label SFT, bare", "label_sft", "the bare question"),
    ('label SFT, "Question: "', "label_sft", '"Question: " + question'),
    ("label SFT, answer prompt", "label_sft", "the answer prompt (both)"),
    ("base, rationale prompt (copies the hint)", "base", "the rationale prompt (gold hint)"),
    ("cycle 1, answer prompt", "cycle_1", "the answer prompt (both)"),
)
# Probed in some trials only; their cells are blank elsewhere.
OPTIONAL = ("cycle_1",)
# Base-recipe trials: the loss curve's 500-step means at these steps, the loss under which the
# base counts as converged, and the corpus_loss.py kinds shown.
CURVE_STEPS = (2000, 4000, 6000, 8000, 10000, 11500)
WINDOW = 500
CONVERGED = 0.05
KINDS = ("caption", "sentence_hint", "text_question")


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


def probe_counts(probe: str) -> dict[str, str]:
    """Each row of a probe table as its passes per task, "event / timing / blinks / direction"
    (the header row, "question given as", names the tasks)."""
    rows = table_rows(probe)
    if not rows:
        raise SystemExit("a probe file holds no table")
    width = len(rows[0])
    if any(len(r) != width for r in rows):
        raise SystemExit(f"a probe row has not the {width} cells of its header: {rows}")
    return {r[0]: " / ".join(c.split(" / ")[0] for c in r[1:]) for r in rows}


def transfer_table(listing: Path) -> list[str]:
    """The transfer trials: what each changed, and the probe rows of its label SFT and base (and
    of its first cycle's model, where that was probed)."""
    folder = listing.parent
    lines = []
    for trial in yaml.safe_load(listing.read_text(encoding="utf-8")):
        probes = {}
        for model in {model for _, model, _ in PROBED}:
            path = folder / f"{trial['files']}-{model}.md"
            if path.is_file() or model not in OPTIONAL:
                probes[model] = probe_counts(path.read_text("utf-8"))
        cells = [probes[model][row] if model in probes else "" for _, model, row in PROBED]
        lines.append(f"| {trial['files']} | {trial['change']} | " + " | ".join(cells) + " |")
    return [
        "Transfer trials (`metrics/trials/transfer/`: each a base pretrained on seed 0 and its "
        "label-template SFT, probed as above on the first 32 training questions per task; "
        f"passes per task, {probes['label_sft']['question given as']}):",
        "",
        "| trial | change from the default | " + " | ".join(c for c, _, _ in PROBED) + " |",
        "|---|---|" + "---|" * len(PROBED),
        *lines,
    ]


def window_means(curve: Path) -> dict[int, float]:
    """Mean loss of each WINDOW steps of a dvclive loss.tsv(.gz), keyed by the window's first step."""
    opener = gzip.open if curve.suffix == ".gz" else open
    with opener(curve, "rt", encoding="utf-8") as f:
        losses = [float(row["loss"]) for row in csv.DictReader(f, delimiter="\t")]
    return {start: sum(losses[start : start + WINDOW]) / len(losses[start : start + WINDOW])
            for start in range(0, len(losses), WINDOW)}  # fmt: skip


def recipe_table(listing: Path) -> list[str]:
    """The base-recipe trials: each base's loss curve, where it first converged, and which of the
    corpus's abilities it has (whole-response top-1 on held-out examples)."""
    folder = listing.parent
    lines = []
    for trial in yaml.safe_load(listing.read_text(encoding="utf-8")):
        means = window_means(folder / f"{trial['files']}-loss.tsv.gz")
        first = next((str(step) for step, loss in means.items() if loss < CONVERGED), "never")
        curve = [f"{means[step]:.3f}" if step in means else "" for step in CURVE_STEPS]
        scores = {r[0]: r[3] for r in table_rows((folder / f"{trial['files']}-corpus_loss.md")
                                                 .read_text("utf-8"))}  # fmt: skip
        cells = [*curve, first, *(scores[kind] for kind in KINDS)]
        lines.append(f"| {trial['files']} | {trial['change']} | " + " | ".join(cells) + " |")
    header = [*(f"loss at {step}" for step in CURVE_STEPS), f"first step of a mean under {CONVERGED}",
              *(f"{kind} top-1" for kind in KINDS)]  # fmt: skip
    return [
        "Base-recipe trials (`metrics/trials/base-recipe/`: each a base pretrained 12,000 steps on"
        " one thread unless its row says otherwise, the default run's on two; loss: mean of the"
        f" {WINDOW} steps from that step; top-1: share of held-out"
        " corpus examples of that kind whose whole response is the base's top choice,"
        " `benchmarks/corpus_loss.py`):",
        "",
        "| trial | change from the 2-layer default of 10d49da | " + " | ".join(header) + " |",
        "|---|---|" + "---|" * len(header),
        *lines,
    ]


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
    for name, run in APPENDED:
        extra = args.trials.parent / name
        if extra.is_file():
            lines += ["", f"**{run}**", extra.read_text(encoding="utf-8").rstrip("\n")]
    transfer = args.trials.parent / "transfer" / "transfer.yaml"
    if transfer.is_file():
        lines += ["", *transfer_table(transfer)]
    recipes = args.trials.parent / "base-recipe" / "base-recipe.yaml"
    if recipes.is_file():
        lines += ["", *recipe_table(recipes)]
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
