"""Fine-tuning a video LMM on (frames, user prompt, assistant response) examples.

    model, processor = loading.load("models/base", for_training=True)
    stats = training.train(model, processor, examples, train_cfg)
    loading.save(stats["model"], processor, Path("models/cycle_1"), base_dir=Path("models/base"))

Full training or peft LoRA; AdamW with linear warmup then cosine decay; labels only on the
response. What depends on the model family (video preprocessing, extra inputs, LoRA targets)
comes from ``families``.
"""

from __future__ import annotations

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
    """Everything a training batch needs, computed once per dataset: each example's prompt as
    its family encodes it for ``generate``, and its response's token ids."""

    prompts: list[families.EncodedPrompt]
    responses: list[torch.Tensor]

    @property
    def prompt_lens(self) -> list[int]:
        return [len(p.ids) for p in self.prompts]


def encode_examples(
    processor: Any,
    examples: Sequence[tuple[np.ndarray, str, str]],
    family: families.Family,
) -> Encoded:
    """Tokenize and preprocess training examples once.

    Prompt and response are tokenized separately — the prompt exactly as ``generate`` encodes it
    (``family.encode``), the response as the model should emit it (``family.response``) — so
    training and inference see the same token boundaries.
    """
    prompts = family.encode(processor, [(frames, text) for frames, text, _ in examples])
    responses = [family.response(processor, response) for _, _, response in examples]
    response_ids = processor.tokenizer(responses, add_special_tokens=False)["input_ids"]
    return Encoded(prompts=prompts, responses=[torch.tensor(r) for r in response_ids])


def collate(enc: Encoded, rows: Sequence[int], pad_id: int) -> dict[str, Any]:
    """Right-padded batch with labels only on response tokens (+ the closing end-of-turn token):
    -100 on every prompt, video and padding position."""
    prompts = [enc.prompts[r] for r in rows]
    lengths = [len(p.ids) + len(enc.responses[r]) for p, r in zip(prompts, rows, strict=True)]
    shape = (len(rows), max(lengths))
    input_ids = torch.full(shape, pad_id, dtype=torch.long)
    labels = torch.full(shape, IGNORE_INDEX, dtype=torch.long)
    attention_mask = torch.zeros(shape, dtype=torch.long)
    sequence = {k: torch.zeros(shape, dtype=v.dtype) for k, v in prompts[0].sequence.items()}
    for i, (prompt, r) in enumerate(zip(prompts, rows, strict=True)):
        n, total = len(prompt.ids), lengths[i]
        input_ids[i, :n] = prompt.ids
        input_ids[i, n:total] = enc.responses[r]
        attention_mask[i, :total] = 1
        labels[i, n:total] = enc.responses[r]
        for key, values in prompt.sequence.items():
            sequence[key][i, :n] = values
    visual = {k: torch.cat([p.visual[k] for p in prompts]) for k in prompts[0].visual}
    return {
        "input_ids": input_ids,
        "attention_mask": attention_mask,
        "labels": labels,
        **sequence,
        **visual,
    }


def _accumulate(
    model: Any,
    enc: Encoded,
    rows: list[int],
    micro: int,
    pad_id: int,
    device: torch.device,
    autocast: Any,
) -> float:
    """Backward over ``rows`` in micro-batches of ``micro``; returns the batch's mean token loss.

    Each micro-batch's mean loss is weighted by its share of the batch's label tokens, so the
    accumulated gradient is the gradient of the whole batch's mean (the model's loss is a mean
    over the label tokens of what it is given)."""
    chunks = [rows[i : i + micro] for i in range(0, len(rows), micro)]
    tokens = [sum(len(enc.responses[r]) for r in chunk) for chunk in chunks]
    total = sum(tokens)
    value = 0.0
    for chunk, n_tokens in zip(chunks, tokens, strict=True):
        batch = {k: v.to(device) for k, v in collate(enc, chunk, pad_id).items()}
        with autocast:
            loss = model(**batch).loss * (n_tokens / total)
        loss.backward()
        value += loss.item()
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
    if cfg.gradient_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    device = next(model.parameters()).device
    model.train()

    enc = encode_examples(processor, examples, family)
    pad_id = processor.tokenizer.pad_token_id

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
    micro = min(cfg.micro_batch_size or batch_size, batch_size)
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
        value = _accumulate(model, enc, rows, micro, pad_id, device, autocast)
        torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
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
