"""Generation: answers to (video, text) items with a video LMM, and text-only chat with a causal LM.

    texts = generation.generate(model, processor, [(clip, "What colour is the ball?")], cfg, seed=0)
    texts = generation.generate_text("models/qgen", ["Ask about a red ball."], cfg, seed=0)

A video is a ``Clip`` (``video.clips.read_clip``: the frames and their times) or a bare
``(T, H, W, 3)`` uint8 array, holding exactly the frames to show the model: the video processor
is told never to re-sample them (``do_sample_frames=False``).

The decoding policy is ``SamplingConfig`` alone: a checkpoint's ``generation_config.json``
(repetition_penalty, do_sample, top_k, max_length, ...) never applies. Only its stop and pad token
ids are kept (Qwen2-VL-Instruct stops on several ids), falling back to the tokenizer's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch

from videostar.core import seeding
from videostar.lmm import families
from videostar.lmm.config import SamplingConfig
from videostar.lmm.loading import is_peft, resolve_device, resolve_dtype, seed_torch


def generation_config(cfg: SamplingConfig, model: Any, tokenizer: Any) -> Any:
    """The complete ``transformers.GenerationConfig`` for ``cfg``: greedy (no sampling fields)
    when temperature <= 0, else sampling with temperature/top_p/top_k; stop/pad ids from the
    checkpoint, else the tokenizer."""
    from transformers import GenerationConfig

    own = model.generation_config
    eos = own.eos_token_id if own.eos_token_id is not None else tokenizer.eos_token_id
    pad = own.pad_token_id
    if pad is None:
        pad = (
            tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
        )
    sampling: dict[str, Any] = {"do_sample": False}
    if cfg.temperature > 0:
        sampling = {
            "do_sample": True,
            "temperature": cfg.temperature,
            "top_p": cfg.top_p,
            "top_k": cfg.top_k,
        }
    return GenerationConfig(
        **sampling,
        repetition_penalty=cfg.repetition_penalty,
        max_new_tokens=cfg.max_new_tokens,
        num_beams=1,
        eos_token_id=eos,
        pad_token_id=pad,
    )


@contextmanager
def _only(model: Any, config: Any) -> Iterator[None]:
    # transformers (5.24, GenerationMixin._prepare_generation_config) fills every field the passed
    # config leaves None from model.generation_config, i.e. the checkpoint's decoding policy
    # (repetition_penalty, min_new_tokens, suppress_tokens, ...). With the passed config in its
    # place, that fill-in is a no-op and only transformers' global defaults complete it.
    # A peft wrapper generates through the transformers model it wraps.
    target = model.get_base_model() if is_peft(model) else model
    checkpoint = target.generation_config
    target.generation_config = config
    try:
        yield
    finally:
        target.generation_config = checkpoint


def _generate_batch(
    model: Any, tokenizer: Any, inputs: Any, config: Any, seed: int, batch_index: int
) -> list[str]:
    """The stripped new texts of one batch, seeded independently of the batches before it."""
    seed_torch(seeding.derive(seed, "batch", batch_index))
    with _only(model, config):
        generated = model.generate(**inputs, generation_config=config)
    new_tokens = generated[:, inputs["input_ids"].shape[1] :]
    return [t.strip() for t in tokenizer.batch_decode(new_tokens, skip_special_tokens=True)]


def length_order(texts: Sequence[str]) -> list[int]:
    """Indices of ``texts``, shortest first (ties in input order). Batches of prompts of similar
    length pad less: every padded position costs attention in each layer for each new token."""
    return sorted(range(len(texts)), key=lambda i: (len(texts[i]), i))


def generate(
    model: Any,
    processor: Any,
    items: Sequence[tuple[families.Video, str]],
    cfg: SamplingConfig,
    seed: int,
    progress: bool = False,
    done: Mapping[int, list[str]] | None = None,
    on_batch: Callable[[int, list[str]], None] | None = None,
    owns: Callable[[int], bool] | None = None,
) -> list[str]:
    """Answer each (video, user text) item; returns the assistant texts in input order.

    Batches of ``cfg.batch_size`` are left-padded. Batch ``i`` is seeded from
    ``seeding.derive(seed, "batch", i)``, so outputs do not depend on what ran before; greedy
    outputs do not depend on batching at all (up to float rounding of padded positions). That
    makes resuming exact: ``done`` holds batches finished before (their texts are reused, not
    recomputed), and ``on_batch(i, texts)`` is called as each new batch finishes. ``owns``: the
    batches this process computes when several share the items (the others are left out of
    the result; every process's ``on_batch`` collects them).
    """
    from tqdm.auto import tqdm

    family = families.for_model(model)
    tokenizer = processor.tokenizer
    config = generation_config(cfg, model, tokenizer)
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    outputs: list[str] = []
    starts = range(0, len(items), cfg.batch_size)
    mine = [(b, start) for b, start in enumerate(starts) if owns is None or owns(b)]
    bar = tqdm(
        total=sum(min(cfg.batch_size, len(items) - start) for _, start in mine),
        disable=not progress,
        desc="generate",
    )
    with torch.inference_mode():
        for batch_index, start in mine:
            if done and batch_index in done:
                outputs.extend(done[batch_index])
                bar.update(len(done[batch_index]))
                continue
            batch = items[start : start + cfg.batch_size]
            texts, videos = [text for _, text in batch], [video for video, _ in batch]
            inputs = family.inputs(processor, texts, videos, padding_side="left").to(device)
            new = _generate_batch(model, tokenizer, inputs, config, seed, batch_index)
            if on_batch is not None:
                on_batch(batch_index, new)
            outputs.extend(new)
            bar.update(len(batch))
    bar.close()
    model.train(was_training)
    return outputs


def generate_text(
    model_dir: Path | str,
    prompts: list[str],
    cfg: SamplingConfig,
    seed: int,
    trust_remote_code: bool = False,
) -> list[str]:
    """Text-only chat generation with a local causal LM (question generation); input order kept."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    device = resolve_device()
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir), trust_remote_code=trust_remote_code)
    model = AutoModelForCausalLM.from_pretrained(
        str(model_dir),
        trust_remote_code=trust_remote_code,
        use_safetensors=True,
        dtype=resolve_dtype(device),
    ).to(device)
    model.eval()
    config = generation_config(cfg, model, tokenizer)
    outputs: list[str] = []
    with torch.inference_mode():
        for batch_index, start in enumerate(range(0, len(prompts), cfg.batch_size)):
            texts = [
                tokenizer.apply_chat_template(
                    [{"role": "user", "content": p}], tokenize=False, add_generation_prompt=True
                )
                for p in prompts[start : start + cfg.batch_size]
            ]
            inputs = tokenizer(
                texts,
                padding=True,
                padding_side="left",
                add_special_tokens=False,
                return_tensors="pt",
            ).to(device)
            outputs.extend(_generate_batch(model, tokenizer, inputs, config, seed, batch_index))
    return outputs
