"""Every held-out question each model is evaluated on, in one file (the `set` field of each row).

- adapted:   the labeled tasks' held-out questions (split test);
- rephrased: the same videos and labels asked with `evalsets.rephrased` questions, which no stage
             trains or generates for (transfer: asked differently);
- every set named in the rows of the `evalsets.transfer` and `evalsets.retention` files
  (question-schema JSONL, videos relative to each file's folder); by default the toy world's
  colour questions (transfer: a related property) and the corpus's retention questions, one
  caption prompt per held-out corpus clip verified against the caption's facts (general
  ability, so forgetting shows).
A question of any set but adapted that is also a training question is refused: it would measure
training, not transfer.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from videostar.core import seeding
from videostar.core.config import ConfigError
from videostar.core.records import inside, read_jsonl

ROW_KEYS = ("id", "video_id", "video", "split", "task", "question", "labels", "duration",
            "frame_size", "segment", "fps")  # fmt: skip


@dataclass(frozen=True)
class EvalSetsConfig:
    """seed: picks each rephrased question; rephrased: per task, questions no stage trains on;
    transfer, retention: question-schema JSONL files, each row naming its ``set`` (videos
    relative to each file's folder); one file may hold several sets."""

    seed: int
    rephrased: dict[str, tuple[str, ...]]
    transfer: str
    retention: str

    @property
    def files(self) -> tuple[str, str]:
        return (self.transfer, self.retention)


def adapted_rows(questions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {**{k: r[k] for k in ROW_KEYS if k in r}, "set": "adapted"}
        for r in questions
        if r["split"] == "test"
    ]


def rephrased_rows(
    questions: list[dict[str, Any]], rephrased: dict[str, tuple[str, ...]], seed: int
) -> list[dict[str, Any]]:
    rows = []
    for row in adapted_rows(questions):
        pool = rephrased.get(row["task"])
        if not pool:
            continue
        question = pool[seeding.pick(len(pool), seed, "rephrased", row["id"])]
        rows.append(
            {**row, "id": f"{row['id']}-rephrased", "set": "rephrased", "question": question}
        )
    return rows


def file_rows(path: Path) -> list[dict[str, Any]]:
    rows = []
    for r in read_jsonl(path):
        missing = {"id", "video", "task", "set", "question", "labels"} - set(r)
        if missing:
            raise ConfigError(f"{path}: row {r.get('id')!r} lacks {sorted(missing)}")
        rows.append({**r, "split": "test", "video": inside(path.parent, r["video"]).as_posix()})
    return rows


def training_leaks(rows: list[dict[str, Any]], questions: list[dict[str, Any]]) -> list[str]:
    trained = {r["question"].strip().lower() for r in questions if r["split"] == "train"}
    return sorted(
        {
            f"{r['set']}: {r['question']!r}"
            for r in rows
            if r["set"] != "adapted" and r["question"].strip().lower() in trained
        }
    )


def build(cfg: EvalSetsConfig, questions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every evaluation row, sorted by (set, id); refuses training questions and repeated ids."""
    rows = adapted_rows(questions) + rephrased_rows(questions, cfg.rephrased, cfg.seed)
    for path in cfg.files:
        rows += file_rows(Path(path))
    leaks = training_leaks(rows, questions)
    if leaks:
        raise ConfigError(
            f"evalsets: these questions are also training questions, so they cannot measure "
            f"transfer: {leaks}"
        )
    ids = [r["id"] for r in rows]
    if len(ids) != len(set(ids)):
        raise ConfigError("evalsets: row ids are not unique across sets")
    return sorted(rows, key=lambda r: (r["set"], r["id"]))
