"""Step 4's data: the verified samples of a cycle, the general-data mix, and what they yield.

Training pairs are (video, *bare* question) -> verified generated text: never the step-by-step
suffix or the hint. ``general_share`` of the set is general data, as the paper mixes general
instruction data into every cycle: any LLaVA/ShareGPT JSON file with videos (params
``train.general_data``; the toy corpus's training split by default). Records are written in the
same LLaVA/ShareGPT format, which Video-LLaVA, LLaVA-NeXT and LLaMA-Factory read.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

from videostar.core import seeding
from videostar.core.config import ConfigError
from videostar.core.records import RecordError, inside, read_json
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


# Why a record of the general data is not used; each is counted in the training stats.
GENERAL_SKIPS = ("not_a_record", "no_video", "video_outside_folder", "no_question_answer")
VIDEO_TOKEN = re.compile(r"\n?<video>\n?")


def _question_answer(turns: Any) -> tuple[str, str] | None:
    """The first human turn's text, without the ``<video>`` placeholder, and the gpt turn after
    it; None when there is no such pair."""
    if not isinstance(turns, list):
        return None
    speakers = [t.get("from") if isinstance(t, dict) else None for t in turns]
    if "human" not in speakers:
        return None
    i = speakers.index("human")
    if speakers[i + 1 : i + 2] != ["gpt"]:
        return None
    question, answer = turns[i].get("value"), turns[i + 1].get("value")
    if not (isinstance(question, str) and isinstance(answer, str)):
        return None
    question = VIDEO_TOKEN.sub("", question, count=1).strip()
    return (question, answer) if question and answer.strip() else None


def _general_sample(record: Any, index: int, videos: Path) -> dict[str, Any] | str:
    """The training sample of one record, or why it is not used (one of GENERAL_SKIPS)."""
    if not isinstance(record, dict):
        return "not_a_record"
    video = record.get("video")
    if not isinstance(video, str) or not video:
        return "no_video"
    try:
        path = inside(videos, video)
    except RecordError:
        return "video_outside_folder"
    pair = _question_answer(record.get("conversations"))
    if pair is None:
        return "no_question_answer"
    kind = record.get("kind")
    return {
        "id": f"general/{record.get('id', index)}",
        "video": str(path),
        "question": pair[0],
        "text": pair[1],
        "prompt_kind": f"general:{kind}" if kind else "general",
    }


def read_general(path: Path, videos: Path) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """The general data: one training sample per record of a LLaVA/ShareGPT JSON file (a list of
    ``{"id", "video", "conversations"}``, video paths relative to ``videos``), from its first
    human turn and the gpt turn after it; and how many records were not used, per GENERAL_SKIPS
    reason. A record's optional ``kind`` names its prompt kind (``general:<kind>``)."""
    records = read_json(path)
    if not isinstance(records, list):
        raise ConfigError(f"{path}: general data must be a JSON list of LLaVA/ShareGPT records")
    pool, skipped = [], dict.fromkeys(GENERAL_SKIPS, 0)
    for index, record in enumerate(records):
        sample = _general_sample(record, index, videos)
        if isinstance(sample, str):
            skipped[sample] += 1
        else:
            pool.append(sample)
    return pool, skipped


def general_samples(pool: list[dict[str, Any]], n: int, seed: int) -> list[dict[str, Any]]:
    """n samples of ``pool`` drawn without replacement, in pool order."""
    if n <= 0:
        return []
    order = seeding.rng(seed, "general").permutation(len(pool))[: min(n, len(pool))]
    return [pool[i] for i in sorted(order.tolist())]


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
            "video_errors": sum(1 for r in answers if (r.get("error") or "").startswith("video:")),
            "row_errors": sum(1 for r in answers if (r.get("error") or "").startswith("row:")),
        },
    }
