"""Steps 1 and 3, and evaluation: which rows a generation stage answers, with which prompt.

- ``answer``:    training-split questions with the paper's step-by-step prompt (step 1);
- ``rationale``: the rows that failed verification, with the gold labels as a hint (step 3);
- ``eval``:      held-out questions of every evaluation set, bare.

Every output row keeps its provenance: the question row, prompt kind, exact prompt, model, raw
text, and ``error`` (the reason, when the video could not be decoded; the row is kept, not dropped).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict
from typing import Any

from videostar.core import distributed, partial, seeding
from videostar.core.partial import PartialBatches, key_of
from videostar.labels import render_hint
from videostar.labels.rows import question_problem
from videostar.lmm import generation, loading
from videostar.lmm.config import LoadConfig, SamplingConfig
from videostar.loop.questions import QUESTION_KEYS
from videostar.prompts import PromptsConfig, answer_prompt, rationale_prompt
from videostar.video.frames import ClipItems, clip_ref, load_clips

KINDS = ("answer", "rationale", "eval")
KIND_SPLIT = {"answer": "train", "eval": "test"}


class TooManyErrors(RuntimeError):
    """More rows are unusable (no question, or no decodable clip) than allowed."""


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
            if not r.get("ok") and not r.get("error")
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
    shard: distributed.Shard = distributed.ALONE,
    max_error_fraction: float = 1.0,
) -> list[dict[str, Any]] | None:
    """Every row with its generated text, or with the ``error`` that kept it from generation
    (``row: ...`` for a row that is not a usable question, ``video: ...`` for a clip that does
    not decode); no row is dropped. With ``store``, batches finished by an earlier, killed run of
    the same stage and key are reused and new ones are kept as they finish; the outputs are the
    same bytes as an uninterrupted run's. With several processes (``shard``, which needs the
    ``store``), each computes its own batches and the main process merges them (the others
    return None): the same bytes again. More than ``max_error_fraction`` of the rows in error
    raises ``TooManyErrors`` before any generation (the videos moved, say)."""
    problems = {i: f"row: {p}" for i, r in enumerate(rows) if (p := question_problem(r))}

    prompt_of = {i: build_prompt(kind, r, prompts) for i, r in enumerate(rows) if i not in problems}
    errors = dict(problems)
    questions = [i for i in range(len(rows)) if i not in problems]
    clips, clip_errors = load_clips((clip_ref(rows[i]) for i in questions), num_frames, shard=shard)
    for i in questions:
        if clip_ref(rows[i]) in clip_errors:
            errors[i] = clip_errors[clip_ref(rows[i])]
    usable = [i for i in questions if i not in errors]
    # Batches of similar prompt lengths; each row's text goes back to its row when rows are written.
    todo = [usable[j] for j in generation.length_order([prompt_of[i] for i in usable])]
    if rows and len(errors) / len(rows) > max_error_fraction:
        reasons = Counter(reason.split(":")[0] for reason in errors.values())
        first = errors[min(errors)]
        raise TooManyErrors(
            f"{len(errors)} of {len(rows)} rows cannot be generated for ({dict(reasons)}; the "
            f"first: {first}), more than max_reject_fraction {max_error_fraction:.1%} allows"
        )
    if shard.world > 1:
        if store is None:
            raise ValueError("several processes merge their batches through a PartialBatches store")
        print(f"generate: process {shard.rank + 1} of {shard.world}: the batches i with "
              f"i % {shard.world} == {shard.rank}")  # fmt: skip
    done = store.done() if store else {}
    if done:
        print(f"generate: resuming, {len(done)} finished batches kept from a stopped run")
    batches = range(-(-len(todo) // sampling.batch_size))
    if not all(b in done for b in batches if shard.owns(b)):  # else: no model to load
        lm, processor = loading.load(model_dir, **asdict(runtime))
        items = ClipItems([(clip_ref(rows[i]), prompt_of[i]) for i in todo], clips)
        generation.generate(
            lm, processor, items, sampling, seed=seed, progress=True, done=done,
            on_batch=store.add if store else done.__setitem__, owns=shard.owns,
        )  # fmt: skip
    shard.wait()
    if not shard.main:
        return None
    done = store.done() if store else done
    generated = dict(zip(todo, (t for b in batches for t in done[b]), strict=True))
    return [
        {
            **row,
            "prompt_kind": kind,
            "prompt": prompt_of.get(i, ""),
            "model": model_dir,
            "text": generated.get(i, ""),
            "error": errors.get(i),
        }
        for i, row in enumerate(rows)
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
        "code": partial.code_fingerprint(),
    }


def stage_seed(root: int, kind: str, name: str) -> int:
    """The sampling seed of one generation stage: independent per kind and key."""
    return seeding.derive(root, kind, name)
