"""Which gold labels the verified direct answers of a cycle cover, per task: all against kept.

    .venv/bin/python benchmarks/kept_labels.py RUN_CLONE --cycle cycle_3 --out FILE.md

Reads data/cycles/<cycle>/verified/answers.jsonl of a finished run. The final model (the paper's
protocol) learns only from these rows, so a task whose kept answers hold some gold labels and not
others teaches it those labels alone, whatever its yield: a model that guesses one count under the
answer prompt passes the verifier on exactly the videos with that count.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from videostar.core.records import read_jsonl  # noqa: E402


def label_key(row: dict) -> str:
    return "; ".join(json.dumps(label["value"]) for label in row["labels"])


def coverage(rows: list[dict]) -> dict[str, tuple[Counter, Counter]]:
    """task -> (gold labels of all rows, gold labels of the kept rows)."""
    tasks: dict[str, tuple[Counter, Counter]] = {}
    for row in rows:
        asked, kept = tasks.setdefault(row["task"], (Counter(), Counter()))
        asked[label_key(row)] += 1
        if row["ok"]:
            kept[label_key(row)] += 1
    return tasks


def table(rows: list[dict], top: int = 6) -> str:
    lines = [
        "| task | kept / asked | labels asked | labels kept | commonest labels: kept / asked |",
        "|---|---|---|---|---|",
    ]
    for task, (asked, kept) in sorted(coverage(rows).items()):
        common = ", ".join(f"{label} {kept[label]} / {n}" for label, n in asked.most_common(top))
        lines.append(f"| {task} | {sum(kept.values())} / {sum(asked.values())} | {len(asked)} | "
                     f"{len(kept)} | {common} |")  # fmt: skip
    return "\n".join(lines) + "\n"


def conclusion(text: str | None) -> str:
    """The answer's last sentence, where the model states its conclusion."""
    sentences = [s for s in (text or "").replace("\n", " ").split(". ") if s.strip()]
    return sentences[-1].strip().removesuffix(".")[:40] if sentences else "(empty)"


def failures(rows: list[dict], task: str, top: int = 3) -> str:
    """Per gold label of ``task``, the commonest conclusions of its answers that failed: whether
    the model answered the question asked (a wrong count) or another task's question."""
    said: dict[str, Counter] = {}
    for row in rows:
        if row["task"] == task and not row["ok"]:
            said.setdefault(label_key(row), Counter())[conclusion(row.get("text"))] += 1
    lines = [f"| {task}: gold label | failed | commonest conclusions of the failed answers |",
             "|---|---|---|"]  # fmt: skip
    for label, counts in sorted(said.items()):
        common = ", ".join(f'"{c}" {n}' for c, n in counts.most_common(top))
        lines.append(f"| {label} | {sum(counts.values())} | {common} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("clone", type=Path)
    parser.add_argument("--cycle", default="cycle_3")
    parser.add_argument(
        "--failures",
        nargs="*",
        default=[],
        metavar="TASK",
        help="also tabulate what the failed answers of these tasks concluded",
    )
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    rows = read_jsonl(args.clone / "data" / "cycles" / args.cycle / "verified" / "answers.jsonl")
    text = (f"Gold labels of the verified direct answers of {args.cycle} "
            f"(`benchmarks/kept_labels.py`):\n\n" + table(rows))  # fmt: skip
    for task in args.failures:
        text += "\n" + failures(rows, task)
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
