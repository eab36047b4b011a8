"""GPU throughput of the video LMM at the real Qwen2-VL 2B and 7B shapes: decoding, LoRA training, memory.

    .venv/bin/python benchmarks/bench_gpu.py                             # 2b and 7b on cuda
    .venv/bin/python benchmarks/bench_gpu.py --shape 7b --batch 32 --new-tokens 256
    .venv/bin/python benchmarks/bench_gpu.py --shape 2b --bandwidth-gbs 3350   # H100 SXM roofline
    .venv/bin/python benchmarks/bench_gpu.py --shape tiny --device cpu   # CPU smoke test, seconds

Nothing is downloaded: each model is a random-weight ``Qwen2VLForConditionalGeneration`` built
from the config values of ``Qwen/Qwen2-VL-2B-Instruct`` / ``Qwen/Qwen2-VL-7B-Instruct`` written
below (same parameter count as the hub checkpoints: 2,208,985,600 and 8,291,375,616), directly
on the device in bf16, with the real vocabulary size (so the LM head costs what it really
costs). The tokenizer is the project's small offline BPE (``tiny.train_tokenizer``) and the
processor the official Qwen2-VL classes with the hub's patch/merge sizes, as ``tiny.build_tiny``
builds them; token ids past the small tokenizer are never fed in, only possibly generated.

For each shape it prints, side by side:

1. generation tokens/s, batch 1 and batch N (greedy, one video of 8 random 448x448 frames per
   item = 1024 video tokens), through the project's own path: ``generation.generate`` (which
   builds the inputs with ``families``' ``family.inputs``) with a ``SamplingConfig``. Every
   answer is exactly ``--new-tokens`` long: the EOS id is set to ``vocab_size``, an id the LM
   head cannot emit (``SamplingConfig`` has no min_new_tokens), and the generated lengths are
   read back from ``model.generate``'s output tensors and checked. ``model.generate`` is wrapped
   only to pass a streamer that timestamps each token: e2e tokens/s is over the whole call
   (host video preprocessing, ViT, prefill, decode), decode tokens/s over the steps after the
   first token, prefill the time to that first token.
2. the decode roofline: batch 1 is memory-bound, tokens/s <= bandwidth / (bytes of the weights a
   step reads + its KV cache), bandwidth from ``--bandwidth-gbs`` or a small table of spec-sheet
   numbers by device name; batch N: min(that bound times N, peak bf16 FLOPs / FLOPs per token).
3. training samples/s through ``training.train``: LoRA (the family's default targets), bf16
   weights under bf16 autocast, gradient checkpointing; the first step is a warm-up.
4. peak GPU memory (``torch.cuda.max_memory_allocated``) of each phase, next to what the
   weights, KV cache, LoRA optimizer state and activations COMPUTE to (``train_memory``).
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from videostar.lmm import generation, tiny, training  # noqa: E402
from videostar.lmm.config import SamplingConfig, TrainConfig  # noqa: E402
from videostar.lmm.loading import seed_torch  # noqa: E402

GIB = 1024**3


@dataclass(frozen=True)
class Shape:
    """A Qwen2-VL shape: text decoder, vision tower and the processor's patching."""

    name: str
    source: str
    vocab_size: int
    hidden_size: int
    intermediate_size: int
    layers: int
    heads: int
    kv_heads: int
    tie_word_embeddings: bool
    mrope_section: tuple[int, int, int]
    vision_depth: int
    vision_embed: int
    vision_heads: int
    patch_size: int
    frame_size: int  # default frame side fed to the processor
    rope_theta: float = 1_000_000.0
    rms_norm_eps: float = 1e-6
    max_position_embeddings: int = 32768
    vision_mlp_ratio: int = 4
    temporal_patch_size: int = 2
    spatial_merge_size: int = 2
    min_pixels: int = 56 * 56
    max_pixels: int = 28 * 28 * 16384


# From the public config.json of each hub repository (huggingface.co/Qwen/Qwen2-VL-2B-Instruct
# and .../Qwen2-VL-7B-Instruct, "architectures": ["Qwen2VLForConditionalGeneration"]):
#   2B: hidden_size 1536, intermediate_size 8960, num_hidden_layers 28, num_attention_heads 12,
#       num_key_value_heads 2, vocab_size 151936, tie_word_embeddings true;
#   7B: hidden_size 3584, intermediate_size 18944, num_hidden_layers 28, num_attention_heads 28,
#       num_key_value_heads 4, vocab_size 152064, tie_word_embeddings false;
#   both: rope_theta 1e6, rms_norm_eps 1e-6, max_position_embeddings 32768, hidden_act silu,
#       rope_scaling {"type": "mrope", "mrope_section": [16, 24, 24]}, use_sliding_window false;
#       vision_config depth 32, embed_dim 1280, mlp_ratio 4, num_heads 16, in_chans 3,
#       patch_size 14, spatial_merge_size 2, temporal_patch_size 2, hidden_size = the LM's.
# preprocessor_config.json: min_pixels 3136, max_pixels 12845056, patch 14, merge 2, temporal 2.
# Cross-checked offline: transformers' Qwen2VLConfig defaults (documented as Qwen2-VL-7B-Instruct)
# agree on the vision tower and the 152064 vocabulary, and the models built here have exactly the
# hub checkpoints' parameter counts, 2,208,985,600 and 8,291,375,616 (tests/test_bench_gpu.py).
SHAPES: dict[str, Shape] = {
    "2b": Shape(
        name="2b", source="Qwen/Qwen2-VL-2B-Instruct", vocab_size=151936, hidden_size=1536,
        intermediate_size=8960, layers=28, heads=12, kv_heads=2, tie_word_embeddings=True,
        mrope_section=(16, 24, 24), vision_depth=32, vision_embed=1280, vision_heads=16,
        patch_size=14, frame_size=448,
    ),
    "7b": Shape(
        name="7b", source="Qwen/Qwen2-VL-7B-Instruct", vocab_size=152064, hidden_size=3584,
        intermediate_size=18944, layers=28, heads=28, kv_heads=4, tie_word_embeddings=False,
        mrope_section=(16, 24, 24), vision_depth=32, vision_embed=1280, vision_heads=16,
        patch_size=14, frame_size=448,
    ),
    # The same family, small enough for a CPU smoke test; the vocabulary is still padded past the
    # tokenizer's, as for the real shapes.
    "tiny": Shape(
        name="tiny", source="Qwen2-VL, tiny (smoke test)", vocab_size=1024, hidden_size=64,
        intermediate_size=128, layers=2, heads=4, kv_heads=2, tie_word_embeddings=False,
        mrope_section=(2, 3, 3), vision_depth=1, vision_embed=32, vision_heads=2, patch_size=8,
        frame_size=32, rope_theta=10000.0, max_position_embeddings=4096, min_pixels=32 * 32,
        max_pixels=32 * 32,
    ),
}  # fmt: skip

# Spec-sheet (memory GB/s, dense bf16 TFLOPS) by a substring of torch.cuda.get_device_name();
# the first match wins, so the more specific names come first.
DEVICES: tuple[tuple[str, float, float], ...] = (
    ("H200", 4800.0, 989.0),
    ("H100 PCIe", 2000.0, 756.0),
    ("H100", 3350.0, 989.0),
    ("A100 80GB PCIe", 1935.0, 312.0),
    ("A100-SXM4-80GB", 2039.0, 312.0),
    ("A100", 1555.0, 312.0),
    ("L40S", 864.0, 362.0),
)
DEFAULT_DEVICE = ("H200 (assumed)", 4800.0, 989.0)

QUESTIONS = (
    "Which way does the ball go?",
    "How many times does the object blink? Can you explain step-by-step?",
    "What path does the ball take, step by step, from the first frame to the last?",
    "When is the ball visible?",
)
RESPONSE = (
    "The ball starts in the top left corner, rolls to the right along the upper edge, bounces "
    "off the wall, then drops down and comes to rest near the bottom right corner of the frame."
)
TOKENIZER_VOCAB = 512


@dataclass(frozen=True)
class BenchConfig:
    """What to run. ``frame_size`` None: the shape's own (448 for 2b/7b)."""

    shapes: tuple[str, ...] = ("2b", "7b")
    device: str = "cuda"
    batch: int = 16
    new_tokens: int = 128
    frames: int = 8
    frame_size: int | None = None
    train_batch: int = 8
    micro_batch: int = 0
    train_steps: int = 5
    lora_r: int = 16
    attn: str = "sdpa"
    bandwidth_gbs: float | None = None
    tflops: float | None = None
    seed: int = 0


@dataclass
class Result:
    """Everything measured (and computed) for one shape."""

    shape: Shape
    dtype: str
    params: int
    vision_params: int
    decode_bytes: int  # weight bytes one decode step reads (decoder layers, norm, LM head)
    kv_bytes_per_token: int
    prompt_tokens: int
    video_tokens: int
    frame_size: int
    gen: dict[int, dict[str, float]] = field(default_factory=dict)  # batch -> numbers
    train: dict[str, float] = field(default_factory=dict)


# --------------------------------------------------------------------------------- building


def model_config(shape: Shape, ids: dict[str, int]) -> Any:
    """The ``Qwen2VLConfig`` of ``shape``; ``ids``: the special tokens' ids in the tokenizer."""
    from transformers import Qwen2VLConfig

    return Qwen2VLConfig(
        text_config={
            "vocab_size": shape.vocab_size,
            "hidden_size": shape.hidden_size,
            "intermediate_size": shape.intermediate_size,
            "num_hidden_layers": shape.layers,
            "num_attention_heads": shape.heads,
            "num_key_value_heads": shape.kv_heads,
            "hidden_act": "silu",
            "max_position_embeddings": shape.max_position_embeddings,
            "rms_norm_eps": shape.rms_norm_eps,
            "use_sliding_window": False,
            "rope_parameters": {
                "rope_type": "default",
                "rope_theta": shape.rope_theta,
                "mrope_section": list(shape.mrope_section),
            },
            "bos_token_id": ids["<|endoftext|>"],
            "eos_token_id": ids["<|im_end|>"],
            "pad_token_id": ids["<|endoftext|>"],
        },
        vision_config={
            "depth": shape.vision_depth,
            "embed_dim": shape.vision_embed,
            "hidden_size": shape.hidden_size,
            "mlp_ratio": shape.vision_mlp_ratio,
            "num_heads": shape.vision_heads,
            "patch_size": shape.patch_size,
            "temporal_patch_size": shape.temporal_patch_size,
            "spatial_merge_size": shape.spatial_merge_size,
        },
        image_token_id=ids["<|image_pad|>"],
        video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"],
        vision_end_token_id=ids["<|vision_end|>"],
        tie_word_embeddings=shape.tie_word_embeddings,
    )


def build(shape: Shape, device: torch.device, dtype: torch.dtype, attn: str) -> tuple[Any, Any]:
    """(random-weight model on ``device`` in ``dtype``, processor) at ``shape``."""
    from transformers import (
        Qwen2VLForConditionalGeneration,
        Qwen2VLImageProcessorPil,
        Qwen2VLProcessor,
        Qwen2VLVideoProcessor,
    )

    tokenizer = tiny.train_tokenizer([*QUESTIONS, RESPONSE] * 20, TOKENIZER_VOCAB)
    if len(tokenizer) > shape.vocab_size:
        raise ValueError(f"tokenizer ({len(tokenizer)}) larger than vocab_size {shape.vocab_size}")
    ids = {tok: tokenizer.convert_tokens_to_ids(tok) for tok in tiny.SPECIAL_TOKENS}
    common = {
        "size": {"shortest_edge": shape.min_pixels, "longest_edge": shape.max_pixels},
        "patch_size": shape.patch_size,
        "temporal_patch_size": shape.temporal_patch_size,
        "merge_size": shape.spatial_merge_size,
    }
    processor = Qwen2VLProcessor(
        image_processor=Qwen2VLImageProcessorPil(**common),
        video_processor=Qwen2VLVideoProcessor(
            **common, do_sample_frames=False, cap_pixels_per_frame=False
        ),
        tokenizer=tokenizer,
        chat_template=tiny.CHAT_TEMPLATE,
    )
    config = model_config(shape, ids)
    seed_torch(0)
    # Plain init, straight on the device in the target dtype: no fp32 copy on the host.
    with torch.device(device):
        model = Qwen2VLForConditionalGeneration._from_config(
            config, dtype=dtype, attn_implementation=attn
        )
    model.eval()
    # EOS = vocab_size: an id the LM head cannot emit, so every answer runs max_new_tokens.
    model.generation_config.eos_token_id = shape.vocab_size
    model.generation_config.pad_token_id = ids["<|endoftext|>"]
    model.generation_config.bos_token_id = ids["<|endoftext|>"]
    return model, processor


def decode_footprint(model: Any, shape: Shape) -> tuple[int, int]:
    """(weight bytes a decode step reads, KV-cache bytes per token): the decoder layers, final
    norm and LM head (one embedding row and the vision tower are not read per token)."""
    lm = model.model.language_model
    seen: set[int] = set()
    total = 0
    for p in [*lm.layers.parameters(), *lm.norm.parameters(), model.lm_head.weight]:
        if id(p) not in seen:
            seen.add(id(p))
            total += p.numel() * p.element_size()
    element = next(model.parameters()).element_size()
    head_dim = shape.hidden_size // shape.heads
    return total, 2 * shape.layers * shape.kv_heads * head_dim * element


# ------------------------------------------------------------------------------- measuring


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _reset_peak(device: torch.device) -> None:
    if device.type == "cuda":
        gc.collect()
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)


def _peak(device: torch.device) -> float:
    return torch.cuda.max_memory_allocated(device) / GIB if device.type == "cuda" else 0.0


class Clock:
    """A ``generate`` streamer that only notes when each put arrives: first the prompt (before
    the prefill), then every new token (each after the device produced it: ``.cpu()`` syncs)."""

    def __init__(self) -> None:
        self.stamps: list[float] = []

    def put(self, value: torch.Tensor) -> None:
        self.stamps.append(time.perf_counter())

    def end(self) -> None:
        pass


@dataclass
class Call:
    """One ``model.generate`` call: rows, prompt length, new tokens, and its clock."""

    rows: int
    prompt: int
    new: int
    clock: Clock


@contextmanager
def counting(model: Any) -> Iterator[list[Call]]:
    """Record every ``model.generate`` call made inside (``generation.generate`` makes one per
    batch): the generated lengths read from its output tensor, and per-token times."""
    calls: list[Call] = []
    original = model.generate

    def generate(*args: Any, **kwargs: Any) -> Any:
        clock = Clock()
        out = original(*args, streamer=clock, **kwargs)
        prompt = kwargs["input_ids"].shape[1]
        calls.append(Call(out.shape[0], prompt, out.shape[1] - prompt, clock))
        return out

    model.generate = generate
    try:
        yield calls
    finally:
        del model.generate


def timed_generate(
    model: Any, processor: Any, items: list[tuple[np.ndarray, str]], new_tokens: int, batch: int
) -> dict[str, float]:
    """Throughput of ``generation.generate`` over ``items`` (one batch when len(items) == batch):
    e2e = all new tokens / the whole call (video preprocessing on the host, ViT, prefill, decode);
    prefill = from ``model.generate``'s start to the first new token; decode = tokens after the
    first / the time after it."""
    cfg = SamplingConfig(temperature=0.0, top_p=1.0, top_k=0, repetition_penalty=1.0,
                         max_new_tokens=new_tokens, batch_size=batch)  # fmt: skip
    device = next(model.parameters()).device
    with counting(model) as calls:
        _sync(device)
        start = time.perf_counter()
        generation.generate(model, processor, items, cfg, seed=0)
        _sync(device)
        seconds = time.perf_counter() - start
    if any(c.new != new_tokens or len(c.clock.stamps) != new_tokens + 1 for c in calls):
        raise RuntimeError(f"expected {new_tokens} new tokens per answer, got {calls}")
    decode_s = sum(c.clock.stamps[-1] - c.clock.stamps[1] for c in calls)
    decoded = sum(c.rows * (c.new - 1) for c in calls)
    return {
        "e2e_tok_s": sum(c.rows * c.new for c in calls) / seconds,
        "decode_tok_s": decoded / decode_s if decode_s > 0 else float("nan"),
        "prefill_s": sum(c.clock.stamps[1] - c.clock.stamps[0] for c in calls),
        "seconds": seconds,
        "tokens": sum(c.rows * c.new for c in calls),
        "prompt": max(c.prompt for c in calls),
    }


def bench_generation(
    model: Any, processor: Any, videos: list[np.ndarray], batch: int, new_tokens: int
) -> dict[str, float]:
    """One batch of ``batch`` items after a short warm-up batch (kernels, allocator)."""
    device = next(model.parameters()).device
    items = [(videos[i % len(videos)], QUESTIONS[i % len(QUESTIONS)]) for i in range(batch)]
    timed_generate(model, processor, items, 2, batch)
    _reset_peak(device)
    return {**timed_generate(model, processor, items, new_tokens, batch), "peak_gib": _peak(device)}


def bench_training(
    model: Any, processor: Any, videos: list[np.ndarray], cfg: BenchConfig
) -> dict[str, float]:
    device = next(model.parameters()).device
    train_cfg = TrainConfig(
        method="lora", lr=1e-4, weight_decay=0.01, betas=(0.9, 0.98), warmup_steps=1,
        min_lr_ratio=0.1, decay_fraction=1.0, grad_clip=1.0, batch_size=cfg.train_batch, epochs=1.0,
        min_steps=cfg.train_steps, max_steps=cfg.train_steps, lora_r=cfg.lora_r,
        lora_alpha=2 * cfg.lora_r, lora_dropout=0.0, lora_targets=(), seed=cfg.seed,
        micro_batch_size=cfg.micro_batch, gradient_checkpointing=True, checkpoint_every=0,
        group_by_length=False, pack_sequences=False,
    )  # fmt: skip
    examples = [
        (videos[i % len(videos)], QUESTIONS[i % len(QUESTIONS)], RESPONSE)
        for i in range(cfg.train_batch)
    ]
    stamps: list[float] = []

    def log(
        step: int, record: dict[str, float]
    ) -> None:  # after each step's backward + optimizer step
        _sync(device)
        stamps.append(time.perf_counter())

    _reset_peak(device)
    stats = training.train(model, processor, examples, train_cfg, steps=cfg.train_steps, log=log)
    peft_model = stats["model"]
    lora = sum(p.numel() for p in peft_model.parameters() if p.requires_grad)
    seconds = (stamps[-1] - stamps[0]) / (len(stamps) - 1)  # step 0 is the warm-up
    response = len(processor.tokenizer(RESPONSE + processor.tokenizer.eos_token)["input_ids"])
    return {
        "samples_s": cfg.train_batch / seconds,
        "step_s": seconds,
        "peak_gib": _peak(device),
        "lora_params": lora,
        "response_tokens": response,
        "loss": stats["loss_last"],
    }


# ------------------------------------------------------------------------------- computing


def device_specs(device: torch.device, cfg: BenchConfig) -> tuple[str, float, float]:
    """(name, GB/s, bf16 TFLOPS): the flags where given, else the table, else an H200."""
    name, bandwidth, tflops = DEFAULT_DEVICE
    if device.type != "cuda":
        name = f"{device.type} (roofline of an H200, for the format only)"
    else:
        found = torch.cuda.get_device_name(device)
        name = f"{found} (not in the table: H200 numbers assumed)"
        for key, gbs, tf in DEVICES:
            if key in found:
                name, bandwidth, tflops = found, gbs, tf
                break
    if cfg.bandwidth_gbs is not None:
        bandwidth = cfg.bandwidth_gbs
    if cfg.tflops is not None:
        tflops = cfg.tflops
    return name, bandwidth, tflops


def decode_roofline(r: Result, batch: int, context: float, gbs: float, tflops: float) -> float:
    """Tokens/s at best for ``batch`` greedy streams at ``context`` tokens of KV each: every step
    reads the decode weights once and each stream's KV cache (memory bound), and costs
    2 * params + 4 * layers * context * hidden FLOPs per token (compute bound)."""
    step_bytes = r.decode_bytes + batch * context * r.kv_bytes_per_token
    memory = batch * gbs * 1e9 / step_bytes
    params = r.decode_bytes / (2 if r.dtype == "bfloat16" else 4)
    flops = 2 * params + 4 * r.shape.layers * context * r.shape.hidden_size
    return min(memory, tflops * 1e12 / flops)


def train_memory(r: Result, batch: int, seq: int, lora_params: int) -> dict[str, float]:
    """COMPUTED peak GiB of LoRA training, bf16 weights, bf16 autocast, gradient checkpointing:

    weights: every parameter in bf16 (frozen: no gradient, no optimizer state);
    lora: fp32 adapters + fp32 gradients + AdamW m and v = 16 bytes per LoRA parameter;
    checkpoints: each decoder layer's bf16 input hidden states, kept through the backward;
    layer: one decoder layer recomputed in the backward, twice its saved activations for their
        gradients: per token, RMSNorm fp32 upcasts (2 x 10h bytes), q/o/residuals/rotary (~12h),
        k/v (6 kv_dim), SwiGLU gate/up/act/product (8 intermediate);
    logits: all B*S positions (the loss needs only the response's, but the model computes every
        one) at ~12 bytes a logit: fp32 log-softmax kept for backward + fp32 gradient + bf16
        logits/gradient. The vision tower is frozen and takes no LoRA: no saved activations.
    peak = weights + lora + checkpoints + max(layer, logits).
    """
    s, tokens = r.shape, batch * seq
    kv_dim = s.kv_heads * (s.hidden_size // s.heads)
    per_token_layer = 2 * (34 * s.hidden_size + 6 * kv_dim + 8 * s.intermediate_size)
    parts = {
        "weights": r.params * 2,
        "lora": lora_params * 16,
        "checkpoints": s.layers * tokens * s.hidden_size * 2,
        "layer": tokens * per_token_layer,
        "logits": tokens * s.vocab_size * 12,
    }
    out = {k: v / GIB for k, v in parts.items()}
    out["peak"] = (
        parts["weights"]
        + parts["lora"]
        + parts["checkpoints"]
        + max(parts["layer"], parts["logits"])
    ) / GIB
    return out


def generation_memory(r: Result, batch: int, context: int) -> float:
    """COMPUTED GiB of generation: the weights + the KV cache (prefill transients left out)."""
    bytes_per = 2 if r.dtype == "bfloat16" else 4
    return (r.params * bytes_per + batch * context * r.kv_bytes_per_token) / GIB


# ---------------------------------------------------------------------------------- running


def run_shape(shape: Shape, cfg: BenchConfig, device: torch.device) -> Result:
    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    model, processor = build(shape, device, dtype, cfg.attn)
    decode_bytes, kv = decode_footprint(model, shape)
    side = cfg.frame_size or shape.frame_size
    rng = np.random.default_rng(cfg.seed)
    n_videos = max(cfg.batch, cfg.train_batch)
    videos = [
        rng.integers(0, 256, (cfg.frames, side, side, 3), dtype=np.uint8) for _ in range(n_videos)
    ]
    grid = processor.video_processor(
        videos=[videos[0]], return_tensors="pt", do_sample_frames=False
    )
    video_tokens = int(grid["video_grid_thw"].prod()) // shape.spatial_merge_size**2
    result = Result(
        shape=shape,
        dtype=str(dtype).removeprefix("torch."),
        params=sum(p.numel() for p in model.parameters()),
        vision_params=sum(p.numel() for p in model.model.visual.parameters()),
        decode_bytes=decode_bytes,
        kv_bytes_per_token=kv,
        prompt_tokens=0,
        video_tokens=video_tokens,
        frame_size=side,
    )
    for batch in sorted({1, cfg.batch}):
        result.gen[batch] = bench_generation(model, processor, videos, batch, cfg.new_tokens)
    result.prompt_tokens = int(result.gen[1]["prompt"])
    result.train = bench_training(model, processor, videos, cfg)
    del model, processor
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()
    return result


def _progress(line: str) -> None:
    print(line, flush=True)


def run(cfg: BenchConfig, progress: Callable[[str], None] = _progress) -> list[Result]:
    """Benchmark every shape of ``cfg`` on its device; exits when cuda is asked for and absent."""
    if cfg.device.startswith("cuda") and not torch.cuda.is_available():
        raise SystemExit(
            "bench_gpu: no CUDA device is available; run on a GPU machine, or smoke-test with "
            "--shape tiny --device cpu"
        )
    device = torch.device(cfg.device)
    results = []
    for name in cfg.shapes:
        progress(f"bench_gpu: {name} ({SHAPES[name].source}) on {device} ...")
        results.append(run_shape(SHAPES[name], cfg, device))
    return results


def _count(n: float) -> str:
    return f"{n / 1e9:.3f}B" if n >= 1e8 else f"{n / 1e6:.3f}M"


def _size(gib: float) -> str:
    return f"{gib:.2f} GiB" if gib >= 0.1 else f"{gib * 1024:.2f} MiB"


def report(results: Sequence[Result], cfg: BenchConfig) -> str:
    """The side-by-side table: one column per shape."""
    device = torch.device(cfg.device)
    name, gbs, tflops = device_specs(device, cfg)
    cuda = device.type == "cuda"
    rows: list[tuple[str, list[str]]] = []

    def row(label: str, values: Callable[[Result], str]) -> None:
        rows.append((label, [values(r) for r in results]))

    b = cfg.batch
    row("model", lambda r: r.shape.source)
    row("params (vision)", lambda r: f"{_count(r.params)} ({_count(r.vision_params)})")
    row("dtype", lambda r: r.dtype)
    row("decode weight bytes", lambda r: _size(r.decode_bytes / GIB))
    row("video", lambda r: f"{cfg.frames}x{r.frame_size}x{r.frame_size}")
    row("prompt (video) tokens", lambda r: f"{r.prompt_tokens} ({r.video_tokens})")

    def bound(r: Result, batch: int) -> float:
        # the mean context over the answer: prompt + half the new tokens
        return decode_roofline(r, batch, r.prompt_tokens + cfg.new_tokens / 2, gbs, tflops)

    for batch in sorted({1, b}):
        tag = f"b{batch}"
        row(f"gen e2e tok/s {tag}", lambda r, n=batch: f"{r.gen[n]['e2e_tok_s']:.1f}")
        row(f"gen decode tok/s {tag}", lambda r, n=batch: f"{r.gen[n]['decode_tok_s']:.1f}")
        row(f"  roofline tok/s {tag}", lambda r, n=batch: f"{bound(r, n):.1f}")
        row(
            f"  % of roofline {tag}",
            lambda r, n=batch: f"{100 * r.gen[n]['decode_tok_s'] / bound(r, n):.1f}%",
        )
        row(f"prefill s {tag}", lambda r, n=batch: f"{r.gen[n]['prefill_s']:.3f}")
        if cuda:
            row(f"peak memory gen {tag}", lambda r, n=batch: _size(r.gen[n]["peak_gib"]))
        row(
            f"  computed w+KV {tag}",
            lambda r, n=batch: _size(generation_memory(r, n, r.prompt_tokens + cfg.new_tokens)),
        )

    def seq(r: Result) -> int:
        return r.prompt_tokens + int(r.train["response_tokens"])

    row("train seq tokens", lambda r: str(seq(r)))
    row("train samples/s", lambda r: f"{r.train['samples_s']:.2f}")
    row("train step s", lambda r: f"{r.train['step_s']:.3f}")
    row("LoRA params", lambda r: f"{r.train['lora_params'] / 1e6:.2f}M")
    if cuda:
        row("peak memory train", lambda r: _size(r.train["peak_gib"]))

    def parts(r: Result) -> dict[str, float]:
        micro = cfg.micro_batch or cfg.train_batch
        return train_memory(r, micro, seq(r), int(r.train["lora_params"]))

    row("  computed train", lambda r: _size(parts(r)["peak"]))
    row(
        "  = w+lora+ckpt+max(layer,logits)",
        lambda r: (
            "+".join(
                f"{parts(r)[k]:.2f}" for k in ("weights", "lora", "checkpoints", "layer", "logits")
            )
            + " GiB"
        ),
    )

    width = max(len(label) for label, _ in rows)
    cols = [max(len(v[i]) for _, v in rows) for i in range(len(results))]
    lines = [
        f"device: {name}; roofline: {gbs:.0f} GB/s, {tflops:.0f} bf16 TFLOPS",
        f"generation: greedy, {cfg.new_tokens} new tokens per answer (EOS unreachable), "
        f"{cfg.frames} random frames per item, batch 1 and {b}",
        f"training: LoRA r={cfg.lora_r} on the family's targets, "
        f"{'bf16 weights + bf16 autocast' if cuda else 'fp32'}, gradient checkpointing, "
        f"batch {cfg.train_batch} (micro {cfg.micro_batch or cfg.train_batch}), "
        f"{cfg.train_steps} steps, the first one not timed",
        "",
    ]
    lines += [
        f"{label:<{width}}  " + "  ".join(f"{v:>{c}}" for v, c in zip(values, cols, strict=True))
        for label, values in rows
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shape", choices=[*SHAPES, "all"], action="append",
                        help="repeatable; default 2b and 7b")  # fmt: skip
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--batch", type=int, default=16, help="the batched generation size N")
    parser.add_argument("--new-tokens", type=int, default=128)
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--frame-size", type=int, default=None, help="default: 448 (32 for tiny)")
    parser.add_argument("--train-batch", type=int, default=8)
    parser.add_argument("--micro-batch", type=int, default=0, help="0: the whole batch at once")
    parser.add_argument("--train-steps", type=int, default=5, help="the first is a warm-up")
    parser.add_argument("--lora-r", type=int, default=16)
    parser.add_argument("--attn", default="sdpa", choices=["sdpa", "eager", "flash_attention_2"])
    parser.add_argument("--bandwidth-gbs", type=float, default=None,
                        help="memory bandwidth for the roofline; default: by device name, else 4800")  # fmt: skip
    parser.add_argument("--tflops", type=float, default=None, help="peak dense bf16 TFLOPS")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore", category=FutureWarning)  # transformers' renames
    shapes = args.shape or ["2b", "7b"]
    if "all" in shapes:
        shapes = list(SHAPES)
    if args.new_tokens < 2 or args.train_steps < 2:
        parser.error("--new-tokens and --train-steps must be at least 2")
    cfg = BenchConfig(
        shapes=tuple(dict.fromkeys(shapes)), device=args.device, batch=args.batch,
        new_tokens=args.new_tokens, frames=args.frames, frame_size=args.frame_size,
        train_batch=args.train_batch, micro_batch=args.micro_batch, train_steps=args.train_steps,
        lora_r=args.lora_r, attn=args.attn, bandwidth_gbs=args.bandwidth_gbs, tflops=args.tflops,
    )  # fmt: skip
    results = run(cfg)
    print(report(results, cfg))


if __name__ == "__main__":
    main()
