"""Held-out accuracy per task and set, and the majority-answer baseline next to it."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from typing import Any

from videostar.labels import Verifier, render_answer
from videostar.labels.rows import Vocabularies, verify_rows


def accuracy(verified: list[dict[str, Any]]) -> dict[str, float]:
    """Fraction verified per task and their macro mean."""
    total = Counter(r["task"] for r in verified)
    ok = Counter(r["task"] for r in verified if r["ok"])
    per_task = {task: round(ok[task] / n, 4) for task, n in sorted(total.items()) if n}
    per_task["mean"] = round(sum(per_task.values()) / len(per_task), 4) if per_task else 0.0
    return per_task


def model_metrics(name: str, verified: list[dict[str, Any]]) -> dict[str, Any]:
    """``accuracy`` on the adapted tasks and ``sets`` for every other evaluation set."""
    by_set: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in verified:
        by_set[row.get("set", "adapted")].append(row)
    return {
        "model": name,
        "accuracy": accuracy(by_set.pop("adapted", [])),
        "sets": {set_name: accuracy(rows) for set_name, rows in sorted(by_set.items())},
        "eval_questions": len(verified),
        "eval_video_errors": sum(
            1 for r in verified if (r.get("error") or "").startswith("video:")
        ),
        "eval_row_errors": sum(1 for r in verified if (r.get("error") or "").startswith("row:")),
    }


def majority_baseline(
    questions: list[dict[str, Any]], verifier: Verifier, vocabularies: Vocabularies | None = None
) -> dict[str, float]:
    """Accuracy on the held-out questions of always answering each task's most common training
    label set (rendered as the label-template answer), checked by the same verifier."""
    by_task: dict[str, Counter] = defaultdict(Counter)
    for row in questions:
        if row["split"] == "train":
            by_task[row["task"]][json.dumps(row["labels"], sort_keys=True)] += 1
    common = {task: json.loads(c.most_common(1)[0][0]) for task, c in by_task.items()}
    guesses = [
        {**row, "text": render_answer(common[row["task"]]), "error": None}
        for row in questions
        if row["split"] == "test" and row["task"] in common
    ]
    return accuracy(verify_rows(guesses, verifier, vocabularies))
