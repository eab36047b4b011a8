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
    layers: int = 4
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
    min_lr_ratio: the learning rate ends at ``lr * min_lr_ratio``, reached by a cosine decay.
    decay_fraction: the cosine decay takes this fraction of the steps after warmup, the last
        ones; before it the rate stays at ``lr`` (warmup-stable-decay). 1.0: cosine from the
        end of warmup.
    grad_clip: max global gradient norm.
    batch_size: examples per optimizer step, the global batch (capped at the number of
        examples); what changes results, so it is a param whatever the hardware.
    micro_batch_size: examples per forward/backward pass; gradients of the micro-batches of a
        step are accumulated, weighted by their label tokens, so the step equals one pass over
        the whole batch (up to float rounding). 0: the whole batch in one pass.
    gradient_checkpointing: recompute activations in the backward pass (less memory, ~30%
        slower), for 2B-7B models on one GPU.
    group_by_length: draw each batch from examples of similar text length, as transformers'
        ``group_by_length`` does: the epoch's permutation is cut into groups of
        ``LENGTH_GROUP_BATCHES`` batches, each sorted by prompt + response tokens and cut into
        batches, which keep a shuffled order. Less padding, so less compute per step; it changes
        which examples share a step, so it changes results.
    pack_sequences: put each micro-batch's examples side by side in as few rows as hold its
        longest example (first-fit decreasing), each with its own position ids, so no attention
        crosses examples: the same loss and gradients as padded rows up to float rounding, with
        less padding to compute. For families whose model takes packed rows (Qwen2-VL,
        Qwen2.5-VL: ``Family.packed_positions``); the others train on padded rows.
    epochs, min_steps, max_steps: steps = clamp(ceil(epochs * n / batch_size), min_steps,
        max_steps) — a tiny kept set still gets enough steps, a big one a bounded budget.
    lora_r: LoRA rank.
    lora_alpha: LoRA scaling numerator (scale = alpha / r).
    lora_dropout: dropout on the LoRA input.
    lora_targets: module names to adapt; empty means the model family's default
        (``families.Family.lora_targets``; for Qwen2-VL the text attention projections, which
        leaves the vision tower, whose projections are named ``qkv``/``proj``, frozen).
    seed: shuffling, dropout and LoRA initialisation.
    checkpoint_every: keep the training state every this many steps (0: never), so a killed
        stage resumes from it to the same weights (``training.Checkpoint``); results do not
        depend on it.
    """

    method: str
    lr: float
    weight_decay: float
    betas: tuple[float, float]
    warmup_steps: int
    min_lr_ratio: float
    decay_fraction: float
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
    micro_batch_size: int
    gradient_checkpointing: bool
    checkpoint_every: int
    group_by_length: bool
    pack_sequences: bool

    def __post_init__(self) -> None:
        if self.method not in ("full", "lora"):
            raise ValueError(f"TrainConfig.method must be 'full' or 'lora', got {self.method!r}")
        # params.yaml gives lists; frozen dataclasses should hold hashable tuples.
        object.__setattr__(self, "betas", tuple(self.betas))
        object.__setattr__(self, "lora_targets", tuple(self.lora_targets))
        if not 0 < self.decay_fraction <= 1:
            raise ValueError(f"decay_fraction must be in (0, 1], got {self.decay_fraction}")
        if self.micro_batch_size < 0:
            raise ValueError(f"micro_batch_size must be >= 0, got {self.micro_batch_size}")
        if self.checkpoint_every < 0:
            raise ValueError(f"checkpoint_every must be >= 0, got {self.checkpoint_every}")
        if len(self.betas) != 2:
            raise ValueError(f"TrainConfig.betas must be two numbers, got {self.betas!r}")


DTYPES = ("auto", "float32", "bfloat16", "float16")
ATTENTION = ("auto", "eager", "sdpa", "flash_attention_2")


@dataclass(frozen=True)
class LoadConfig:
    """How every stage loads a model (params ``model.trust_remote_code``, ``model.dtype``,
    ``model.attn_implementation``); they change results, so they are params, unlike the device.

    trust_remote_code: run a checkpoint's own code (only ever from params, never from a file).
    dtype: "auto" is bf16 on a GPU that supports it (inference, and the frozen weights under
        LoRA, whose adapters peft keeps in fp32) and fp32 on CPU and for full fine-tuning's
        master weights; or one dtype for everything.
    attn_implementation: "auto" leaves it to transformers (sdpa where the model supports it);
        or "eager", "sdpa", "flash_attention_2".
    """

    trust_remote_code: bool
    dtype: str
    attn_implementation: str

    def __post_init__(self) -> None:
        if self.dtype not in DTYPES:
            raise ValueError(f"model.dtype must be one of {DTYPES}, got {self.dtype!r}")
        if self.attn_implementation not in ATTENTION:
            raise ValueError(
                f"model.attn_implementation must be one of {ATTENTION}, "
                f"got {self.attn_implementation!r}"
            )

    @classmethod
    def from_params(cls, params: dict) -> LoadConfig:
        from videostar.core import config

        return cls(
            trust_remote_code=config.value("model.trust_remote_code", bool, params),
            dtype=config.value("model.dtype", str, params),
            attn_implementation=config.value("model.attn_implementation", str, params),
        )
