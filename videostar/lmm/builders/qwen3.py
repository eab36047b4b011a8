"""A tiny random-weight Qwen3-VL (the architecture of Qwen/Qwen3-VL-2B-Instruct), built offline."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from videostar.lmm import tiny
from videostar.lmm.loading import seed_torch

# Qwen3-VL-Instruct's chat template, less tool calls: no default system prompt; a video is
# <|vision_start|><|video_pad|><|vision_end|>, and the processor expands the pad into one
# "<t seconds><|vision_start|>pads<|vision_end|>" block per temporal patch (outer pair kept).
CHAT_TEMPLATE = (
    "{%- for message in messages %}"
    "{{- '<|im_start|>' + message['role'] + '\n' }}"
    "{%- if message['content'] is string %}{{- message['content'] }}"
    "{%- else %}{%- for content in message['content'] %}"
    "{%- if content['type'] == 'image' %}<|vision_start|><|image_pad|><|vision_end|>"
    "{%- elif content['type'] == 'video' %}<|vision_start|><|video_pad|><|vision_end|>"
    "{%- elif content['type'] == 'text' %}{{- content['text'] }}"
    "{%- endif %}{%- endfor %}{%- endif %}"
    "{{- '<|im_end|>\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\n' }}{%- endif %}"
)


def qwen3_vl(out: Path, texts: Sequence[str], seed: int = 0) -> None:
    """A random Qwen3-VL: 32x32 frames in 8x8 patches, 2x2 merged (4 tokens per 2 frames)."""
    from transformers import (
        Qwen2VLImageProcessorPil,
        Qwen3VLConfig,
        Qwen3VLForConditionalGeneration,
        Qwen3VLProcessor,
        Qwen3VLVideoProcessor,
    )

    tokenizer = tiny.train_tokenizer(texts, 512)
    tokenizer.chat_template = CHAT_TEMPLATE
    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in tiny.SPECIAL_TOKENS}
    common = {"patch_size": 8, "temporal_patch_size": 2, "merge_size": 2}
    processor = Qwen3VLProcessor(
        image_processor=Qwen2VLImageProcessorPil(
            **common, size={"shortest_edge": 1024, "longest_edge": 1024}
        ),
        # Qwen3-VL budgets pixels over the whole clip (frames x height x width): up to 64 frames
        # of 32x32 pass unresized.
        video_processor=Qwen3VLVideoProcessor(
            **common,
            size={"shortest_edge": 1024, "longest_edge": 64 * 1024},
            do_sample_frames=False,
            cap_pixels_per_frame=False,
        ),
        tokenizer=tokenizer,
        chat_template=CHAT_TEMPLATE,
    )
    config = Qwen3VLConfig(
        text_config={
            "vocab_size": len(tokenizer),
            "hidden_size": 64,
            "intermediate_size": 128,
            "num_hidden_layers": 2,
            "num_attention_heads": 4,
            "num_key_value_heads": 2,
            "head_dim": 16,
            "max_position_embeddings": 4096,
            # Interleaved M-RoPE over the 8 rotary frequencies, split as Qwen3-VL's 24:20:20.
            "rope_parameters": {
                "rope_type": "default",
                "rope_theta": 5e6,
                "mrope_section": [4, 2, 2],
                "mrope_interleaved": True,
            },
            "bos_token_id": ids["<|endoftext|>"],
            "eos_token_id": ids["<|im_end|>"],
            "pad_token_id": ids["<|endoftext|>"],
        },
        vision_config={
            "depth": 2,
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_heads": 2,
            "patch_size": 8,
            "temporal_patch_size": 2,
            "spatial_merge_size": 2,
            "out_hidden_size": 64,
            "num_position_embeddings": 64,
            "deepstack_visual_indexes": [0],
        },
        image_token_id=ids["<|image_pad|>"],
        video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"],
        vision_end_token_id=ids["<|vision_end|>"],
    )
    seed_torch(seed)
    model = Qwen3VLForConditionalGeneration(config)
    # Qwen3-VL-Instruct stops on <|im_end|> or <|endoftext|>.
    model.generation_config.eos_token_id = [ids["<|im_end|>"], ids["<|endoftext|>"]]
    model.generation_config.pad_token_id = ids["<|endoftext|>"]
    model.generation_config.bos_token_id = ids["<|endoftext|>"]
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    processor.save_pretrained(out)


BUILDERS = {"qwen3_vl": qwen3_vl}
