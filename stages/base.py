"""Stage `base`: the cycle-0 model.

    python -m stages.base             # reads params.yaml `model`, `pretrain`; writes models/cycle_0/
    dvc repro base

Default (`model.name_or_path: null`): build the tiny Qwen2-VL-architecture model offline (BPE
tokenizer trained on the corpus text, official processor classes) and pretrain it on the corpus's
training split, which gives it a pretrained LMM's general abilities but none of the target tasks.
With `model.name_or_path` set, the stage only records the pretrained model's identity in
models/cycle_0/identity.json; every later stage loads it through the same code path.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from stages import config, model, prompts
from stages.frames import load_clips
from stages.records import read_jsonl, write_json

OUT = Path("models/cycle_0")
CORPUS = Path("data/corpus")
METRICS = Path("metrics/base.json")


@dataclass(frozen=True)
class ModelConfig:
    name_or_path: str | None = None
    revision: str | None = None
    trust_remote_code: bool = False
    tiny: model.TinyConfig = field(default_factory=model.TinyConfig)


def tokenizer_texts(rows: list[dict]) -> list[str]:
    fixed = [prompts.ANSWER, prompts.RATIONALE, prompts.QUESTION_GENERATION]
    return fixed + [r["prompt"] for r in rows] + [r["response"] for r in rows]


def main() -> None:
    params = config.load_params()
    cfg = config.section(ModelConfig, "model", params)
    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir(parents=True)
    if cfg.name_or_path:
        identity = {
            "name_or_path": cfg.name_or_path,
            "revision": cfg.revision,
            "trust_remote_code": cfg.trust_remote_code,
        }
        write_json(OUT / "identity.json", identity)
        write_json(METRICS, {"kind": "pretrained", **identity})
        print(f"base: pretrained model {cfg.name_or_path}")
        return

    pretrain = config.section(model.TrainConfig, "pretrain", params)
    rows = [r for r in read_jsonl(CORPUS / "examples.jsonl") if r["split"] == "train"]
    model.build_tiny(cfg.tiny, tokenizer_texts(rows), OUT)
    frames, errors = load_clips(
        (str(CORPUS / r["video"]) for r in rows), params["sampling"]["num_frames"], desc="corpus"
    )
    if errors:
        raise RuntimeError(f"base: {len(errors)} corpus videos failed to decode: {errors}")
    lm, processor = model.load(OUT, for_training=True)
    examples = [(frames[str(CORPUS / r["video"])], r["prompt"], r["response"]) for r in rows]
    start = time.perf_counter()
    result = model.train(lm, processor, examples, pretrain, progress=True)
    print(f"base: pretrained {result['steps']} steps in {time.perf_counter() - start:.0f} s")
    lm = result["model"]
    model.save(lm, processor, OUT)
    write_json(
        METRICS,
        {
            "kind": "tiny",
            "parameters": sum(p.numel() for p in lm.parameters()),
            "examples": len(examples),
            **{k: result[k] for k in ("steps", "loss_first", "loss_last")},
        },
    )


if __name__ == "__main__":
    main()
