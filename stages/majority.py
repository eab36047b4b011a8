"""Stage `majority`: the majority-answer baseline, computed once for every model's table row.

    python -m stages.majority --questions data/questions/questions.jsonl \
        --tasks data/prepared/tasks.json --out metrics/majority.json
    dvc repro majority

Held-out accuracy of always giving each task's most common training label set, checked by the
pipeline's verifier (params `verify`).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from videostar.core import config
from videostar.core.records import read_json, read_jsonl, write_json
from videostar.evaluation.scores import majority_baseline
from videostar.labels import Verifier, VerifyConfig
from videostar.labels.rows import read_vocabularies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--questions", type=Path, required=True)
    parser.add_argument("--tasks", type=Path, required=True, help="the prepared tasks.json")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    verifier = Verifier(config.section(VerifyConfig, "verify"))
    vocabularies = read_vocabularies(read_json(args.tasks))
    baseline = majority_baseline(read_jsonl(args.questions), verifier, vocabularies)
    write_json(args.out, baseline)
    print(f"majority: {baseline}")


if __name__ == "__main__":
    main()
