"""Stages `verify@k` and `reverify@k`: parse and verify generated text against the gold labels.

    python -m stages.verify data/cycles/1/answers.jsonl data/cycles/1/answers.verified.jsonl

Each row gains `ok` (all labels pass) and `verdicts` (per label: name, type, ok, score, parsed),
with the thresholds of params.yaml `verify`. A row whose video could not be decoded keeps its
`error` and fails with no verdicts. Same code as `videostar verify`.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from stages import config, labels
from stages.records import read_jsonl, write_jsonl


def verify_rows(rows: list[dict[str, Any]], verifier: labels.Verifier) -> list[dict[str, Any]]:
    todo = [r for r in rows if not r.get("error")]
    results = verifier.verify_many(
        [(r["text"], r["labels"], r.get("duration"), r.get("frame_size")) for r in todo]
    )
    verdicts = {r["id"]: v for r, v in zip(todo, results, strict=True)}
    out = []
    for row in rows:
        row_verdicts = verdicts.get(row["id"], [])
        out.append(
            {
                **row,
                "ok": labels.passed(row_verdicts),
                "verdicts": [v.to_dict() for v in row_verdicts],
            }
        )
    return out


def load_verifier() -> labels.Verifier:
    return labels.Verifier(config.section(labels.VerifyConfig, "verify"))


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        raise SystemExit("usage: python -m stages.verify IN.jsonl OUT.jsonl")
    src, dst = Path(args[0]), Path(args[1])
    out = verify_rows(read_jsonl(src), load_verifier())
    write_jsonl(dst, out)
    print(f"verify: {sum(r['ok'] for r in out)} of {len(out)} pass -> {dst}")


if __name__ == "__main__":
    main()
