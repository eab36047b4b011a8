"""Step 0, question generation: one question per labeled video, tied to its labels.

``source: pool`` picks each video's question from its task's pool (params), stably per video id.
``source: llm`` first asks a local causal LM, with the paper's template prompt, for a pool of
questions per task, then picks from it the same way. The prompt's ``{T}`` is the task's
description: ``questions.descriptions[task]`` when set, else the one the dataset's adapter gave
(the prepared ``tasks.json``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from videostar.core import seeding
from videostar.core.config import ConfigError
from videostar.labels import render_hint
from videostar.prompts import question_generation_prompt

QUESTION_KEYS = ("id", "video_id", "video", "split", "task", "question", "question_source",
                 "labels", "duration", "frame_size", "segment", "fps")  # fmt: skip


@dataclass(frozen=True)
class LLMConfig:
    """A local causal LM that writes question pools; ``samples_per_task`` prompts per task, each on
    another training video's labels."""

    name_or_path: str | None = None
    trust_remote_code: bool = False
    max_new_tokens: int = 32
    temperature: float = 0.7
    samples_per_task: int = 4


@dataclass(frozen=True)
class QuestionsConfig:
    """source: "pool" or "llm"; pool: per task, the questions to pick from; descriptions: per
    task, the ``{T}`` of the question-generation prompt (overrides the dataset's own)."""

    source: str = "pool"
    seed: int = 0
    pool: dict[str, tuple[str, ...]] = field(default_factory=dict)
    descriptions: dict[str, str] = field(default_factory=dict)
    llm: LLMConfig = LLMConfig()

    def __post_init__(self) -> None:
        if self.source not in ("pool", "llm"):
            raise ConfigError(f"questions.source must be 'pool' or 'llm', got {self.source!r}")


def pick(options: tuple[str, ...] | list[str], seed: int, key: str) -> int:
    """A stable choice per (seed, key): adding videos never changes other videos' questions."""
    return seeding.pick(len(options), seed, "question", key)


def make_questions(
    rows: list[dict[str, Any]], pools: dict[str, list[str]], seed: int, source: str
) -> list[dict[str, Any]]:
    """One question row per manifest row: the row's own question when the dataset has one (e.g.
    STAR), else one picked from its task's pool."""
    missing = sorted({r["task"] for r in rows if not r.get("question")} - set(pools))
    if missing:
        raise ConfigError(f"questions: no question pool for task(s) {missing}")
    out = []
    for row in rows:
        if row.get("question"):
            question, question_source = row["question"], "dataset"
        else:
            pool = pools[row["task"]]
            if not pool:
                raise ConfigError(f"questions: the pool for task {row['task']!r} is empty")
            index = pick(pool, seed, row["id"])
            question, question_source = pool[index], f"{source}:{index}"
        out.append(
            {
                "id": row["id"],
                "video_id": row["id"],
                "video": row["video"],
                "split": row["split"],
                "task": row["task"],
                "question": question,
                "question_source": question_source,
                "labels": row["labels"],
                "duration": row.get("duration"),
                "frame_size": row.get("frame_size"),
                **{k: row[k] for k in ("segment", "fps") if k in row},
            }
        )
    return out


SEGMENT_END = re.compile(r"(?<=[.!?])\s+|\n")
LIST_MARKER = re.compile(r"^\s*(?:[-*\u2022]|\d+[.)])\s*")


def parse_questions(text: str) -> list[str]:
    """Questions in an LLM's free text: each sentence ending in '?', list markers removed."""
    found = []
    for segment in SEGMENT_END.split(text):
        question = LIST_MARKER.sub("", segment).strip()
        if question.endswith("?") and len(question) >= 8:
            found.append(question)
    return list(dict.fromkeys(found))


def description(task: str, cfg: QuestionsConfig, tasks: dict[str, Any]) -> str:
    """The task's ``{T}``: params first, then the dataset's, else the task key in words."""
    return (
        cfg.descriptions.get(task)
        or tasks.get(task, {}).get("description")
        or task.replace("_", " ")
    )


def llm_requests(
    rows: list[dict[str, Any]], cfg: QuestionsConfig, template: str, tasks: dict[str, Any]
) -> list[tuple[str, str, str]]:
    """(task, video id, prompt) for the first ``samples_per_task`` training videos of each task
    that has no question of its own."""
    by_task: dict[str, list[dict]] = {}
    for row in rows:
        if row["split"] == "train" and not row.get("question"):
            by_task.setdefault(row["task"], []).append(row)
    return [
        (task, row["id"], question_generation_prompt(
            template, render_hint(row["labels"]), description(task, cfg, tasks)))
        for task, task_rows in sorted(by_task.items())
        for row in task_rows[: cfg.llm.samples_per_task]
    ]  # fmt: skip


def llm_pools(
    rows: list[dict[str, Any]], cfg: QuestionsConfig, template: str, tasks: dict[str, Any]
) -> tuple[dict[str, list[str]], list[dict[str, Any]]]:
    """Ask ``cfg.llm`` for questions per task; returns the pools and a log of every raw output."""
    from videostar.lmm import generation
    from videostar.lmm.config import SamplingConfig

    if not cfg.llm.name_or_path:
        raise ConfigError("questions.source is 'llm' but questions.llm.name_or_path is unset")
    requests = llm_requests(rows, cfg, template, tasks)
    sampling = SamplingConfig(
        temperature=cfg.llm.temperature, top_p=1.0, top_k=0, repetition_penalty=1.0,
        max_new_tokens=cfg.llm.max_new_tokens, batch_size=8,
    )  # fmt: skip
    outputs = generation.generate_text(
        cfg.llm.name_or_path,
        [r[2] for r in requests],
        sampling,
        cfg.seed,
        cfg.llm.trust_remote_code,
    )
    return pools_from_outputs(requests, outputs)


def pools_from_outputs(
    requests: list[tuple[str, str, str]], outputs: list[str]
) -> tuple[dict[str, list[str]], list[dict[str, Any]]]:
    """The questions parsed from each output, pooled per task, and a log of every raw output."""
    pools: dict[str, list[str]] = {task: [] for task, _, _ in requests}
    log = []
    for (task, row_id, prompt), text in zip(requests, outputs, strict=True):
        parsed = parse_questions(text)
        pools[task].extend(q for q in parsed if q not in pools[task])
        log.append(
            {"task": task, "from_video": row_id, "prompt": prompt, "text": text,
             "questions": parsed}
        )  # fmt: skip
    return pools, log
