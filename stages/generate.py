"""Stages `answer@k`, `rationalize@k`, `evalgen@m`: generate text with a model, one row per question.

    python -m stages.generate --kind answer --name cycle_1 --model models/base \
        --rows data/questions/questions.jsonl --out data/cycles/cycle_1/answers.jsonl
    python -m stages.generate --kind rationale --name cycle_1 --model models/base \
        --rows data/cycles/cycle_1/verified/answers.jsonl --out data/cycles/cycle_1/rationales.jsonl
    python -m stages.generate --kind eval --name cycle_1 --model models/cycle_1 \
        --rows data/evalsets/eval.jsonl --out data/eval/cycle_1.jsonl

answer: the training questions with the paper's step-by-step prompt (params `prompts.answer`,
`sampling.answer`); rationale: the failed rows of a verified answers file, with the gold labels
as a hint (`prompts.rationale`, `sampling.rationale`); eval: every held-out question, bare
(`sampling.eval`, greedy). Sampling is seeded from `sampling.seed`, the kind and NAME. A row
that cannot be generated for keeps its reason in `error`; past `prepare.max_reject_fraction` of
them the stage stops before generating anything.

A killed run loses nothing: finished batches are kept in `.videostar/partial/<kind>_<NAME>/`
(outside the outputs, which DVC deletes before a rerun), keyed by the rows, the model's bytes,
the settings and the code; rerunning computes only the rest and writes the same bytes as an
uninterrupted run. Another key never reuses them.

Several processes (GPUs): set `VIDEOSTAR_LAUNCH` (e.g. "accelerate launch --num_processes 8");
each process generates every N-th batch and the first merges them into the same bytes as one
process writes (videostar/core/distributed.py).
"""

from __future__ import annotations

import argparse
from dataclasses import asdict, dataclass
from pathlib import Path

from videostar.core import config, distributed, failures
from videostar.core.partial import PartialBatches
from videostar.core.records import read_jsonl, write_jsonl
from videostar.lmm.config import LoadConfig, SamplingConfig
from videostar.loop import generation
from videostar.prompts import PromptsConfig


@dataclass(frozen=True)
class SamplingParams:
    """num_frames: frames sampled uniformly per video; seed: root of every sampling seed; one
    decoding setting per prompt kind."""

    num_frames: int
    seed: int
    answer: SamplingConfig
    rationale: SamplingConfig
    eval: SamplingConfig


def main() -> None:
    distributed.relaunch("stages.generate")
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kind", choices=generation.KINDS, required=True)
    parser.add_argument("--name", required=True, help="the key this output belongs to")
    parser.add_argument("--model", required=True)
    parser.add_argument("--rows", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    params = config.load_params()
    sampling = config.section(SamplingParams, "sampling", params)
    prompts = config.section(PromptsConfig, "prompts", params)
    runtime = LoadConfig.from_params(params)
    rows = generation.select_rows(args.kind, read_jsonl(args.rows))
    seed = generation.stage_seed(sampling.seed, args.kind, args.name)
    decoding = getattr(sampling, args.kind)
    settings = {"prompts": asdict(prompts), "sampling": asdict(decoding), "seed": seed,
                "num_frames": sampling.num_frames, "runtime": asdict(runtime)}  # fmt: skip
    shard = distributed.current()
    store = PartialBatches.open(
        f"{args.kind}@{args.name}",
        generation.resume_key(args.kind, args.name, rows, args.model, settings),
        rank=shard.rank,
    )
    memory = [f"sampling.{args.kind}.batch_size", "sampling.num_frames"]
    with failures.explained(f"{args.kind}@{args.name}", memory):
        out = generation.generate_rows(
            args.kind, rows, args.model, prompts, decoding, sampling.num_frames, seed, runtime,
            store, shard, config.value("prepare.max_reject_fraction", float, params),
        )  # fmt: skip
        if out is None:  # another process writes the merged outputs
            return
        write_jsonl(args.out, out)
    store.close()
    errors = sum(1 for r in out if r["error"])
    print(f"generate --kind {args.kind}: {len(out)} rows ({errors} video errors) -> {args.out}")


if __name__ == "__main__":
    main()
