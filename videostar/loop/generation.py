"""Steps 1 and 3, and evaluation: which rows a generation stage answers, with which prompt.

- ``answer``:    training-split questions with the paper's step-by-step prompt (step 1);
- ``rationale``: the rows that failed verification, with the gold labels as a hint (step 3);
- ``eval``:      held-out questions of every evaluation set, bare.

Every output row keeps its provenance: the question row, prompt kind, exact prompt, model, raw
text, and ``error`` (the reason, when the video could not be decoded; the row is kept, not dropped).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from videostar.core import seeding
from videostar.labels import render_hint
from videostar.lmm import generation, loading
from videostar.lmm.config import LoadConfig, SamplingConfig
from videostar.loop.questions import QUESTION_KEYS
from videostar.prompts import PromptsConfig, answer_prompt, rationale_prompt
from videostar.video.frames import clip_ref, load_clips

KINDS = ("answer", "rationale", "eval")
KIND_SPLIT = {"answer": "train", "eval": "test"}


def build_prompt(kind: str, row: dict[str, Any], prompts: PromptsConfig) -> str:
    if kind == "answer":
        return answer_prompt(prompts.answer, row["question"])
    if kind == "rationale":
        return rationale_prompt(prompts.rationale, row["question"], render_hint(row["labels"]))
    return row["question"]


def select_rows(kind: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows to generate for: by split for answers and evaluation; for rationales, the
    verified answers that failed (rows whose video failed to decode stay rejected)."""
    if kind == "rationale":
        return [
            {k: r[k] for k in QUESTION_KEYS if k in r}
            for r in rows
            if not r["ok"] and not r.get("error")
        ]
    return [r for r in rows if r.get("split", "test") == KIND_SPLIT[kind]]


def generate_rows(
    kind: str,
    rows: list[dict[str, Any]],
    model_dir: str,
    prompts: PromptsConfig,
    sampling: SamplingConfig,
    num_frames: int,
    seed: int,
    runtime: LoadConfig,
) -> list[dict[str, Any]]:
    frames, errors = load_clips((clip_ref(r) for r in rows), num_frames)
    todo = [r for r in rows if clip_ref(r) in frames]
    texts: list[str] = []
    if todo:
        lm, processor = loading.load(model_dir, **asdict(runtime))
        items = [(frames[clip_ref(r)], build_prompt(kind, r, prompts)) for r in todo]
        texts = generation.generate(lm, processor, items, sampling, seed=seed, progress=True)
    by_id = {r["id"]: t for r, t in zip(todo, texts, strict=True)}
    return [
        {
            **row,
            "prompt_kind": kind,
            "prompt": build_prompt(kind, row, prompts),
            "model": model_dir,
            "text": by_id.get(row["id"], ""),
            "error": errors.get(clip_ref(row)),
        }
        for row in rows
    ]


def stage_seed(root: int, kind: str, name: str) -> int:
    """The sampling seed of one generation stage: independent per kind and key."""
    return seeding.derive(root, kind, name)
