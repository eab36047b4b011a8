"""Fine-tuning a video LMM on (video, user prompt, assistant response) examples.

    model, processor = loading.load("models/base", for_training=True)
    stats = training.train(model, processor, examples, train_cfg)
    loading.save(stats["model"], processor, Path("models/cycle_1"), base_dir=Path("models/base"))

Full training or peft LoRA; AdamW with linear warmup then cosine decay; labels only on the
response. What depends on the model family (video preprocessing, extra inputs, LoRA targets)
comes from ``families``. ``examples`` may be any sequence: a stage passes ``frames.ClipItems``,
which reads each clip from the frame cache only when a step asks for it (``Encoder``).

A killed run resumes from its last checkpoint (every ``cfg.checkpoint_every`` steps) to the same
weights as an uninterrupted one:

    key = training.resume_key(examples, Path("models/base"), train_cfg, load_cfg)
    ckpt = training.Checkpoint.open("train@cycle_1", key)  # .videostar/partial/train_cycle_1/<key>
    stats = training.train(model, processor, examples, train_cfg, checkpoint=ckpt)
    loading.save(...); ckpt.close()                  # once the stage's outputs are written
"""

from __future__ import annotations

import hashlib
import math
import os
import shutil
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from videostar.core import distributed, partial
from videostar.core.held import Held, budget_bytes
from videostar.core.records import dumps
from videostar.lmm import families, loading
from videostar.lmm.config import LoadConfig, TrainConfig
from videostar.lmm.families.base import frames_of
from videostar.lmm.loading import is_peft, seed_torch
from videostar.video.clips import Clip
from videostar.video.frames import ClipItems

# Padded label positions and prompt positions are ignored by the loss.
IGNORE_INDEX = -100
# Batches per length-sorted group (``TrainConfig.group_by_length``): transformers' megabatch.
LENGTH_GROUP_BATCHES = 50


def steps_for(n_examples: int, cfg: TrainConfig) -> int:
    """clamp(ceil(epochs * n / batch_size), min_steps, max_steps)."""
    steps = math.ceil(cfg.epochs * n_examples / cfg.batch_size)
    return max(cfg.min_steps, min(cfg.max_steps, steps))


def lr_at(step: int, total: int, cfg: TrainConfig) -> float:
    """Learning-rate multiplier: linear warmup over warmup_steps, 1 until the last
    ``decay_fraction`` of the remaining steps, then cosine to min_lr_ratio."""
    if step < cfg.warmup_steps:
        return (step + 1) / cfg.warmup_steps
    span = max(1, total - cfg.warmup_steps)
    decay = max(1, round(cfg.decay_fraction * span))
    progress = min(1.0, max(0, step - cfg.warmup_steps - (span - decay)) / decay)
    return cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))


class Encoder:
    """Training examples encoded when a step asks for them, so memory does not grow with the
    set: each prompt as its family encodes it for ``generate`` (``family.encode``), each response
    as the model should emit it (``family.response``), tokenized separately so that training and
    inference see the same token boundaries. Preprocessed clips are held (``core.held``) up to
    ``held`` bytes (default ``$VIDEOSTAR_HELD_VISUAL_MB``, 1024), as an example's clip comes
    back every epoch and other examples share it; response ids are small and all kept."""

    def __init__(
        self,
        processor: Any,
        examples: Sequence[tuple[families.Video, str, str]],
        family: families.Family,
        held: int | None = None,
    ) -> None:
        self.processor, self.examples, self.family = processor, examples, family
        self.held = Held(budget_bytes("VIDEOSTAR_HELD_VISUAL_MB") if held is None else held)
        self._responses: dict[int, torch.Tensor] = {}

    def prompts(self, rows: Sequence[int]) -> list[families.EncodedPrompt]:
        items = [self.examples[r][:2] for r in rows]
        return self.family.encode(self.processor, items, self.held)

    def text_lengths(self) -> list[int]:
        """Prompt + response tokens of every example, without its video (which adds about the
        same to every example of a dataset sampled at one setting), read without the clips."""
        texts = self.examples.rests() if isinstance(self.examples, ClipItems) else self.examples
        prompts = self.processor.tokenizer([t[-2] for t in texts], add_special_tokens=False)
        responses = self.processor.tokenizer([t[-1] for t in texts], add_special_tokens=False)
        pairs = zip(prompts["input_ids"], responses["input_ids"], strict=True)
        return [len(p) + len(r) for p, r in pairs]

    def response(self, row: int) -> torch.Tensor:
        if row not in self._responses:
            text = self.family.response(self.processor, self.examples[row][2])
            ids = self.processor.tokenizer(text, add_special_tokens=False)["input_ids"]
            self._responses[row] = torch.tensor(ids)
        return self._responses[row]


def packed_rows(lengths: Sequence[int]) -> list[list[int]]:
    """First-fit decreasing: the indices of ``lengths`` placed in rows that each hold at most
    the longest length (ties in index order)."""
    width = max(lengths)
    rows: list[list[int]] = []
    room: list[int] = []
    for i in sorted(range(len(lengths)), key=lambda i: -lengths[i]):
        for r, free in enumerate(room):
            if lengths[i] <= free:
                rows[r].append(i)
                room[r] -= lengths[i]
                break
        else:
            rows.append([i])
            room.append(width - lengths[i])
    return rows


def collate(enc: Encoder, rows: Sequence[int], pad_id: int, pack: bool = False) -> dict[str, Any]:
    """Right-padded batch with labels only on response tokens (+ the closing end-of-turn token):
    -100 on every prompt, video and padding position. With ``pack``, the examples come in the
    order ``packed_rows`` places them, ``examples_per_row`` says how many each packed row takes
    and ``token_keys`` names the tensors with a value per token (for ``pack_batch``)."""
    prompts = enc.prompts(rows)
    responses = [enc.response(r) for r in rows]
    lengths = [len(p.ids) + len(r) for p, r in zip(prompts, responses, strict=True)]
    packing = packed_rows(lengths) if pack else []
    if pack:
        order = [i for row in packing for i in row]
        prompts, responses = [prompts[i] for i in order], [responses[i] for i in order]
        lengths = [lengths[i] for i in order]
    shape = (len(rows), max(lengths))
    input_ids = torch.full(shape, pad_id, dtype=torch.long)
    labels = torch.full(shape, IGNORE_INDEX, dtype=torch.long)
    attention_mask = torch.zeros(shape, dtype=torch.long)
    sequence = {k: torch.zeros(shape, dtype=v.dtype) for k, v in prompts[0].sequence.items()}
    for i, (prompt, response) in enumerate(zip(prompts, responses, strict=True)):
        n, total = len(prompt.ids), lengths[i]
        input_ids[i, :n] = prompt.ids
        input_ids[i, n:total] = response
        attention_mask[i, :total] = 1
        labels[i, n:total] = response
        for key, values in prompt.sequence.items():
            sequence[key][i, :n] = values
    visual = {k: torch.cat([p.visual[k] for p in prompts]) for k in prompts[0].visual}
    batch = {
        "input_ids": input_ids,
        "attention_mask": attention_mask,
        "labels": labels,
        **sequence,
        **visual,
    }
    if pack:
        batch["examples_per_row"] = torch.tensor([len(row) for row in packing])
        batch["token_keys"] = ("input_ids", "labels", *sequence)
    return batch


def pack_batch(batch: dict[str, Any], positions: torch.Tensor, pad_id: int) -> dict[str, Any]:
    """A ``collate(pack=True)`` batch as packed rows: consecutive examples side by side, as many
    per row as ``examples_per_row`` says, each with its own ``positions`` (the padded batch's
    position ids, ``[..., example, token]``, as ``Family.packed_positions`` lays them out). No
    attention mask: the model finds where an example starts from its position ids restarting,
    and keeps attention within it, so the loss and gradients are the padded batch's up to float
    rounding. A row's unused tail is padding, positioned as an example of its own, unlabelled."""
    batch = dict(batch)
    sizes = batch.pop("examples_per_row").tolist()
    lengths = batch.pop("attention_mask").sum(-1).tolist()
    per_token = {k: batch.pop(k) for k in batch.pop("token_keys")}
    starts = [sum(sizes[:r]) for r in range(len(sizes))]
    spans = [range(start, start + k) for start, k in zip(starts, sizes, strict=True)]
    width = max(sum(lengths[i] for i in span) for span in spans)
    fill = {"input_ids": pad_id, "labels": IGNORE_INDEX}
    packed = {k: v.new_full((len(spans), width), fill.get(k, 0)) for k, v in per_token.items()}
    tail = torch.arange(width, device=positions.device)
    packed_positions = tail.expand(*positions.shape[:-2], len(spans), width).clone()
    for r, span in enumerate(spans):
        at = 0
        for i in span:
            n = lengths[i]
            for key, values in per_token.items():
                packed[key][r, at : at + n] = values[i, :n]
            packed_positions[..., r, at : at + n] = positions[..., i, :n]
            at += n
        packed_positions[..., r, at:] = tail[: width - at]
    return {**packed, **batch, "position_ids": packed_positions, "use_cache": False}


def padded_tokens(order: Sequence[int], lengths: Sequence[int], batch_size: int) -> int:
    """Tokens the full batches of ``order`` take once each row is padded to its batch's longest
    (what packing and length grouping save, against ``sum(lengths)``)."""
    full = len(order) - len(order) % batch_size
    batches = [order[i : i + batch_size] for i in range(0, full, batch_size)]
    return sum(batch_size * max(lengths[r] for r in batch) for batch in batches)


def epoch_order(
    n: int, batch_size: int, generator: torch.Generator, lengths: Sequence[int] | None = None
) -> list[int]:
    """One epoch's rows, batch after batch: a seeded permutation of ``range(n)``. With
    ``lengths``, the permutation is cut into groups of ``LENGTH_GROUP_BATCHES`` batches; each
    group is sorted by length (ties keep their drawn order) and cut into batches, which are
    shuffled, so a step's examples are of similar length but the steps' order stays random. A
    partial batch, which the caller drops, can only come last."""
    order = torch.randperm(n, generator=generator).tolist()
    if lengths is None:
        return order
    grouped: list[int] = []
    span = batch_size * LENGTH_GROUP_BATCHES
    for start in range(0, n, span):
        rows = sorted(order[start : start + span], key=lambda r: lengths[r])
        full = len(rows) - len(rows) % batch_size
        batches = [rows[i : i + batch_size] for i in range(0, full, batch_size)]
        for b in torch.randperm(len(batches), generator=generator).tolist():
            grouped += batches[b]
        grouped += rows[full:]
    return grouped


def _to(value: Any, device: torch.device) -> Any:
    return value.to(device) if isinstance(value, torch.Tensor) else value


def _accumulate(
    model: Any,
    enc: Encoder,
    rows: list[int],
    micro: int,
    pad_id: int,
    device: torch.device,
    autocast: Any,
    shard: distributed.Shard = distributed.ALONE,
    pack: bool = False,
) -> float:
    """Backward over ``rows`` in micro-batches of ``micro``; returns the batch's mean token loss.
    With ``pack``, each micro-batch's examples are packed (``pack_batch``) when the family's
    model takes packed rows.

    Each micro-batch's mean loss is weighted by its share of the batch's label tokens, so the
    accumulated gradient is the gradient of the whole batch's mean (the model's loss is a mean
    over the label tokens of what it is given). With several processes each takes every
    ``world``-th row and syncs gradients once, on its last micro-batch; DDP averages them over
    the processes, so each weight is scaled by ``world`` to keep the whole batch's gradient."""
    total = sum(len(enc.response(r)) for r in rows)
    mine = rows[shard.rank :: shard.world]
    chunks = [mine[i : i + micro] for i in range(0, len(mine), micro)]
    value = 0.0
    for i, chunk in enumerate(chunks):
        n_tokens = sum(len(enc.response(r)) for r in chunk)
        batch = {k: _to(v, device) for k, v in collate(enc, chunk, pad_id, pack).items()}
        if pack:
            positions = enc.family.packed_positions(model, batch)
            if positions is None:
                batch.pop("examples_per_row")
                batch.pop("token_keys")
            else:
                batch = pack_batch(batch, positions, pad_id)
        last = i == len(chunks) - 1
        with nullcontext() if shard.world == 1 or last else model.no_sync():
            with autocast:
                loss = model(**batch).loss * (n_tokens / total)
            (loss * shard.world if shard.world > 1 else loss).backward()
        value += loss.item()
    if shard.world > 1:
        summed = torch.tensor(value, dtype=torch.float64, device=device)
        torch.distributed.all_reduce(summed)
        value = summed.item()
    return value


def _targets(targets: tuple[str, ...] | str) -> list[str] | str:
    """peft's target_modules: name suffixes as a list, or one regex string matched whole."""
    return targets if isinstance(targets, str) else list(targets)


def _wrap_lora(model: Any, cfg: TrainConfig, family: families.Family) -> Any:
    from peft import LoraConfig, get_peft_model

    lora = LoraConfig(
        r=cfg.lora_r,
        lora_alpha=cfg.lora_alpha,
        lora_dropout=cfg.lora_dropout,
        target_modules=_targets(cfg.lora_targets or family.lora_targets),
        bias="none",
    )
    return get_peft_model(model, lora)


class Checkpoint:
    """The training state of one stage run, kept in its side folder (``core.partial``) so that a
    killed run resumes from it: ``step-<n>/`` holds the trainable weights (``weights.safetensors``:
    LoRA adapters, or every weight for full training) and ``state.pt`` (optimizer, LR scheduler,
    torch random states, data order and cursor, losses so far). Training draws no numpy or Python
    random numbers, so their states are not kept. Written to a temporary folder, then renamed: a
    kill mid-write leaves the previous checkpoint usable."""

    WEIGHTS = "weights.safetensors"
    STATE = "state.pt"

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @classmethod
    def open(cls, stage: str, key_parts: Any, root: Path = partial.ROOT) -> Checkpoint:
        """The checkpoint of ``stage`` for these key parts; another key's leftovers are removed."""
        return cls(partial.folder(stage, key_parts, root))

    def load(self) -> dict[str, Any] | None:
        """The newest complete checkpoint's state (weights under ``"weights"``), or None."""
        done = sorted(self.folder.glob("step-*[0-9]"))
        if not done:
            return None
        state = torch.load(done[-1] / self.STATE, map_location="cpu", weights_only=True)
        return {**state, "weights": load_file(done[-1] / self.WEIGHTS)}

    def save(self, state: dict[str, Any]) -> None:
        """Keep ``state`` (``"step"``, ``"weights"``: name -> tensor, the rest for ``torch.save``)
        as the newest checkpoint and drop the older ones."""
        final = self.folder / f"step-{state['step']:08d}"
        tmp = final.with_name(final.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        weights = {k: v.detach().cpu().contiguous() for k, v in state["weights"].items()}
        save_file(weights, tmp / self.WEIGHTS)
        torch.save({k: v for k, v in state.items() if k != "weights"}, tmp / self.STATE)
        for name in (self.WEIGHTS, self.STATE):
            with open(tmp / name, "rb") as f:
                os.fsync(f.fileno())
        os.replace(tmp, final)
        for old in self.folder.iterdir():
            if old != final:
                shutil.rmtree(old, ignore_errors=True)

    def close(self) -> None:
        """Delete the folder: call once the stage's outputs are written."""
        shutil.rmtree(self.folder, ignore_errors=True)


def examples_digest(examples: Sequence[tuple[families.Video, str, str]]) -> str:
    """A digest of training examples: each video's frames (and a clip's times) and both texts."""
    digest = hashlib.blake2b(digest_size=16)
    for video, prompt, response in examples:
        frames = np.ascontiguousarray(frames_of(video))
        times = video.metadata() if isinstance(video, Clip) else None
        digest.update(dumps([prompt, response, frames.shape, str(frames.dtype), times]).encode())
        digest.update(frames.data)
    return digest.hexdigest()


def resume_key(
    examples: Sequence[tuple[families.Video, str, str]],
    init: Path,
    cfg: TrainConfig,
    runtime: LoadConfig,
) -> dict[str, Any]:
    """Everything that decides a training run's result, for ``Checkpoint.open``: the examples,
    the bytes of the model it starts from (every folder of its adapter chain), the settings
    (how often it checkpoints aside), how the model is loaded, and the library's code."""
    root, adapters = loading.adapter_chain(init)
    return {
        "examples": examples_digest(examples),
        "model": [loading.fingerprint(folder) for folder in (root, *adapters)],
        "settings": {**asdict(cfg), "checkpoint_every": None},
        "runtime": asdict(runtime),
        "code": partial.code_fingerprint(),
    }


def _check_data_parallel(accelerator: Any) -> None:
    """Refuse sharded training: the loop keeps the parameters it made before ``prepare`` and
    saves the unwrapped module, which FSDP's flat shards and DeepSpeed's engine replace."""
    from accelerate.utils import DistributedType

    kind = accelerator.distributed_type
    if kind in (DistributedType.FSDP, DistributedType.DEEPSPEED):
        raise NotImplementedError(
            f"training under {kind.value} is not supported yet; use DDP (an accelerate config "
            "without FSDP or DeepSpeed), with LoRA and gradient checkpointing for 7B models"
        )


def train(
    model: Any,
    processor: Any,
    examples: Sequence[tuple[families.Video, str, str]],
    cfg: TrainConfig,
    *,
    steps: int | None = None,
    progress: bool = False,
    log: Callable[[int, dict[str, float]], None] | None = None,
    checkpoint: Checkpoint | None = None,
    shard: distributed.Shard = distributed.ALONE,
) -> dict[str, Any]:
    """Fine-tune in place on (video, user prompt, assistant response) examples.

    For ``method="lora"`` adapters are injected into ``model`` and the peft wrapper is returned
    under ``"model"``: pass that to ``save``. For ``"full"`` it is ``model`` itself. Batches are
    drawn from a seeded permutation, reshuffled each epoch (``epoch_order``; with
    ``cfg.group_by_length``, of examples of similar length); the last partial batch of an epoch
    is dropped so every step sees ``batch_size`` examples.
    Returns ``{"model", "steps", "loss_first", "loss_last", "losses"}`` (losses rounded to 4
    decimals). ``log(step, record)`` gets each step's exact loss, learning rate, gradient norm
    (before clipping) and examples seen so far (a resumed run replays the steps it kept).
    With ``checkpoint``, training starts from its newest state, if any, and keeps the state there
    every ``cfg.checkpoint_every`` steps; the result equals an uninterrupted run's.
    With several processes (``shard``, under a launcher) the model and optimizer go through
    accelerate (DDP) and each process takes its share of every batch; only the first saves
    checkpoints.
    """
    from tqdm.auto import tqdm

    if not examples:
        raise ValueError("train() needs at least one example")
    family = families.for_model(model)
    total = steps if steps is not None else steps_for(len(examples), cfg)
    seed_torch(cfg.seed)
    if cfg.method == "lora":
        # An already wrapped model (a previous train() result) keeps training its own adapters.
        if not is_peft(model):
            model = _wrap_lora(model, cfg, family)
    else:
        for p in model.parameters():
            p.requires_grad_(True)
    if cfg.gradient_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    device = next(model.parameters()).device
    model.train()

    enc = Encoder(processor, examples, family)
    pad_id = processor.tokenizer.pad_token_id

    params = [p for p in model.parameters() if p.requires_grad]
    trainable = {name: p for name, p in model.named_parameters() if p.requires_grad}
    # No weight decay on norms and biases, as usual for transformers.
    decay = [p for p in params if p.ndim >= 2]
    no_decay = [p for p in params if p.ndim < 2]
    optimizer = torch.optim.AdamW(
        [
            {"params": decay, "weight_decay": cfg.weight_decay},
            {"params": no_decay, "weight_decay": 0.0},
        ],
        lr=cfg.lr,
        betas=cfg.betas,
    )
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: lr_at(s, total, cfg))
    generator = torch.Generator().manual_seed(cfg.seed)
    autocast = torch.autocast("cuda", dtype=torch.bfloat16, enabled=device.type == "cuda")

    n = len(examples)
    batch_size = min(cfg.batch_size, n)
    accelerator = None
    if shard.world > 1:
        if batch_size < shard.world:
            raise ValueError(f"a batch of {batch_size} cannot be shared by {shard.world} processes")
        from accelerate import Accelerator

        print(f"train: process {shard.rank + 1} of {shard.world}, {batch_size} examples a step")
        accelerator = Accelerator(cpu=device.type == "cpu")
        _check_data_parallel(accelerator)
        model, optimizer = accelerator.prepare(model, optimizer)
    clip = accelerator.clip_grad_norm_ if accelerator else torch.nn.utils.clip_grad_norm_
    micro = min(cfg.micro_batch_size or batch_size, batch_size)
    lengths = enc.text_lengths() if cfg.group_by_length else None
    order = epoch_order(n, batch_size, generator, lengths)
    cursor = 0
    losses: list[float] = []
    curve: list[dict[str, float]] = []  # per step: what ``log`` gets, kept for a resumed run
    start = 0
    state = checkpoint.load() if checkpoint is not None else None
    if state is not None:
        if state["total"] != total:
            raise ValueError(f"{checkpoint.folder}: a run of {state['total']} steps, not {total}")
        with torch.no_grad():
            for name, p in trainable.items():
                p.copy_(state["weights"][name])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        generator.set_state(state["data_rng"])
        torch.set_rng_state(state["torch_rng"])
        if state["cuda_rng"]:
            torch.cuda.set_rng_state_all(state["cuda_rng"])
        start, order, cursor = state["step"], state["order"], state["cursor"]
        losses, curve = state["losses"], state["curve"]
        print(f"train: resuming from step {start} of {total} ({checkpoint.folder})")
        for done_step, record in enumerate(curve if log is not None else []):
            log(done_step, record)
    bar = tqdm(total=total, initial=start, disable=not progress, desc=f"train ({cfg.method})")
    for step in range(start, total):
        if cursor + batch_size > n:
            order = epoch_order(n, batch_size, generator, lengths)
            cursor = 0
        rows = order[cursor : cursor + batch_size]
        cursor += batch_size
        value = _accumulate(
            model, enc, rows, micro, pad_id, device, autocast, shard, cfg.pack_sequences
        )
        norm = clip(params, cfg.grad_clip)
        lr = optimizer.param_groups[0]["lr"]
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        losses.append(round(value, 4))
        record = {"loss": value, "lr": lr, "grad_norm": float(norm),
                  "examples": (step + 1) * batch_size}  # fmt: skip
        curve.append(record)
        if log is not None:
            log(step, record)
        bar.update(1)
        bar.set_postfix(loss=f"{value:.3f}", refresh=False)
        every = cfg.checkpoint_every
        due = every and (step + 1) % every == 0 and step + 1 < total
        if checkpoint is not None and due and shard.main:
            checkpoint.save({
                "step": step + 1, "total": total, "weights": trainable,
                "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                "data_rng": generator.get_state(), "order": order, "cursor": cursor,
                "losses": losses, "curve": curve, "torch_rng": torch.get_rng_state(),
                "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
            })  # fmt: skip
    bar.close()
    if accelerator is not None:
        model = accelerator.unwrap_model(model)
    model.eval()
    return {
        "model": model,
        "steps": total,
        "loss_first": losses[0],
        "loss_last": losses[-1],
        "losses": losses,
    }
