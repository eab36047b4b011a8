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
training, not transfer. A file row that is not a usable question (not JSON, no ``set``, a label
the registry refuses, a video path leaving the file's folder, ...) is rejected with its reason
and line; past ``max_reject_fraction`` of the files' rows the stage fails.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from videostar.core import seeding
from videostar.core.config import ConfigError
from videostar.core.records import RecordError, inside, reject, scan_jsonl
from videostar.labels.rows import question_problem

BUILT_SETS = ("adapted", "rephrased")  # made here from the questions, never read from a file
ROW_KEYS = ("id", "video_id", "video", "split", "task", "question", "labels", "duration",
            "frame_size", "segment", "fps")  # fmt: skip


@dataclass(frozen=True)
class EvalSetsConfig:
    """seed: picks each rephrased question; rephrased: per task, questions no stage trains on;
    transfer, retention: question-schema JSONL files, each row naming its ``set`` (videos
    relative to each file's folder); one file may hold several sets. max_reject_fraction: the
    share of those files' rows that may be rejected before the stage fails."""

    seed: int
    rephrased: dict[str, tuple[str, ...]]
    transfer: str
    retention: str
    max_reject_fraction: float

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


def file_rows(path: Path) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    """The usable rows of a question file (videos resolved inside its folder) and a reject row
    (``file:line`` as its stage, with the reason) for every other line."""
    rows, rejects = [], []
    for lineno, r in scan_jsonl(path):
        problem = r if isinstance(r, str) else question_problem(r)
        if problem is None and not (isinstance(r.get("set"), str) and r["set"].strip()):
            problem = "'set' must be a non-empty string"
        if problem is None and r["set"] in BUILT_SETS:
            problem = f"set {r['set']!r} is made from the questions; name the file's set otherwise"
        if problem is None:
            try:
                rows.append(
                    {**r, "split": "test", "video": inside(path.parent, r["video"]).as_posix()}
                )
                continue
            except RecordError as e:
                problem = str(e)
        row_id, video = ("", "") if isinstance(r, str) else (str(r.get("id")), str(r.get("video")))
        rejects.append(reject(row_id, video, f"evalsets {path}:{lineno}", problem))
    return rows, rejects


def training_leaks(rows: list[dict[str, Any]], questions: list[dict[str, Any]]) -> list[str]:
    trained = {r["question"].strip().lower() for r in questions if r["split"] == "train"}
    return sorted(
        {
            f"{r['set']}: {r['question']!r}"
            for r in rows
            if r["set"] != "adapted" and r["question"].strip().lower() in trained
        }
    )


def build(
    cfg: EvalSetsConfig, questions: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    """Every evaluation row, sorted by (set, id), and the files' rejected rows; refuses training
    questions and repeated ids."""
    rows = adapted_rows(questions) + rephrased_rows(questions, cfg.rephrased, cfg.seed)
    rejects: list[dict[str, str]] = []
    for path in cfg.files:
        usable, rejected = file_rows(Path(path))
        rows += usable
        rejects += rejected
    leaks = training_leaks(rows, questions)
    if leaks:
        raise ConfigError(
            f"evalsets: these questions are also training questions, so they cannot measure "
            f"transfer: {leaks}"
        )
    ids = [r["id"] for r in rows]
    if len(ids) != len(set(ids)):
        raise ConfigError("evalsets: row ids are not unique across sets")
    return sorted(rows, key=lambda r: (r["set"], r["id"])), rejects


def check_rejects(file_rows: int, rejects: int, max_fraction: float, where: Path) -> None:
    """ConfigError when more than ``max_fraction`` of the files' rows were rejected."""
    total = file_rows + rejects
    if total and rejects / total > max_fraction:
        raise ConfigError(
            f"evalsets: {rejects} of {total} rows of the evaluation-set files rejected "
            f"({rejects / total:.1%} > max_reject_fraction {max_fraction:.1%}); reasons in {where}"
        )
