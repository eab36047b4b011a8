"""Stage `evaluate@m`: held-out accuracy of one model on every evaluation set.

    python -m stages.evaluate --name cycle_1 --generated data/eval/cycle_1.jsonl \
        --out metrics/models/cycle_1.json --tasks data/prepared/tasks.json
    dvc repro evaluate@cycle_1

The model's greedy answers to bare held-out questions (`evalgen@m`) are verified with the same
verifier as training data (params `verify`): `accuracy` per adapted task and macro mean, `sets`
for retention and every transfer set. The majority baseline is the `majority` stage's.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from videostar.core import config
from videostar.core.records import read_json, read_jsonl, write_json
from videostar.evaluation.scores import model_metrics
from videostar.labels import Verifier, VerifyConfig
from videostar.labels.rows import read_vocabularies, verify_rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--name", required=True)
    parser.add_argument("--generated", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--tasks", type=Path, required=True, help="the prepared tasks.json")
    args = parser.parse_args()
    verifier = Verifier(config.section(VerifyConfig, "verify"))
    vocabularies = read_vocabularies(read_json(args.tasks))
    verified = verify_rows(read_jsonl(args.generated), verifier, vocabularies)
    metrics = model_metrics(args.name, verified)
    write_json(args.out, metrics)
    print(f"evaluate {args.name}: accuracy {metrics['accuracy']}")


if __name__ == "__main__":
    main()
