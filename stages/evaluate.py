"""Stages `evaluate@k`, `evaluate_base`, `final_evaluate`: held-out accuracy and the cycle's yields.

    python -m stages.evaluate --cycle cycle_1 --generated data/eval/cycle_1.jsonl \
        --yields data/cycles/1 --out metrics/cycles/cycle_1.json

Accuracy: the held-out answers (generated greedily from bare questions) verified with the same
verifier as training data, per task and macro mean: `accuracy` on the adapted tasks, next to each
task's majority baseline (always giving the most common training answer), and `sets` for every
other evaluation set of `evalsets` (retention of general ability, transfer questions).
Yields (what generation turned into training data): answered-and-verified and
rationalized-and-verified, as fractions of the cycle's questions.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from stages import config, labels
from stages.records import read_json, read_jsonl, write_json
from stages.verify import verify_rows

QUESTIONS = Path("data/questions/questions.jsonl")


def by_task_fraction(rows: list[dict[str, Any]], total: Counter) -> dict[str, float]:
    ok = Counter(r["task"] for r in rows if r["ok"])
    return {task: round(ok[task] / n, 4) for task, n in sorted(total.items()) if n}


def accuracy(verified: list[dict[str, Any]]) -> dict[str, float]:
    total = Counter(r["task"] for r in verified)
    per_task = by_task_fraction(verified, total)
    per_task["mean"] = round(sum(per_task.values()) / len(per_task), 4) if per_task else 0.0
    return per_task


def majority_baseline(
    train: list[dict[str, Any]], test: list[dict[str, Any]], verifier: labels.Verifier
) -> dict[str, float]:
    """Accuracy of always answering each task's most common training label set."""
    common: dict[str, list[dict]] = {}
    by_task: dict[str, Counter] = defaultdict(Counter)
    for row in train:
        by_task[row["task"]][json.dumps(row["labels"], sort_keys=True)] += 1
    for task, counts in by_task.items():
        common[task] = json.loads(counts.most_common(1)[0][0])
    guesses = [
        {**row, "text": labels.render_answer(common[row["task"]]), "error": None}
        for row in test
        if row["task"] in common
    ]
    return accuracy(verify_rows(guesses, verifier))


def yields(data_dir: Path, train_dir: Path) -> dict[str, Any]:
    answers = read_jsonl(data_dir / "answers.verified.jsonl")
    rationales = read_jsonl(data_dir / "rationales.verified.jsonl")
    stats = read_json(train_dir / "stats.json")
    questions = Counter(r["task"] for r in answers)
    n = len(answers)
    answered, rationalized = sum(r["ok"] for r in answers), sum(r["ok"] for r in rationales)
    return {
        "yield": {
            "answer": round(answered / n, 4) if n else 0.0,
            "rationale": round(rationalized / n, 4) if n else 0.0,
            "kept": round(stats["kept"] / n, 4) if n else 0.0,
            "answer_by_task": by_task_fraction(answers, questions),
            "rationale_by_task": by_task_fraction(rationales, questions),
        },
        "counts": {
            "questions": n,
            "answered_verified": answered,
            "rationalized": len(rationales),
            "rationalized_verified": rationalized,
            "video_errors": sum(1 for r in answers if r.get("error")),
            "kept": stats["kept"],
            "general": stats["general"],
            "train_steps": stats["steps"],
        },
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cycle", required=True, help="cycle number, or 'final'")
    parser.add_argument("--generated", required=True)
    parser.add_argument("--yields", help="the cycle's data folder (absent for the base model)")
    parser.add_argument("--train-dir", help="training records (default: <yields>/train)")
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)

    verifier = labels.Verifier(config.section(labels.VerifyConfig, "verify"))
    generated = read_jsonl(args.generated)
    verified = verify_rows(generated, verifier)
    by_set: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in verified:
        by_set[row.get("set", "adapted")].append(row)
    questions = read_jsonl(QUESTIONS)
    test = [r for r in questions if r["split"] == "test"]
    train = [r for r in questions if r["split"] == "train"]
    metrics: dict[str, Any] = {
        "cycle": args.cycle,
        "accuracy": accuracy(by_set.pop("adapted", [])),
        "sets": {name: accuracy(rows) for name, rows in sorted(by_set.items())},
        "majority": majority_baseline(train, test, verifier),
        "eval_questions": len(verified),
        "eval_video_errors": sum(1 for r in verified if r.get("error")),
    }
    if args.yields:
        data_dir = Path(args.yields)
        metrics.update(
            yields(data_dir, Path(args.train_dir) if args.train_dir else data_dir / "train")
        )
    write_json(args.out, metrics)
    print(f"evaluate {args.cycle}: accuracy {metrics['accuracy']}")


if __name__ == "__main__":
    main()
