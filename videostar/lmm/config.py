"""Settings of the video LMM: the tiny model to build, decoding, fine-tuning.

``SamplingConfig`` and ``TrainConfig`` have no defaults: several params.yaml sections fill each of
them (``sampling.answer``/``rationale``/``eval``, ``questions.llm``; ``pretrain``, ``train``), so every
knob comes from params.yaml and no code default can silently disagree with it. ``TinyConfig`` is
only ``model.tiny``; its defaults equal that section.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TinyConfig:
    """The tiny Qwen2-VL built from scratch (platform.md, "a recipe that worked").

    vocab_size: BPE vocabulary including the 7 Qwen special tokens.
    hidden_size: width of the text decoder (and the output width of the vision merger).
    layers: text decoder layers.
    heads: text attention heads; ``hidden_size / heads`` is the head dimension (must be even).
    kv_heads: text key/value heads (grouped-query attention).
    intermediate_size: the text decoder's MLP width.
    vision_embed: width of the ViT.
    vision_depth: ViT blocks.
    vision_heads: ViT attention heads.
    patch_size: ViT patch side in pixels; a 32 px frame gives (32/8)^2 = 16 patches.
    temporal_patch_size: frames sharing one patch (2: each patch sees motion).
    spatial_merge_size: 2x2 patches merge into one LM token, so 8 frames at 32 px cost
        4 * 16 / 4 = 16 video tokens.
    frame_size: the processor resizes every frame to this many pixels squared (exact for square
        input); a multiple of ``patch_size * spatial_merge_size``.
    seed: seeds the random weights.
    """

    vocab_size: int = 512
    hidden_size: int = 128
    layers: int = 2
    heads: int = 4
    kv_heads: int = 2
    intermediate_size: int = 512
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
    """Decoding settings; the complete decoding policy (a checkpoint's own is never used).

    temperature: <= 0 decodes greedily; > 0 samples at this temperature.
    top_p: nucleus sampling mass (1.0 = off); only when sampling.
    top_k: keep the k most likely tokens (0 = off); only when sampling.
    repetition_penalty: CTRL-style penalty on tokens already present (1.0 = off).
    max_new_tokens: generated tokens at most, per answer.
    batch_size: items per ``generate`` batch (left-padded).
    """

    temperature: float
    top_p: float
    top_k: int
    repetition_penalty: float
    max_new_tokens: int
    batch_size: int


@dataclass(frozen=True)
class TrainConfig:
    """Fine-tuning settings.

    method: "full" trains every parameter; "lora" trains peft LoRA adapters on ``lora_targets``.
    lr: AdamW peak learning rate.
    weight_decay: AdamW weight decay (not applied to norms and biases).
    betas: AdamW (beta1, beta2); params.yaml holds a 2-list, turned into a tuple here.
    warmup_steps: linear warmup from lr/warmup_steps to lr.
    min_lr_ratio: after warmup, cosine decay to ``lr * min_lr_ratio``.
    grad_clip: max global gradient norm.
    batch_size: examples per step (capped at the number of examples).
    epochs, min_steps, max_steps: steps = clamp(ceil(epochs * n / batch_size), min_steps,
        max_steps) — a tiny kept set still gets enough steps, a big one a bounded budget.
    lora_r: LoRA rank.
    lora_alpha: LoRA scaling numerator (scale = alpha / r).
    lora_dropout: dropout on the LoRA input.
    lora_targets: module names to adapt; empty means the model family's default
        (``families.Family.lora_targets``; for Qwen2-VL the text attention projections, which
        leaves the vision tower, whose projections are named ``qkv``/``proj``, frozen).
    seed: shuffling, dropout and LoRA initialisation.
    """

    method: str
    lr: float
    weight_decay: float
    betas: tuple[float, float]
    warmup_steps: int
    min_lr_ratio: float
    grad_clip: float
    batch_size: int
    epochs: float
    min_steps: int
    max_steps: int
    lora_r: int
    lora_alpha: int
    lora_dropout: float
    lora_targets: tuple[str, ...]
    seed: int

    def __post_init__(self) -> None:
        if self.method not in ("full", "lora"):
            raise ValueError(f"TrainConfig.method must be 'full' or 'lora', got {self.method!r}")
        # params.yaml gives lists; frozen dataclasses should hold hashable tuples.
        object.__setattr__(self, "betas", tuple(self.betas))
        object.__setattr__(self, "lora_targets", tuple(self.lora_targets))
        if len(self.betas) != 2:
            raise ValueError(f"TrainConfig.betas must be two numbers, got {self.betas!r}")
