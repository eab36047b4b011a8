"""Steps 1 and 3, and evaluation: which rows a generation stage answers, with which prompt.

- ``answer``:    training-split questions with the paper's step-by-step prompt (step 1);
- ``rationale``: the rows that failed verification, with the gold labels as a hint (step 3);
- ``eval``:      held-out questions of every evaluation set, bare.

Every output row keeps its provenance: the question row, prompt kind, exact prompt, model, raw
text, and ``error`` (the reason, when the video could not be decoded; the row is kept, not dropped).
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from videostar.core import seeding
from videostar.core.partial import PartialBatches, key_of
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
    store: PartialBatches | None = None,
) -> list[dict[str, Any]]:
    """Every row with its generated text (or its video's ``error``). With ``store``, batches
    finished by an earlier, killed run of the same stage and key are reused and new ones are
    kept as they finish; the outputs are the same bytes as an uninterrupted run's."""
    frames, errors = load_clips((clip_ref(r) for r in rows), num_frames)
    todo = [r for r in rows if clip_ref(r) in frames]
    texts: list[str] = []
    if todo:
        lm, processor = loading.load(model_dir, **asdict(runtime))
        items = [(frames[clip_ref(r)], build_prompt(kind, r, prompts)) for r in todo]
        done = store.done() if store else None
        if done:
            print(f"generate: resuming, {len(done)} finished batches kept from a stopped run")
        texts = generation.generate(
            lm, processor, items, sampling, seed=seed, progress=True, done=done,
            on_batch=store.add if store else None,
        )  # fmt: skip
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


def resume_key(
    kind: str,
    name: str,
    rows: list[dict[str, Any]],
    model_dir: str,
    settings: dict[str, Any],
) -> dict[str, Any]:
    """Everything that decides a generation stage's outputs, for ``PartialBatches``: the stage,
    its rows, the bytes of its model (every folder of the adapter chain), its settings and the
    library's code."""
    root, adapters = loading.adapter_chain(model_dir)
    return {
        "stage": f"{kind}@{name}",
        "rows": key_of(rows),
        "model": [loading.fingerprint(folder) for folder in (root, *adapters)],
        "settings": settings,
        "code": code_fingerprint(),
    }


def code_fingerprint() -> str:
    """A digest of the library's Python sources (a changed line must not reuse old batches)."""
    package = Path(__file__).resolve().parents[1]
    sources = sorted(package.rglob("*.py"))
    return key_of([[p.relative_to(package).as_posix(), p.read_text("utf-8")] for p in sources])


def stage_seed(root: int, kind: str, name: str) -> int:
    """The sampling seed of one generation stage: independent per kind and key."""
    return seeding.derive(root, kind, name)
