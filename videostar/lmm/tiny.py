"""The tiny offline models: a random Qwen2-VL (the pipeline's default base) and a random Qwen2 text LM.

    tiny.build_tiny(TinyConfig(), corpus_texts, Path("models/base"))   # byte-deterministic files
    tiny.build_tiny_text_lm(Path("models/qgen"), corpus_texts)          # for generate_text tests

Both train a byte-level BPE (``train_tokenizer``) on the given texts with the Qwen special tokens
first, and use ``CHAT_TEMPLATE``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from videostar.lmm.config import TinyConfig
from videostar.lmm.loading import seed_torch

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


def train_tokenizer(
    texts: Iterable[str],
    vocab_size: int,
    special_tokens: Sequence[str] = SPECIAL_TOKENS,
    chat_template: str = CHAT_TEMPLATE,
    model_max_length: int = 4096,
    **roles: str,
) -> Any:
    """A byte-level BPE trained on ``texts``, ``special_tokens`` first (ids 0, 1, ...). ``roles``:
    the tokenizer's eos/pad/bos/unk tokens (default Qwen's eos ``<|im_end|>``, pad
    ``<|endoftext|>``)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(special_tokens),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator(list(texts), trainer=trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=bpe,
        **(roles or {"eos_token": "<|im_end|>", "pad_token": "<|endoftext|>"}),
        chat_template=chat_template,
        model_max_length=model_max_length,
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

    tokenizer = train_tokenizer(texts, cfg.vocab_size)
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
    seed_torch(cfg.seed)
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

    tokenizer = train_tokenizer(texts, 512)
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
    seed_torch(seed)
    model = Qwen2ForCausalLM(config)
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
