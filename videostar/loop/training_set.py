"""Step 4's data: the verified samples of a cycle, the general-data mix, and what they yield.

Training pairs are (video, *bare* question) -> verified generated text: never the step-by-step
suffix or the hint. ``general_share`` of the set is general data (the pretraining corpus by
default), as the paper mixes general instruction data into every cycle. Records are written in
the LLaVA/ShareGPT format that Video-LLaVA, LLaVA-NeXT and LLaMA-Factory read.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from videostar.core import seeding
from videostar.core.config import ConfigError
from videostar.core.records import read_jsonl
from videostar.labels import render_answer


def kept(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in rows if r["ok"]]


def label_template_samples(questions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The label-template baseline's set: every training question answered by its bare gold
    labels ("The answer is left."), no reasoning."""
    return [
        {**row, "prompt_kind": "label_template", "text": render_answer(row["labels"])}
        for row in questions
        if row["split"] == "train"
    ]


def general_count(kept_count: int, share: float) -> int:
    if not 0 <= share < 1:
        raise ConfigError(f"general_share must be in [0, 1), got {share}")
    return round(kept_count * share / (1 - share))


def general_samples(corpus_dir: Path, n: int, seed: int) -> list[dict[str, Any]]:
    """n general examples drawn without replacement from the corpus's training split."""
    if n <= 0:
        return []
    pool = [r for r in read_jsonl(corpus_dir / "examples.jsonl") if r["split"] == "train"]
    order = seeding.rng(seed, "general").permutation(len(pool))[: min(n, len(pool))]
    return [
        {
            "id": f"general/{pool[i]['id']}",
            "video": str(corpus_dir / pool[i]["video"]),
            "question": pool[i]["prompt"],
            "text": pool[i]["response"],
            "prompt_kind": f"general:{pool[i]['kind']}",
        }
        for i in sorted(order.tolist())
    ]


def llava_record(sample: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": sample["id"],
        "video": sample["video"],
        "conversations": [
            {"from": "human", "value": f"<video>\n{sample['question']}"},
            {"from": "gpt", "value": sample["text"]},
        ],
    }


def provenance(sample: dict[str, Any]) -> dict[str, Any]:
    keep = ("id", "video_id", "video", "task", "question", "prompt_kind", "prompt", "text",
            "labels", "verdicts", "model")  # fmt: skip
    return {k: sample[k] for k in keep if k in sample}


def _by_task(rows: list[dict[str, Any]], total: Counter) -> dict[str, float]:
    ok = Counter(r["task"] for r in rows if r["ok"])
    return {task: round(ok[task] / n, 4) for task, n in sorted(total.items()) if n}


def yields(answers: list[dict[str, Any]], rationales: list[dict[str, Any]]) -> dict[str, Any]:
    """What generation turned into training data, as fractions of the cycle's questions:
    answered-and-verified (direct) and rationalized-and-verified, overall and per task."""
    n = len(answers)
    questions = Counter(r["task"] for r in answers)
    answered, rationalized = sum(r["ok"] for r in answers), sum(r["ok"] for r in rationales)
    return {
        "yield": {
            "answer": round(answered / n, 4) if n else 0.0,
            "rationale": round(rationalized / n, 4) if n else 0.0,
            "kept": round((answered + rationalized) / n, 4) if n else 0.0,
            "answer_by_task": _by_task(answers, questions),
            "rationale_by_task": _by_task(rationales, questions),
        },
        "counts": {
            "questions": n,
            "answered_verified": answered,
            "rationalized": len(rationales),
            "rationalized_verified": rationalized,
            "video_errors": sum(1 for r in answers if r.get("error")),
        },
    }
