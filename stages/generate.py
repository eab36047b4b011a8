"""Stages `answer@k`, `rationalize@k`, `evalgen*`: generate text with a model, one row per question.

    python -m stages.generate --kind answer --cycle 1 --model models/cycle_0 --out data/cycles/1/answers.jsonl
    python -m stages.generate --kind rationale --cycle 1 --model models/cycle_0 \
        --failed data/cycles/1/answers.verified.jsonl --out data/cycles/1/rationales.jsonl
    python -m stages.generate --kind eval --model models/cycle_1 \
        --questions data/evalsets/eval.jsonl --out data/eval/cycle_1.jsonl

- answer:    training-split questions with the paper's step-by-step prompt (step 1);
- rationale: only the rows that failed verification, with the gold labels as a hint (step 3);
             none when `rationalize.enabled` is false (the no-rationalization ablation);
- eval:      held-out questions (every set of `evalsets`), bare, with the `sampling.eval`
             settings (greedy by default).
Every output row keeps its provenance: the question row, prompt kind, exact prompt, model, raw
text, and `error` (the reason, when the video could not be decoded; the row is kept, not dropped).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stages import config, labels, model, prompts
from stages.frames import load_clips
from stages.records import read_jsonl, write_jsonl

QUESTIONS = Path("data/questions/questions.jsonl")
KIND_SPLIT = {"answer": "train", "eval": "test"}
KIND_OFFSET = {"answer": 1, "rationale": 2, "eval": 3}


@dataclass(frozen=True)
class RationalizeConfig:
    enabled: bool = True  # false: Video-STaR without label rationalization (an ablation)


@dataclass(frozen=True)
class SamplingParams:
    num_frames: int
    seed: int
    answer: model.SamplingConfig
    rationale: model.SamplingConfig
    eval: model.SamplingConfig


def build_prompt(kind: str, row: dict[str, Any]) -> str:
    if kind == "answer":
        return prompts.answer_prompt(row["question"])
    if kind == "rationale":
        return prompts.rationale_prompt(row["question"], labels.render_hint(row["labels"]))
    return row["question"]


def select_rows(kind: str, questions: list[dict], failed: list[dict] | None) -> list[dict]:
    if kind == "rationale":
        if failed is None:
            raise ValueError("--kind rationale needs --failed (a verified answers file)")
        # Rows whose video failed to decode cannot be rationalized either; they stay rejected.
        keep = ("id", "video_id", "video", "split", "task", "question", "question_source",
                "labels", "duration", "frame_size")  # fmt: skip
        return [
            {k: r[k] for k in keep if k in r} for r in failed if not r["ok"] and not r.get("error")
        ]
    return [r for r in questions if r["split"] == KIND_SPLIT[kind]]


def generate_rows(
    kind: str,
    rows: list[dict[str, Any]],
    model_dir: str,
    sampling: model.SamplingConfig,
    num_frames: int,
    seed: int,
) -> list[dict[str, Any]]:
    frames, errors = load_clips((r["video"] for r in rows), num_frames)
    todo = [r for r in rows if r["video"] in frames]
    texts: list[str] = []
    if todo:
        lm, processor = model.load(model_dir)
        items = [(frames[r["video"]], build_prompt(kind, r)) for r in todo]
        texts = model.generate(lm, processor, items, sampling, seed=seed, progress=True)
    by_id = {r["id"]: t for r, t in zip(todo, texts, strict=True)}
    out = []
    for row in rows:
        out.append(
            {
                **row,
                "prompt_kind": kind,
                "prompt": build_prompt(kind, row),
                "model": model_dir,
                "text": by_id.get(row["id"], ""),
                "error": errors.get(row["video"]),
            }
        )
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kind", choices=sorted(KIND_OFFSET), required=True)
    parser.add_argument("--cycle", type=int, default=0)
    parser.add_argument("--model", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--failed", help="verified answers (for --kind rationale)")
    parser.add_argument("--questions", default=str(QUESTIONS), help="question rows to draw from")
    parser.add_argument(
        "--rationalize",
        choices=("on", "off"),
        default="on",
        help="off: rationalize nothing (the no-rationalization chain of cycles)",
    )
    args = parser.parse_args(argv)

    params = config.section(SamplingParams, "sampling")
    sampling: model.SamplingConfig = getattr(params, args.kind)
    failed = read_jsonl(args.failed) if args.failed else None
    rows = select_rows(args.kind, read_jsonl(args.questions), failed)
    if args.kind == "rationale" and (
        args.rationalize == "off" or not config.section(RationalizeConfig, "rationalize").enabled
    ):
        rows = []
    seed = params.seed * 1_000_003 + args.cycle * 10 + KIND_OFFSET[args.kind]
    out = generate_rows(args.kind, rows, args.model, sampling, params.num_frames, seed)
    write_jsonl(args.out, out)
    errors = sum(1 for r in out if r["error"])
    print(f"generate --kind {args.kind}: {len(out)} rows ({errors} video errors) -> {args.out}")


if __name__ == "__main__":
    main()
