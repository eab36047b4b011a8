"""Stage `questions`: one question per labeled video, tied to its labels.

    python -m stages.questions        # reads params.yaml `questions`, writes data/questions/
    dvc repro questions

`source: pool` samples each video's question from the per-task pool in params (deterministic per
video id). `source: llm` first asks a local causal LM, with the paper's template prompt, for a
pool of questions per task, then samples from it the same way; the generated pools are written
next to the questions so they can be read and reused.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stages import config, labels, prompts
from stages.records import read_jsonl, write_json, write_jsonl

MANIFEST = Path("data/prepared/manifest.jsonl")
OUT = Path("data/questions")


@dataclass(frozen=True)
class LLMConfig:
    name_or_path: str | None = None
    trust_remote_code: bool = False
    max_new_tokens: int = 32
    temperature: float = 0.7
    samples_per_task: int = 4  # prompts per task (each on a different video's labels)


@dataclass(frozen=True)
class QuestionsConfig:
    source: str = "pool"
    seed: int = 0
    pool: dict[str, tuple[str, ...]] = field(default_factory=dict)
    llm: LLMConfig = LLMConfig()


def pick(options: tuple[str, ...] | list[str], seed: int, key: str) -> int:
    """A stable choice per (seed, key): adding videos never changes other videos' questions."""
    digest = hashlib.sha256(f"{seed}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % len(options)


def make_questions(
    rows: list[dict[str, Any]], pools: dict[str, list[str]], seed: int, source: str
) -> list[dict[str, Any]]:
    missing = sorted({r["task"] for r in rows} - set(pools))
    if missing:
        raise config.ConfigError(f"questions: no question pool for task(s) {missing}")
    out = []
    for row in rows:
        pool = pools[row["task"]]
        if not pool:
            raise config.ConfigError(f"questions: the pool for task {row['task']!r} is empty")
        index = pick(pool, seed, row["id"])
        out.append(
            {
                "id": row["id"],
                "video_id": row["id"],
                "video": row["video"],
                "split": row["split"],
                "task": row["task"],
                "question": pool[index],
                "question_source": f"{source}:{index}",
                "labels": row["labels"],
                "duration": row.get("duration"),
                "frame_size": row.get("frame_size"),
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


def llm_pools(
    rows: list[dict[str, Any]], cfg: QuestionsConfig
) -> tuple[dict[str, list[str]], list[dict]]:
    """Ask the LLM for questions per task; returns the pools and a log of every raw output."""
    from stages import model

    if not cfg.llm.name_or_path:
        raise config.ConfigError(
            "questions.source is 'llm' but questions.llm.name_or_path is not set"
        )
    by_task: dict[str, list[dict]] = {}
    for row in rows:
        if row["split"] == "train":
            by_task.setdefault(row["task"], []).append(row)
    requests = []
    for task, task_rows in sorted(by_task.items()):
        for row in task_rows[: cfg.llm.samples_per_task]:
            text = prompts.question_generation_prompt(
                labels.render_hint(row["labels"]), task.replace("_", " ")
            )
            requests.append((task, row["id"], text))
    sampling = model.SamplingConfig(
        temperature=cfg.llm.temperature, max_new_tokens=cfg.llm.max_new_tokens, batch_size=8
    )
    outputs = model.generate_text(
        cfg.llm.name_or_path,
        [r[2] for r in requests],
        sampling,
        cfg.seed,
        cfg.llm.trust_remote_code,
    )
    pools: dict[str, list[str]] = {task: [] for task in by_task}
    log = []
    for (task, row_id, prompt), text in zip(requests, outputs, strict=True):
        parsed = parse_questions(text)
        pools[task].extend(q for q in parsed if q not in pools[task])
        log.append(
            {
                "task": task,
                "from_video": row_id,
                "prompt": prompt,
                "text": text,
                "questions": parsed,
            }
        )
    return pools, log


def main() -> None:
    cfg = config.section(QuestionsConfig, "questions")
    rows = read_jsonl(MANIFEST)
    OUT.mkdir(parents=True, exist_ok=True)
    if cfg.source == "pool":
        pools = {task: list(pool) for task, pool in cfg.pool.items()}
    elif cfg.source == "llm":
        pools, log = llm_pools(rows, cfg)
        write_jsonl(OUT / "llm_log.jsonl", log)
        write_json(OUT / "pools.json", pools)
        empty = sorted(task for task, pool in pools.items() if not pool)
        if empty:
            raise RuntimeError(
                f"questions: the LLM wrote no parsable question for task(s) {empty}; "
                f"its raw outputs are in {OUT / 'llm_log.jsonl'}"
            )
    else:
        raise config.ConfigError(f"questions.source must be 'pool' or 'llm', got {cfg.source!r}")
    questions = make_questions(rows, pools, cfg.seed, cfg.source)
    write_jsonl(OUT / "questions.jsonl", questions)
    print(f"questions: {len(questions)} -> {OUT / 'questions.jsonl'}")


if __name__ == "__main__":
    main()
