"""What the kept time spans of each cycle look like: direct answers against rationalizations.

    .venv/bin/python benchmarks/kept_spans.py --out metrics/trials/kept_spans.md

Reads data/cycles/<cycle>/verified/{answers,rationales}.jsonl of a finished run and writes, per
cycle and source, for the rows of --task: how many were asked and kept, the kept spans' mean IoU
with the gold span (the verifier's score), how many are exact (IoU above 0.99), and the commonest
conclusions of the direct answers ("So the answer is ..."), kept or not. A span passes at
IoU > 0.5, so this shows whether the cycles train on imprecise spans.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from videostar.core.records import read_jsonl  # noqa: E402

SOURCES = {"answers": "direct answer", "rationales": "rationalization"}
CONCLUSION = "So the answer is "


def kept_summary(rows: list[dict]) -> dict[str, str]:
    kept = [r for r in rows if r["ok"]]
    if any(len(r["verdicts"]) != 1 for r in kept):
        raise SystemExit("kept_spans reads tasks with one label per row")
    scores = [r["verdicts"][0]["score"] for r in kept]
    return {
        "kept": f"{len(kept)} / {len(rows)}",
        "mean IoU": f"{sum(scores) / len(scores):.3f}" if scores else "",
        "exact": str(sum(s > 0.99 for s in scores)),
    }


def conclusions(rows: list[dict], top: int) -> str:
    ends = Counter(r["text"].rpartition(CONCLUSION)[2] if CONCLUSION in r["text"] else r["text"]
                   for r in rows)  # fmt: skip
    cells = (f"{text!r} ({count})" for text, count in ends.most_common(top))
    return "; ".join(cells).replace("|", "\\|")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cycles", type=Path, default=Path("data/cycles"))
    parser.add_argument("--chain", default="cycle_", help="cycle folder prefix")
    parser.add_argument("--task", default="timing")
    parser.add_argument("--top", type=int, default=3)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    folders = sorted(p for p in args.cycles.glob(f"{args.chain}*") if (p / "verified").is_dir())
    if not folders:
        raise SystemExit(f"no {args.chain}*/verified folders under {args.cycles}: run the pipeline")
    lines = [
        f"Kept `{args.task}` spans per cycle (`benchmarks/kept_spans.py`; a span is kept at "
        "IoU > 0.5 with the gold span; exact: IoU > 0.99):",
        "",
        "| cycle | source | kept | mean IoU of kept | exact | commonest direct conclusions |",
        "|---|---|---|---|---|---|",
    ]
    for folder in folders:
        for source, name in SOURCES.items():
            path = folder / "verified" / f"{source}.jsonl"
            if not path.is_file():
                continue
            rows = [r for r in read_jsonl(path) if r["task"] == args.task]
            s = kept_summary(rows)
            ends = conclusions(rows, args.top) if source == "answers" else ""
            lines.append(f"| {folder.name} | {name} | {s['kept']} | {s['mean IoU']} | "
                         f"{s['exact']} | {ends} |")  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
