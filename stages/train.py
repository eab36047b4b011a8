"""Stages `train@k` and `final_train`: instruction-tune on the verified samples of a cycle.

    python -m stages.train --cycle 1 --init models/cycle_0 --data data/cycles/1 --out models/cycle_1
    python -m stages.train --cycle 3 --final --init models/cycle_0 --data data/cycles/3 --out models/final

Training pairs are (video, bare question) -> verified generated text: never the step-by-step
suffix or the hint. Each cycle starts from the base model again (`train.restart_from_base`), mixes
in `general_share` of general examples from the pretraining corpus, and sizes its budget in epochs
clamped to [min_steps, max_steps]. `--final` leaves out rationalized samples when
`final.without_rationales` is set, as the paper trains its final model on direct answers only.

Writes the model and, next to the cycle data, train/samples.jsonl (provenance of every example),
train/llava.json (LLaVA/ShareGPT format) and train/stats.json.
"""

from __future__ import annotations

import argparse
import random
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from stages import config, model
from stages.frames import load_clips
from stages.records import read_jsonl, write_json, write_jsonl

BASE = Path("models/cycle_0")
CORPUS = Path("data/corpus")


@dataclass(frozen=True)
class CycleTrainConfig(model.TrainConfig):
    general_share: float = 0.5
    restart_from_base: bool = True


@dataclass(frozen=True)
class FinalConfig:
    without_rationales: bool = True


def kept_samples(data_dir: Path, with_rationales: bool) -> list[dict[str, Any]]:
    rows = [r for r in read_jsonl(data_dir / "answers.verified.jsonl") if r["ok"]]
    if with_rationales:
        rows += [r for r in read_jsonl(data_dir / "rationales.verified.jsonl") if r["ok"]]
    return rows


def general_samples(n: int, seed: int) -> list[dict[str, Any]]:
    """n general examples drawn from the corpus's training split (seeded; without replacement)."""
    if n <= 0:
        return []
    pool = [r for r in read_jsonl(CORPUS / "examples.jsonl") if r["split"] == "train"]
    rng = random.Random(seed)
    picked = rng.sample(pool, min(n, len(pool)))
    return [
        {
            "id": f"general/{r['id']}",
            "video": str(CORPUS / r["video"]),
            "question": r["prompt"],
            "text": r["response"],
            "prompt_kind": f"general:{r['kind']}",
        }
        for r in picked
    ]


def general_count(kept: int, share: float) -> int:
    if not 0 <= share < 1:
        raise config.ConfigError(f"train.general_share must be in [0, 1), got {share}")
    return round(kept * share / (1 - share))


def llava_record(sample: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": sample["id"],
        "video": sample["video"],
        "conversations": [
            {"from": "human", "value": f"<video>\n{sample['question']}"},
            {"from": "gpt", "value": sample["text"]},
        ],
    }


def provenance(sample: dict[str, Any]) -> dict[str, Any]:
    keep = ("id", "video_id", "video", "task", "question", "prompt_kind", "prompt", "text",
            "labels", "verdicts", "model")  # fmt: skip
    return {k: sample[k] for k in keep if k in sample}


def fit(
    kept: list[dict[str, Any]],
    init: Path,
    out: Path,
    records_dir: Path,
    cfg: CycleTrainConfig,
    num_frames: int,
    seed: int,
    stats: dict[str, Any],
) -> dict[str, Any]:
    """Fine-tune ``init`` on ``kept`` + a general share; write the model and training records."""
    general = general_samples(general_count(len(kept), cfg.general_share), seed)
    samples = kept + general
    frames, errors = load_clips((s["video"] for s in samples), num_frames)
    if errors:
        raise RuntimeError(f"train: {len(errors)} training videos failed to decode: {errors}")
    lm, processor = model.load(init, for_training=True)
    stats = {**stats, "init": str(init), "kept": len(kept), "general": len(general)}
    if kept:
        train_cfg = model.TrainConfig(
            **{f.name: getattr(cfg, f.name) for f in fields(model.TrainConfig)}
        )
        examples = [(frames[s["video"]], s["question"], s["text"]) for s in samples]
        result = model.train(lm, processor, examples, train_cfg, progress=True)
        lm = result["model"]  # LoRA wraps the model in a new object
        stats.update({k: result[k] for k in ("steps", "loss_first", "loss_last")})
    else:
        # Nothing verified: training on general data alone would not be this cycle's model.
        print("train: no verified samples; the model is the initial model unchanged")
        stats.update({"steps": 0, "loss_first": None, "loss_last": None})
    model.save(lm, processor, out, base_dir=BASE)

    write_jsonl(records_dir / "samples.jsonl", [provenance(s) for s in samples])
    write_json(records_dir / "llava.json", [llava_record(s) for s in samples])
    write_json(records_dir / "stats.json", stats)
    print(f"train: {stats}")
    return stats


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cycle", type=int, required=True)
    parser.add_argument("--init", required=True, help="the previous cycle's model")
    parser.add_argument("--data", required=True, help="the cycle's data folder")
    parser.add_argument("--out", required=True)
    parser.add_argument("--final", action="store_true")
    args = parser.parse_args(argv)

    params = config.load_params()
    cfg = config.section(CycleTrainConfig, "train", params)
    data_dir = Path(args.data)
    with_rationales = True
    if args.final:
        with_rationales = not config.section(FinalConfig, "final", params).without_rationales
    kept = kept_samples(data_dir, with_rationales)
    stats = {
        "cycle": args.cycle,
        "final": args.final,
        "with_rationales": with_rationales,
        "kept_answers": sum(s["prompt_kind"] == "answer" for s in kept),
        "kept_rationales": sum(s["prompt_kind"] == "rationale" for s in kept),
    }
    fit(
        kept,
        init=BASE if cfg.restart_from_base else Path(args.init),
        out=Path(args.out),
        records_dir=Path("data/final/train") if args.final else data_dir / "train",
        cfg=cfg,
        num_frames=params["sampling"]["num_frames"],
        seed=cfg.seed + args.cycle,
        stats=stats,
    )


if __name__ == "__main__":
    main()
