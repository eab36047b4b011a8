"""Stage `evalsets`: every held-out question each model is evaluated on, in one file.

    python -m stages.evalsets         # reads params.yaml `evalsets`; writes data/evalsets/eval.jsonl
    dvc repro evalsets

Sets (the `set` field of each row; `evaluate` reports accuracy per set and task):
- adapted:   the labeled tasks' held-out questions (data/questions, split test);
- rephrased: the same videos and labels asked with `evalsets.rephrased` questions, which no stage
             trains or generates for (transfer: asked differently);
- retention: one caption prompt per held-out corpus clip, verified against the caption's facts
             (general ability, so forgetting shows);
- any set named in the rows of the `evalsets.transfer` files (question-schema JSONL, videos
  relative to the file's folder), e.g. the toy world's colour questions (transfer: a related
  property).
A rephrased or transfer question that is also a training question is refused: it would measure
training, not transfer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stages import config
from stages.questions import pick
from stages.records import read_jsonl, resolve_inside, write_jsonl

QUESTIONS = Path("data/questions/questions.jsonl")
CORPUS = Path("data/corpus")
OUT = Path("data/evalsets")
ROW_KEYS = ("id", "video_id", "video", "split", "task", "question", "labels", "duration",
            "frame_size")  # fmt: skip


@dataclass(frozen=True)
class EvalSetsConfig:
    seed: int = 0
    rephrased: dict[str, tuple[str, ...]] = field(default_factory=dict)
    transfer: tuple[str, ...] = ()


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
        question = pool[pick(pool, seed, row["id"])]
        rows.append(
            {**row, "id": f"{row['id']}-rephrased", "set": "rephrased", "question": question}
        )
    return rows


def retention_rows(corpus: list[dict[str, Any]], corpus_dir: Path) -> list[dict[str, Any]]:
    """The first captioning example of every held-out corpus clip (captions without labels
    cannot be verified: the stage refuses them rather than skipping them)."""
    rows, seen = [], set()
    for r in corpus:
        if r["split"] != "test" or r["kind"] != "caption" or r["video"] in seen:
            continue
        if not r.get("labels"):
            raise config.ConfigError(f"corpus row {r['id']!r}: a held-out caption needs labels")
        seen.add(r["video"])
        rows.append(
            {
                "id": r["id"],
                "video_id": Path(r["video"]).stem,
                "video": (corpus_dir / r["video"]).as_posix(),
                "split": "test",
                "task": "caption",
                "set": "retention",
                "question": r["prompt"],
                "labels": r["labels"],
            }
        )
    return rows


def transfer_rows(path: Path) -> list[dict[str, Any]]:
    rows = []
    for r in read_jsonl(path):
        missing = {"id", "video", "task", "set", "question", "labels"} - set(r)
        if missing:
            raise config.ConfigError(f"{path}: row {r.get('id')!r} lacks {sorted(missing)}")
        resolve_inside(path.parent, r["video"])
        rows.append({**r, "split": "test", "video": (path.parent / r["video"]).as_posix()})
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


def build(
    cfg: EvalSetsConfig,
    questions: list[dict[str, Any]],
    corpus: list[dict[str, Any]],
    corpus_dir: Path = CORPUS,
) -> list[dict[str, Any]]:
    rows = adapted_rows(questions) + rephrased_rows(questions, cfg.rephrased, cfg.seed)
    rows += retention_rows(corpus, corpus_dir)
    for path in cfg.transfer:
        rows += transfer_rows(Path(path))
    leaks = training_leaks(rows, questions)
    if leaks:
        raise config.ConfigError(
            f"evalsets: these questions are also training questions, so they cannot measure "
            f"transfer: {leaks}"
        )
    ids = [r["id"] for r in rows]
    if len(ids) != len(set(ids)):
        raise config.ConfigError("evalsets: row ids are not unique across sets")
    return sorted(rows, key=lambda r: (r["set"], r["id"]))


def main() -> None:
    cfg = config.section(EvalSetsConfig, "evalsets")
    corpus_file = CORPUS / "examples.jsonl"
    corpus = read_jsonl(corpus_file) if corpus_file.exists() else []
    rows = build(cfg, read_jsonl(QUESTIONS), corpus)
    write_jsonl(OUT / "eval.jsonl", rows)
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["set"]] = counts.get(r["set"], 0) + 1
    print(f"evalsets: {counts} -> {OUT / 'eval.jsonl'}")


if __name__ == "__main__":
    main()
