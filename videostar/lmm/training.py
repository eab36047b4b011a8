"""Fine-tuning a video LMM on (frames, user prompt, assistant response) examples.

    model, processor = loading.load("models/base", for_training=True)
    stats = training.train(model, processor, examples, train_cfg)
    loading.save(stats["model"], processor, Path("models/cycle_1"), base_dir=Path("models/base"))

Full training or peft LoRA; AdamW with linear warmup then cosine decay; labels only on the
response. What depends on the model family (video preprocessing, extra inputs, LoRA targets)
comes from ``families``.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from videostar.lmm import families
from videostar.lmm.config import TrainConfig
from videostar.lmm.loading import is_peft, seed_torch

# Padded label positions and prompt positions are ignored by the loss.
IGNORE_INDEX = -100


def steps_for(n_examples: int, cfg: TrainConfig) -> int:
    """clamp(ceil(epochs * n / batch_size), min_steps, max_steps)."""
    steps = math.ceil(cfg.epochs * n_examples / cfg.batch_size)
    return max(cfg.min_steps, min(cfg.max_steps, steps))


def lr_at(step: int, total: int, cfg: TrainConfig) -> float:
    """Learning-rate multiplier: linear warmup over warmup_steps, then cosine to min_lr_ratio."""
    if step < cfg.warmup_steps:
        return (step + 1) / cfg.warmup_steps
    span = max(1, total - cfg.warmup_steps)
    progress = min(1.0, (step - cfg.warmup_steps) / span)
    return cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))


@dataclass
class Encoded:
    """Everything a training batch needs, computed once per dataset."""

    family: families.Family
    input_ids: list[torch.Tensor]  # prompt + response + eos, one 1-D tensor per example
    prompt_lens: list[int]
    video_index: list[int]  # example -> index into clips
    clips: list[dict[str, torch.Tensor]]  # per distinct video: the family's per-clip tensors


def _frames_key(frames: np.ndarray) -> bytes:
    return hashlib.blake2b(
        repr((frames.shape, frames.dtype.str)).encode() + frames.tobytes(), digest_size=16
    ).digest()


def encode_examples(
    processor: Any,
    examples: Sequence[tuple[np.ndarray, str, str]],
    family: families.Family,
    *,
    chunk: int = 256,
) -> Encoded:
    """Tokenize and preprocess training examples once.

    Each distinct frames array is preprocessed once (clips repeat across the examples of one
    clip), ``chunk`` clips per processor call; its patches stay in memory as fp32 (8 frames at
    32 px: 96 KiB a clip). Prompt and response are tokenized separately — the prompt exactly as
    ``generate`` tokenizes it, the response as the model should emit it — so training and
    inference see the same token boundaries.
    """
    tokenizer = processor.tokenizer
    keys: dict[bytes, int] = {}
    distinct: list[np.ndarray] = []
    video_index = []
    for frames, _, _ in examples:
        arr = np.ascontiguousarray(frames)
        key = _frames_key(arr)
        if key not in keys:
            keys[key] = len(distinct)
            distinct.append(arr)
        video_index.append(keys[key])

    clips: list[dict[str, torch.Tensor]] = []
    for start in range(0, len(distinct), chunk):
        clips.extend(family.encode_videos(processor, distinct[start : start + chunk]))

    video_token = processor.video_token
    prompts = []
    for (_, text, _), vi in zip(examples, video_index, strict=True):
        n_tokens = family.video_tokens(processor, clips[vi])
        prompts.append(family.prompt(processor, text).replace(video_token, video_token * n_tokens))
    responses = [response + tokenizer.eos_token for _, _, response in examples]
    prompt_ids = tokenizer(prompts, add_special_tokens=False)["input_ids"]
    response_ids = tokenizer(responses, add_special_tokens=False)["input_ids"]
    return Encoded(
        family=family,
        input_ids=[torch.tensor(p + r) for p, r in zip(prompt_ids, response_ids, strict=True)],
        prompt_lens=[len(p) for p in prompt_ids],
        video_index=video_index,
        clips=clips,
    )


def collate(enc: Encoded, rows: Sequence[int], pad_id: int, video_id: int) -> dict[str, Any]:
    """Right-padded batch with labels only on response tokens (+ the closing eos)."""
    length = max(len(enc.input_ids[r]) for r in rows)
    input_ids = torch.full((len(rows), length), pad_id, dtype=torch.long)
    labels = torch.full((len(rows), length), IGNORE_INDEX, dtype=torch.long)
    attention_mask = torch.zeros((len(rows), length), dtype=torch.long)
    for i, r in enumerate(rows):
        ids = enc.input_ids[r]
        input_ids[i, : len(ids)] = ids
        attention_mask[i, : len(ids)] = 1
        labels[i, enc.prompt_lens[r] : len(ids)] = ids[enc.prompt_lens[r] :]
    clips = [enc.clips[enc.video_index[r]] for r in rows]
    return {
        "input_ids": input_ids,
        "attention_mask": attention_mask,
        "labels": labels,
        **enc.family.batch_inputs(input_ids, video_id, clips),
    }


def _wrap_lora(model: Any, cfg: TrainConfig, family: families.Family) -> Any:
    from peft import LoraConfig, get_peft_model

    lora = LoraConfig(
        r=cfg.lora_r,
        lora_alpha=cfg.lora_alpha,
        lora_dropout=cfg.lora_dropout,
        target_modules=list(cfg.lora_targets or family.lora_targets),
        bias="none",
    )
    return get_peft_model(model, lora)


def train(
    model: Any,
    processor: Any,
    examples: Sequence[tuple[np.ndarray, str, str]],
    cfg: TrainConfig,
    *,
    steps: int | None = None,
    progress: bool = False,
    log: Callable[[int, float], None] | None = None,
) -> dict[str, Any]:
    """Fine-tune in place on (frames, user prompt, assistant response) examples.

    For ``method="lora"`` adapters are injected into ``model`` and the peft wrapper is returned
    under ``"model"``: pass that to ``save``. For ``"full"`` it is ``model`` itself. Batches are
    drawn from a seeded permutation, reshuffled each epoch; the last partial batch of an epoch is
    dropped so every step sees ``batch_size`` examples.
    Returns ``{"model", "steps", "loss_first", "loss_last", "losses"}`` (losses rounded to 4
    decimals; ``log`` gets each step's exact value).
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
    device = next(model.parameters()).device
    model.train()

    enc = encode_examples(processor, examples, family)
    tokenizer = processor.tokenizer
    pad_id = tokenizer.pad_token_id
    video_id = tokenizer.convert_tokens_to_ids(processor.video_token)

    params = [p for p in model.parameters() if p.requires_grad]
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
    order = torch.randperm(n, generator=generator).tolist()
    cursor = 0
    losses: list[float] = []
    bar = tqdm(total=total, disable=not progress, desc=f"train ({cfg.method})")
    for step in range(total):
        if cursor + batch_size > n:
            order = torch.randperm(n, generator=generator).tolist()
            cursor = 0
        rows = order[cursor : cursor + batch_size]
        cursor += batch_size
        batch = {k: v.to(device) for k, v in collate(enc, rows, pad_id, video_id).items()}
        with autocast:
            loss = model(**batch).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        value = loss.item()
        losses.append(round(value, 4))
        if log is not None:
            log(step, value)
        bar.update(1)
        bar.set_postfix(loss=f"{value:.3f}", refresh=False)
    bar.close()
    model.eval()
    return {
        "model": model,
        "steps": total,
        "loss_first": losses[0],
        "loss_last": losses[-1],
        "losses": losses,
    }
