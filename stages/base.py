"""Stage `base`: the model every cycle starts from.

    python -m stages.base --corpus data/corpus --out models/base --metrics metrics/base.json
    dvc repro base

Default (`model.name_or_path: null`): build the tiny Qwen2-VL-architecture model offline (BPE
tokenizer trained on the corpus text, official processor classes) and pretrain it on the corpus's
training split, which gives it a pretrained LMM's general abilities but none of the target tasks.
With `model.name_or_path` set, the stage only records the pretrained model's identity in
OUT/identity.json (a local folder with its fingerprint; a hub id with its pinned revision); every
later stage loads it through the same code path.

A killed pretraining resumes from its last checkpoint (every `pretrain.checkpoint_every` steps,
kept in `.videostar/partial/base/`, outside the outputs) to the same weights.
"""

from __future__ import annotations

import argparse
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from videostar.core import config, failures
from videostar.core.curves import Curves
from videostar.core.records import read_jsonl, write_json
from videostar.lmm import loading, tiny, training
from videostar.lmm.config import LoadConfig, TinyConfig, TrainConfig
from videostar.video.frames import ClipItems, load_clips


@dataclass(frozen=True)
class ModelConfig:
    """name_or_path: null builds the tiny model, else a local folder or hub id; revision: a hub
    revision; trust_remote_code, dtype, attn_implementation: how every stage loads it
    (``LoadConfig``)."""

    name_or_path: str | None
    revision: str | None
    trust_remote_code: bool
    dtype: str
    attn_implementation: str
    tiny: TinyConfig = field(default_factory=TinyConfig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--metrics", type=Path, required=True)
    parser.add_argument("--curves", type=Path, required=True, help="dvclive folder of the curves")
    args = parser.parse_args()
    params = config.load_params()
    cfg = config.section(ModelConfig, "model", params)
    shutil.rmtree(args.out, ignore_errors=True)
    args.out.mkdir(parents=True)
    curves = Curves(args.curves)  # empty for a pretrained model
    if cfg.name_or_path:
        identity = loading.identity(cfg.name_or_path, cfg.revision)
        write_json(args.out / loading.IDENTITY_FILE, identity)
        write_json(args.metrics, {"kind": "pretrained", **identity})
        print(f"base: pretrained model {cfg.name_or_path}")
        curves.close()
        return

    pretrain = config.section(TrainConfig, "pretrain", params)
    rows = [r for r in read_jsonl(args.corpus / "examples.jsonl") if r["split"] == "train"]
    tiny.build_tiny(cfg.tiny, [r["prompt"] for r in rows] + [r["response"] for r in rows], args.out)
    refs = [(str(args.corpus / r["video"]), None, None) for r in rows]
    clips, errors = load_clips(refs, config.value("sampling.num_frames", int, params), "corpus")
    if errors:
        raise RuntimeError(f"base: {len(errors)} corpus videos failed to decode: {errors}")
    runtime = LoadConfig(cfg.trust_remote_code, cfg.dtype, cfg.attn_implementation)
    lm, processor = loading.load(args.out, for_training=True, **asdict(runtime))
    examples = ClipItems(
        [(ref, r["prompt"], r["response"]) for ref, r in zip(refs, rows, strict=True)], clips
    )
    key = training.resume_key(examples, args.out, pretrain, runtime)
    checkpoint = training.Checkpoint.open("base", key)
    start = time.perf_counter()
    with failures.explained("base", ["pretrain.micro_batch_size", "sampling.num_frames"]):
        result = training.train(
            lm, processor, examples, pretrain, progress=True, checkpoint=checkpoint, log=curves.log
        )
    curves.close()
    print(f"base: pretrained {result['steps']} steps in {time.perf_counter() - start:.0f} s")
    loading.save(result["model"], processor, args.out)
    write_json(
        args.metrics,
        {
            "kind": "tiny",
            "parameters": sum(p.numel() for p in result["model"].parameters()),
            "examples": len(examples),
            **{k: result[k] for k in ("steps", "loss_first", "loss_last")},
        },
    )
    checkpoint.close()


if __name__ == "__main__":
    main()
