"""The video LMM: build a tiny offline Qwen2-VL, load any HF video LMM, generate, fine-tune, save.

This is the only module that touches transformers and peft; every stage goes through it.

    from videostar.lmm import TinyConfig, SamplingConfig, TrainConfig, build_tiny, load, generate, train, save

    build_tiny(TinyConfig(), corpus_texts, Path("models/base"))      # random weights, BPE tokenizer
    model, processor = load("models/base")                           # or a folder with identity.json
    texts = generate(model, processor, [(frames, "What colour is the ball?")], SamplingConfig(), seed=0)
    model, processor = load("models/base", for_training=True)
    stats = train(model, processor, [(frames, prompt, response)], TrainConfig(method="lora"))
    save(stats["model"], processor, Path("models/cycle_1"), base_dir=Path("models/base"))

Frames are ``(T, H, W, 3)`` uint8 arrays holding exactly the frames to show the model: the video
processor is told never to re-sample them (``do_sample_frames=False``).

Model folders ``load`` understands:

- a ``save_pretrained`` folder (``build_tiny`` / ``save`` of a full model);
- a folder with ``identity.json`` ``{"name_or_path": ..., "revision": ...}`` naming a pretrained HF
  video LMM (local folder or hub id), loaded by the same AutoProcessor/AutoModelForImageTextToText path;
- a peft LoRA adapter folder with ``base.json`` ``{"base": <base folder relative to the repo root>}``:
  the base is loaded, then the adapter, merged for inference.

Hardware never comes from params: the device is ``$VIDEOSTAR_DEVICE`` (default ``cuda`` when available,
else ``cpu``). Benchmarks: ``python benchmarks/bench_model.py``.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

SPECIAL_TOKENS = (
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|image_pad|>",
    "<|video_pad|>",
)

# Qwen2-VL's template minus the default system prompt, which would only lengthen every sequence of a
# tiny model. Text-only messages (the question-generation LLM) go through the same template.
CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for content in message['content'] %}"
    "{% if content['type'] == 'video' %}<|vision_start|><|video_pad|><|vision_end|>"
    "{% elif content['type'] == 'image' %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif content['type'] == 'text' %}{{ content['text'] }}{% endif %}"
    "{% endfor %}{% endif %}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

IDENTITY_FILE = "identity.json"
BASE_FILE = "base.json"
ADAPTER_CONFIG = "adapter_config.json"

# Padded label positions and prompt positions are ignored by the loss.
IGNORE_INDEX = -100


@dataclass(frozen=True)
class TinyConfig:
    """The tiny Qwen2-VL built from scratch (platform.md, "a recipe that worked").

    vocab_size: BPE vocabulary including the 7 Qwen special tokens.
    hidden_size, layers, heads, kv_heads, intermediate_size: the text decoder.
    vision_embed, vision_depth, vision_heads: the ViT; its merger projects to ``hidden_size``.
    patch_size, temporal_patch_size, spatial_merge_size: a 32 px frame gives (32/8)^2 = 16 patches;
        2 frames share one temporal patch (so each patch sees motion); 2x2 patches merge into one
        token, so 8 frames at 32 px cost 4 * 16 / 4 = 16 video tokens.
    frame_size: the processor resizes every frame to this many pixels squared (exact for square input).
    seed: seeds the random weights.
    """

    vocab_size: int = 512
    hidden_size: int = 128
    layers: int = 2
    heads: int = 4
    kv_heads: int = 2
    intermediate_size: int = 256
    vision_embed: int = 64
    vision_depth: int = 2
    vision_heads: int = 4
    patch_size: int = 8
    temporal_patch_size: int = 2
    spatial_merge_size: int = 2
    frame_size: int = 32
    seed: int = 0


@dataclass(frozen=True)
class SamplingConfig:
    """Decoding settings. temperature 0 means greedy; top_p applies only when sampling."""

    temperature: float = 0.2
    top_p: float = 1.0
    max_new_tokens: int = 48
    batch_size: int = 32


@dataclass(frozen=True)
class TrainConfig:
    """Fine-tuning settings.

    method: "full" trains every parameter; "lora" trains peft LoRA adapters on ``lora_targets`` only.
        Qwen2-VL's vision blocks name their projections ``qkv``/``proj``, so the default targets
        adapt the text decoder and leave the vision tower frozen.
    lr, weight_decay, betas: AdamW.
    warmup_steps, min_lr_ratio: linear warmup, then cosine decay to ``lr * min_lr_ratio``.
    grad_clip: max global gradient norm.
    batch_size, epochs, min_steps, max_steps: steps = clamp(ceil(epochs * n / batch_size),
        min_steps, max_steps) — a tiny kept set still gets enough steps, a big one a bounded budget.
    lora_r, lora_alpha, lora_dropout, lora_targets: peft LoraConfig.
    seed: shuffling, dropout and LoRA initialisation.
    """

    method: str = "full"
    lr: float = 5e-4
    weight_decay: float = 0.01
    betas: tuple[float, float] = (0.9, 0.98)
    warmup_steps: int = 30
    min_lr_ratio: float = 0.1
    grad_clip: float = 1.0
    batch_size: int = 16
    epochs: float = 3.0
    min_steps: int = 150
    max_steps: int = 800
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.0
    lora_targets: tuple[str, ...] = ("q_proj", "k_proj", "v_proj", "o_proj")
    seed: int = 0

    def __post_init__(self) -> None:
        if self.method not in ("full", "lora"):
            raise ValueError(f"TrainConfig.method must be 'full' or 'lora', got {self.method!r}")


# --------------------------------------------------------------------------------------------
# Hardware


def resolve_device() -> torch.device:
    """``$VIDEOSTAR_DEVICE`` if set, else cuda when available, else cpu."""
    name = os.environ.get("VIDEOSTAR_DEVICE") or ("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def resolve_dtype(device: torch.device, *, for_training: bool = False) -> torch.dtype:
    """bf16 for inference on a GPU that supports it; fp32 otherwise.

    Training keeps fp32 master weights (AdamW on bf16 weights loses small updates) and uses autocast.
    """
    if device.type == "cuda" and not for_training and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return torch.float32


def _seed_everything(seed: int) -> None:
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)


def _derive_seed(*parts: int) -> int:
    # Stable across processes, unlike hash(); keeps a batch's samples independent of earlier batches.
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") & 0x7FFF_FFFF_FFFF_FFFF


# --------------------------------------------------------------------------------------------
# Building tiny models


def _train_tokenizer(texts: Iterable[str], vocab_size: int) -> Any:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator(list(texts), trainer=trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=bpe,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        chat_template=CHAT_TEMPLATE,
        model_max_length=4096,
    )


def build_tiny(cfg: TinyConfig, texts: Iterable[str], out_dir: Path) -> None:
    """Write a randomly initialised tiny Qwen2-VL + its processor to ``out_dir``.

    The tokenizer is a byte-level BPE trained on ``texts``. Same cfg and texts -> byte-identical files.
    """
    from transformers import (
        Qwen2VLConfig,
        Qwen2VLForConditionalGeneration,
        Qwen2VLImageProcessorPil,
        Qwen2VLProcessor,
        Qwen2VLVideoProcessor,
    )

    head_dim = cfg.hidden_size // cfg.heads
    if head_dim % 2:
        raise ValueError(f"head_dim {head_dim} must be even for rotary embeddings")
    # Qwen2-VL splits the rotary half-dimension 1:1.5:1.5 between time, height and width.
    half = head_dim // 2
    t_dims = half // 4
    h_dims = (half - t_dims) // 2
    mrope_section = [t_dims, h_dims, half - t_dims - h_dims]

    tokenizer = _train_tokenizer(texts, cfg.vocab_size)
    ids = {tok: tokenizer.convert_tokens_to_ids(tok) for tok in SPECIAL_TOKENS}
    # Exactly frame_size^2 pixels: smart_resize then maps a square frame to frame_size x frame_size.
    pixels = cfg.frame_size * cfg.frame_size
    factor = cfg.patch_size * cfg.spatial_merge_size
    if cfg.frame_size % factor:
        raise ValueError(
            f"frame_size {cfg.frame_size} must be a multiple of patch*merge = {factor}"
        )
    common = {
        "size": {"shortest_edge": pixels, "longest_edge": pixels},
        "patch_size": cfg.patch_size,
        "temporal_patch_size": cfg.temporal_patch_size,
        "merge_size": cfg.spatial_merge_size,
    }
    processor = Qwen2VLProcessor(
        image_processor=Qwen2VLImageProcessorPil(**common),
        video_processor=Qwen2VLVideoProcessor(
            **common, do_sample_frames=False, cap_pixels_per_frame=False
        ),
        tokenizer=tokenizer,
        chat_template=CHAT_TEMPLATE,
    )

    config = Qwen2VLConfig(
        text_config={
            "vocab_size": len(tokenizer),
            "hidden_size": cfg.hidden_size,
            "intermediate_size": cfg.intermediate_size,
            "num_hidden_layers": cfg.layers,
            "num_attention_heads": cfg.heads,
            "num_key_value_heads": cfg.kv_heads,
            "max_position_embeddings": 4096,
            "rope_parameters": {
                "rope_type": "default",
                "rope_theta": 10000.0,
                "mrope_section": mrope_section,
            },
            "bos_token_id": ids["<|endoftext|>"],
            "eos_token_id": ids["<|im_end|>"],
            "pad_token_id": ids["<|endoftext|>"],
        },
        vision_config={
            "depth": cfg.vision_depth,
            "embed_dim": cfg.vision_embed,
            "hidden_size": cfg.hidden_size,
            "num_heads": cfg.vision_heads,
            "patch_size": cfg.patch_size,
            "temporal_patch_size": cfg.temporal_patch_size,
            "spatial_merge_size": cfg.spatial_merge_size,
        },
        image_token_id=ids["<|image_pad|>"],
        video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"],
        vision_end_token_id=ids["<|vision_end|>"],
    )
    _seed_everything(cfg.seed)
    model = Qwen2VLForConditionalGeneration(config)
    model.generation_config.eos_token_id = ids["<|im_end|>"]
    model.generation_config.pad_token_id = ids["<|endoftext|>"]
    model.generation_config.bos_token_id = ids["<|endoftext|>"]

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out_dir)
    processor.save_pretrained(out_dir)


def build_tiny_text_lm(out_dir: Path, texts: Iterable[str], *, seed: int = 0) -> None:
    """Write a randomly initialised tiny Qwen2 causal LM + BPE tokenizer (for tests of generate_text)."""
    from transformers import Qwen2Config, Qwen2ForCausalLM

    tokenizer = _train_tokenizer(texts, 512)
    config = Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=2048,
        bos_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    _seed_everything(seed)
    model = Qwen2ForCausalLM(config)
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)


# --------------------------------------------------------------------------------------------
# Loading and saving


def _read_json(path: Path) -> dict[str, Any]:
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def _write_json(path: Path, data: dict[str, Any]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2, sort_keys=True)
        f.write("\n")


def load(
    path: Path | str, *, trust_remote_code: bool = False, for_training: bool = False
) -> tuple[Any, Any]:
    """Load (model, processor) from a saved folder, an ``identity.json`` folder or a LoRA folder.

    ``for_training`` keeps fp32 weights and train mode; otherwise eval mode in the device's
    inference dtype. A LoRA adapter is always merged into its base.
    """
    from transformers import AutoModelForImageTextToText, AutoProcessor

    path = Path(path)
    if (path / BASE_FILE).exists():
        from peft import PeftModel

        base = _read_json(path / BASE_FILE)["base"]
        model, processor = load(
            base, trust_remote_code=trust_remote_code, for_training=for_training
        )
        model = PeftModel.from_pretrained(model, str(path)).merge_and_unload()
        model.train(for_training)
        return model, processor

    source: str = str(path)
    revision: str | None = None
    if (path / IDENTITY_FILE).exists():
        identity = _read_json(path / IDENTITY_FILE)
        source, revision = identity["name_or_path"], identity.get("revision")
        # The user opted in through params.yaml (model.trust_remote_code), recorded by `base`.
        trust_remote_code = trust_remote_code or identity.get("trust_remote_code") is True

    device = resolve_device()
    processor = AutoProcessor.from_pretrained(
        source, revision=revision, trust_remote_code=trust_remote_code
    )
    model = AutoModelForImageTextToText.from_pretrained(
        source,
        revision=revision,
        trust_remote_code=trust_remote_code,
        use_safetensors=True,
        dtype=resolve_dtype(device, for_training=for_training),
    ).to(device)
    model.train(for_training)
    return model, processor


def save(model: Any, processor: Any, out_dir: Path, *, base_dir: Path | None = None) -> None:
    """Save a full model (+ processor) or, for a peft model, the adapter + ``base.json``.

    ``base_dir`` is the base model folder a LoRA adapter applies to, stored relative to the current
    working directory (the repo root) so the pipeline stays relocatable.
    """
    if not _is_peft(model) and hasattr(model, "peft_config"):
        # train(method="lora") injects adapters into the model it was given but returns the peft
        # wrapper; saving the bare model would silently write base + adapter weights unmerged.
        raise ValueError("this model carries LoRA adapters: save the model train() returned")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if _is_peft(model):
        if base_dir is None:
            raise ValueError("saving a LoRA adapter needs base_dir, the folder of its base model")
        base = Path(os.path.relpath(Path(base_dir).resolve(), Path.cwd())).as_posix()
        model.save_pretrained(out_dir)
        # peft writes a boilerplate model card naming the base by whatever path it was loaded from,
        # and stores target_modules as a set (order varies with PYTHONHASHSEED): normalise both so
        # the same adapter always gives the same bytes.
        (out_dir / "README.md").unlink(missing_ok=True)
        adapter_config = _read_json(out_dir / ADAPTER_CONFIG)
        adapter_config["base_model_name_or_path"] = base
        if isinstance(adapter_config.get("target_modules"), list):
            adapter_config["target_modules"] = sorted(adapter_config["target_modules"])
        _write_json(out_dir / ADAPTER_CONFIG, adapter_config)
        _write_json(out_dir / BASE_FILE, {"base": base})
        return
    model.save_pretrained(out_dir)
    processor.save_pretrained(out_dir)


def _is_peft(model: Any) -> bool:
    from peft import PeftModel

    return isinstance(model, PeftModel)


# --------------------------------------------------------------------------------------------
# Generation


def _conversation(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": [{"type": "video"}, {"type": "text", "text": text}]}]


def _prompt_text(processor: Any, text: str) -> str:
    return processor.apply_chat_template(
        _conversation(text), tokenize=False, add_generation_prompt=True
    )


def _sampling_kwargs(cfg: SamplingConfig) -> dict[str, Any]:
    if cfg.temperature <= 0:
        return {"do_sample": False}
    return {"do_sample": True, "temperature": cfg.temperature, "top_p": cfg.top_p, "top_k": 0}


def _stop_kwargs(model: Any, tokenizer: Any) -> dict[str, Any]:
    # A pretrained model's generation_config may list several stop ids (Qwen2-VL-Instruct stops on
    # <|im_end|> and <|endoftext|>); only fill in what it lacks.
    config = model.generation_config
    kwargs: dict[str, Any] = {}
    if config.eos_token_id is None:
        kwargs["eos_token_id"] = tokenizer.eos_token_id
    if config.pad_token_id is None:
        kwargs["pad_token_id"] = (
            tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
        )
    return kwargs


def _progress(total: int, enabled: bool, desc: str) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=total, disable=not enabled, desc=desc)


def generate(
    model: Any,
    processor: Any,
    items: Sequence[tuple[np.ndarray, str]],
    cfg: SamplingConfig,
    seed: int,
    progress: bool = False,
) -> list[str]:
    """Answer each (frames, user text) item; returns the assistant texts in input order.

    Batches of ``cfg.batch_size`` are left-padded. Batch ``i`` is seeded from ``(seed, i)``, so
    outputs do not depend on what ran before; greedy outputs do not depend on batching at all
    (up to float rounding of padded positions).
    """
    tokenizer = processor.tokenizer
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    outputs: list[str] = []
    bar = _progress(len(items), progress, "generate")
    with torch.inference_mode():
        for batch_index, start in enumerate(range(0, len(items), cfg.batch_size)):
            batch = items[start : start + cfg.batch_size]
            inputs = processor(
                text=[_prompt_text(processor, text) for _, text in batch],
                videos=[np.asarray(frames) for frames, _ in batch],
                padding=True,
                padding_side="left",
                do_sample_frames=False,
                return_tensors="pt",
            ).to(device)
            _seed_everything(_derive_seed(seed, batch_index))
            generated = model.generate(
                **inputs,
                max_new_tokens=cfg.max_new_tokens,
                **_stop_kwargs(model, tokenizer),
                **_sampling_kwargs(cfg),
            )
            new_tokens = generated[:, inputs["input_ids"].shape[1] :]
            outputs.extend(
                text.strip()
                for text in tokenizer.batch_decode(new_tokens, skip_special_tokens=True)
            )
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
            _seed_everything(_derive_seed(seed, batch_index))
            generated = model.generate(
                **inputs,
                max_new_tokens=cfg.max_new_tokens,
                **_stop_kwargs(model, tokenizer),
                **_sampling_kwargs(cfg),
            )
            new_tokens = generated[:, inputs["input_ids"].shape[1] :]
            outputs.extend(
                t.strip() for t in tokenizer.batch_decode(new_tokens, skip_special_tokens=True)
            )
    return outputs


# --------------------------------------------------------------------------------------------
# Training


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
class _Encoded:
    """Everything a training batch needs, computed once per dataset."""

    input_ids: list[torch.Tensor]  # prompt + response + <|im_end|>, one 1-D tensor per example
    prompt_lens: list[int]
    video_index: list[int]  # example -> row of the distinct-video tables
    pixel_values: list[torch.Tensor]  # per distinct video: (patches, patch_dim)
    grid_thw: list[torch.Tensor]  # per distinct video: (3,)


def _frames_key(frames: np.ndarray) -> bytes:
    return hashlib.blake2b(
        repr((frames.shape, frames.dtype.str)).encode() + frames.tobytes(), digest_size=16
    ).digest()


def encode_examples(
    processor: Any, examples: Sequence[tuple[np.ndarray, str, str]], chunk: int = 256
) -> _Encoded:
    """Tokenize and preprocess training examples once.

    Each distinct frames array goes through the video processor once (clips repeat across the
    examples of one clip); its patches stay in memory as fp32 (8 frames at 32 px: 96 KiB a clip).
    The flat patch layout with ``video_grid_thw`` is the Qwen2-VL family's. Prompt and response are tokenized separately — the prompt exactly as
    ``generate`` tokenizes it, the response as the model should emit it — so training and inference
    see the same token boundaries.
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

    pixel_values: list[torch.Tensor] = []
    grid_thw: list[torch.Tensor] = []
    for start in range(0, len(distinct), chunk):
        out = processor.video_processor(
            videos=distinct[start : start + chunk], do_sample_frames=False, return_tensors="pt"
        )
        if "video_grid_thw" not in out:
            raise NotImplementedError(
                f"train() supports Qwen2-VL-style video processors (pixel_values_videos + "
                f"video_grid_thw); {type(processor.video_processor).__name__} returned {sorted(out)}"
            )
        grids = out["video_grid_thw"]
        sizes = grids.prod(dim=1).tolist()
        pixel_values.extend(torch.split(out["pixel_values_videos"], sizes))
        grid_thw.extend(grids)

    merge = processor.video_processor.merge_size**2
    video_token = processor.video_token
    prompts = []
    for (_, text, _), vi in zip(examples, video_index, strict=True):
        n_tokens = int(grid_thw[vi].prod()) // merge
        prompts.append(_prompt_text(processor, text).replace(video_token, video_token * n_tokens))
    responses = [response + tokenizer.eos_token for _, _, response in examples]
    prompt_ids = tokenizer(prompts, add_special_tokens=False)["input_ids"]
    response_ids = tokenizer(responses, add_special_tokens=False)["input_ids"]
    return _Encoded(
        input_ids=[torch.tensor(p + r) for p, r in zip(prompt_ids, response_ids, strict=True)],
        prompt_lens=[len(p) for p in prompt_ids],
        video_index=video_index,
        pixel_values=pixel_values,
        grid_thw=grid_thw,
    )


def collate(enc: _Encoded, rows: Sequence[int], pad_id: int, video_id: int) -> dict[str, Any]:
    """Right-padded batch with labels only on response tokens (+ the closing <|im_end|>)."""
    length = max(len(enc.input_ids[r]) for r in rows)
    input_ids = torch.full((len(rows), length), pad_id, dtype=torch.long)
    labels = torch.full((len(rows), length), IGNORE_INDEX, dtype=torch.long)
    attention_mask = torch.zeros((len(rows), length), dtype=torch.long)
    for i, r in enumerate(rows):
        ids = enc.input_ids[r]
        input_ids[i, : len(ids)] = ids
        attention_mask[i, : len(ids)] = 1
        labels[i, enc.prompt_lens[r] : len(ids)] = ids[enc.prompt_lens[r] :]
    videos = [enc.video_index[r] for r in rows]
    return {
        "input_ids": input_ids,
        "attention_mask": attention_mask,
        # M-RoPE needs to know which positions are video tokens (2 = video).
        "mm_token_type_ids": (input_ids == video_id).int() * 2,
        "labels": labels,
        "pixel_values_videos": torch.cat([enc.pixel_values[v] for v in videos]),
        "video_grid_thw": torch.stack([enc.grid_thw[v] for v in videos]),
    }


def _wrap_lora(model: Any, cfg: TrainConfig) -> Any:
    from peft import LoraConfig, get_peft_model

    lora = LoraConfig(
        r=cfg.lora_r,
        lora_alpha=cfg.lora_alpha,
        lora_dropout=cfg.lora_dropout,
        target_modules=list(cfg.lora_targets),
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
    Returns ``{"model", "steps", "loss_first", "loss_last", "losses"}``.
    """
    if not examples:
        raise ValueError("train() needs at least one example")
    total = steps if steps is not None else steps_for(len(examples), cfg)
    _seed_everything(cfg.seed)
    if cfg.method == "lora":
        # An already wrapped model (a previous train() result) keeps training its own adapters.
        if not _is_peft(model):
            model = _wrap_lora(model, cfg)
    else:
        for p in model.parameters():
            p.requires_grad_(True)
    device = next(model.parameters()).device
    model.train()

    enc = encode_examples(processor, examples)
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
    bar = _progress(total, progress, f"train ({cfg.method})")
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
