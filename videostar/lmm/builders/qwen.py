"""Tiny random-weight Qwen-family checkpoints, built offline (the default base is tiny.build_tiny)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from videostar.lmm import tiny
from videostar.lmm.config import TinyConfig
from videostar.lmm.loading import seed_torch


def qwen2_vl(out: Path, texts: Sequence[str], seed: int = 0) -> None:
    """The pipeline's default tiny Qwen2-VL (params ``model.tiny`` defaults)."""
    tiny.build_tiny(TinyConfig(seed=seed), texts, out)


def qwen2_5_vl(out: Path, texts: Sequence[str], seed: int = 0) -> None:
    """A random Qwen2.5-VL with the tiny tokenizer and processor sizes, built offline."""
    from transformers import (
        Qwen2_5_VLConfig,
        Qwen2_5_VLForConditionalGeneration,
        Qwen2_5_VLProcessor,
        Qwen2VLImageProcessorPil,
        Qwen2VLVideoProcessor,
    )

    tokenizer = tiny.train_tokenizer(texts, 512)
    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in tiny.SPECIAL_TOKENS}
    common = {
        "size": {"shortest_edge": 1024, "longest_edge": 1024},
        "patch_size": 8,
        "temporal_patch_size": 2,
        "merge_size": 2,
    }
    processor = Qwen2_5_VLProcessor(
        image_processor=Qwen2VLImageProcessorPil(**common),
        video_processor=Qwen2VLVideoProcessor(
            **common, do_sample_frames=False, cap_pixels_per_frame=False
        ),
        tokenizer=tokenizer,
        chat_template=tiny.CHAT_TEMPLATE,
    )
    config = Qwen2_5_VLConfig(
        text_config={
            "vocab_size": len(tokenizer),
            "hidden_size": 64,
            "intermediate_size": 128,
            "num_hidden_layers": 2,
            "num_attention_heads": 4,
            "num_key_value_heads": 2,
            "rope_parameters": {
                "rope_type": "default",
                "rope_theta": 1e4,
                "mrope_section": [2, 3, 3],
            },
            "bos_token_id": ids["<|endoftext|>"],
            "eos_token_id": ids["<|im_end|>"],
            "pad_token_id": ids["<|endoftext|>"],
        },
        vision_config={
            "depth": 2,
            "hidden_size": 32,
            "out_hidden_size": 64,
            "intermediate_size": 64,
            "num_heads": 2,
            "patch_size": 8,
            "temporal_patch_size": 2,
            "spatial_merge_size": 2,
            "window_size": 32,
            "fullatt_block_indexes": [1],
        },
        image_token_id=ids["<|image_pad|>"],
        video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"],
        vision_end_token_id=ids["<|vision_end|>"],
    )
    seed_torch(seed)
    model = Qwen2_5_VLForConditionalGeneration(config)
    model.generation_config.eos_token_id = ids["<|im_end|>"]
    model.generation_config.pad_token_id = ids["<|endoftext|>"]
    model.save_pretrained(out)
    processor.save_pretrained(out)


BUILDERS = {"qwen2_vl": qwen2_vl, "qwen2_5_vl": qwen2_5_vl}
