"""Stages `verify@k` and `reverify@k`: parse and verify generated text against the gold labels.

    python -m stages.verify data/cycles/cycle_1/answers.jsonl data/cycles/cycle_1/verified/answers.jsonl \
        --tasks data/prepared/tasks.json

Each row gains `ok` (all labels pass) and `verdicts` (per label: name, type, ok, score, parsed),
with the thresholds of params `verify` and the class vocabularies of TASKS (the exclusive modes of
category and sequence labels). A row whose video could not be decoded keeps its `error`
and fails with no verdicts. `videostar verify` is the same check from the shell.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from videostar.core import config
from videostar.core.records import read_json, read_jsonl, write_jsonl
from videostar.labels import Verifier, VerifyConfig
from videostar.labels.rows import read_vocabularies, verify_rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("generated", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--tasks", type=Path, required=True, help="the prepared tasks.json")
    args = parser.parse_args()
    verifier = Verifier(config.section(VerifyConfig, "verify"))
    vocabularies = read_vocabularies(read_json(args.tasks))
    out = verify_rows(read_jsonl(args.generated), verifier, vocabularies)
    write_jsonl(args.out, out)
    print(f"verify: {sum(r['ok'] for r in out)} of {len(out)} pass -> {args.out}")


if __name__ == "__main__":
    main()
