"""Step 4: fine-tune a model on a training set and write it with the set's records."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

from videostar.core import config, distributed, failures, seeding
from videostar.core.curves import Curves
from videostar.core.records import write_json, write_jsonl
from videostar.lmm import loading, training
from videostar.lmm.config import LoadConfig, TrainConfig
from videostar.loop.training_set import (
    general_count,
    general_samples,
    llava_record,
    provenance,
    read_general,
)
from videostar.video.frames import ClipItems, clip_ref, load_clips


@dataclass(frozen=True)
class CycleTrainConfig(TrainConfig):
    """The ``train`` section: the fine-tuning recipe plus the general data mixed into each set.

    general_share: the fraction of each training set drawn from general data.
    general_data: a LLaVA/ShareGPT JSON file (list of ``{"id", "video", "conversations"}``);
        the toy corpus's ``general.json`` by default.
    general_videos: the folder its video paths are relative to (a path leaving it is not used).
    """

    general_share: float
    general_data: str
    general_videos: str


def recipe(cfg: CycleTrainConfig) -> TrainConfig:
    return TrainConfig(**{f.name: getattr(cfg, f.name) for f in fields(TrainConfig)})


def fit(
    samples: list[dict[str, Any]],
    init: Path,
    out: Path,
    records_dir: Path,
    cfg: CycleTrainConfig,
    num_frames: int,
    seed: int,
    runtime: LoadConfig,
    stage: str,
    shard: distributed.Shard = distributed.ALONE,
    log: Callable[[int, dict[str, float]], None] | None = None,
) -> dict[str, Any]:
    """Fine-tune ``init`` on ``samples`` plus a general share; write the model (an adapter that
    names ``init`` as its base, for LoRA) and samples.jsonl + llava.json under ``records_dir``.
    ``seed`` (derived per model by the caller) drives the general draw, shuffling and init.
    Training keeps checkpoints under ``stage``'s side folder (``training.Checkpoint``), resumes
    from them after a kill and deletes them once the outputs are written. With several processes
    (``shard``) they train together and the first writes the outputs. ``log`` gets each training
    step's values (``training.train``).
    Returns the training counts (general records not used, per reason, too) and losses."""
    pool, skipped = read_general(Path(cfg.general_data), Path(cfg.general_videos))
    general = general_samples(pool, general_count(len(samples), cfg.general_share), seed)
    mixed = samples + general
    stats: dict[str, Any] = {"init": str(init), "kept": len(samples), "general": len(general),
                             "general_pool": len(pool), "general_skipped": skipped}  # fmt: skip
    checkpoint = None
    if samples:
        clips, errors = load_clips((clip_ref(s) for s in mixed), num_frames, shard=shard)
        if errors:
            raise RuntimeError(f"train: {len(errors)} training videos failed to decode: {errors}")
        frozen = cfg.method == "lora"
        lm, processor = loading.load(init, for_training=True, frozen=frozen, **asdict(runtime))
        examples = ClipItems([(clip_ref(s), s["question"], s["text"]) for s in mixed], clips)
        train_cfg = replace(recipe(cfg), seed=seed)
        key = training.resume_key(examples, init, train_cfg, runtime)
        checkpoint = training.Checkpoint.open(stage, key)
        result = training.train(
            lm, processor, examples, train_cfg, progress=True, checkpoint=checkpoint, shard=shard,
            log=log if shard.main else None,
        )  # fmt: skip
        stats.update({k: result[k] for k in ("steps", "loss_first", "loss_last")})
        if not shard.main:
            return stats
        # LoRA wraps the model in a new object, saved as the adapter alone.
        loading.save(result["model"], processor, out, base_dir=init)
    elif not shard.main:
        return stats
    else:
        # Nothing verified: training on general data alone would not be this cycle's model, and
        # a copy of the initial model would only fill the cache (gigabytes for a real model).
        print("train: no verified samples; the model is the initial model, unchanged")
        loading.save_alias(out, base_dir=init)
        stats.update({"steps": 0, "loss_first": None, "loss_last": None})
    write_jsonl(records_dir / "samples.jsonl", [provenance(s) for s in mixed])
    write_json(records_dir / "llava.json", [llava_record(s) for s in mixed])
    if checkpoint is not None:
        checkpoint.close()
    return stats


def fit_stage(
    samples: list[dict[str, Any]],
    stage: str,
    model: str,
    init: Path,
    out: Path,
    records_dir: Path,
    curves_dir: Path,
    params: dict[str, Any],
) -> dict[str, Any] | None:
    """``fit`` as a training stage runs it: params ``train``, ``sampling.num_frames`` and the
    model's runtime; the seed derived for ``model``; this process's shard; the curves written
    to ``curves_dir`` and out-of-memory explained. Returns the stats in the process that writes
    the outputs, None in the others."""
    cfg = config.section(CycleTrainConfig, "train", params)
    shard = distributed.current()
    curves = Curves(curves_dir) if shard.main else None
    with failures.explained(stage, ["train.micro_batch_size", "sampling.num_frames"]):
        stats = fit(
            samples,
            init=init,
            out=out,
            records_dir=records_dir,
            cfg=cfg,
            num_frames=config.value("sampling.num_frames", int, params),
            seed=seeding.derive(cfg.seed, "train", model),
            runtime=LoadConfig.from_params(params),
            stage=stage,
            shard=shard,
            log=curves.log if curves else None,
        )
    if curves is None:
        return None
    curves.close()
    return stats
