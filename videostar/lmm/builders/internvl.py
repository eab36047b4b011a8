"""A tiny random-weight InternVL ("-hf", transformers-native) checkpoint, built offline.

InternViT sees each 32x32 frame as 4x4 patches of 8 pixels; the pixel shuffle (downsample 0.5)
leaves 2x2 = 4 ``<IMG_CONTEXT>`` tokens per frame, so ``image_seq_length`` is 4. The language
model is a 2-layer Qwen2, as in InternVL3-1B/2B.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from videostar.lmm import tiny
from videostar.lmm.loading import seed_torch

# The tokenizer attributes InternVLProcessor reads (names as in the -hf tokenizer_config.json).
IMAGE_TOKENS = {
    "start_image_token": "<img>",
    "end_image_token": "</img>",
    "context_image_token": "<IMG_CONTEXT>",
    "video_token": "<video>",
}

# The -hf checkpoints' template: a video is "<video>\n", which the processor expands per frame into
# "Frame1: <img><IMG_CONTEXT>...</img>\nFrame2: ...". No default system prompt.
CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for content in message['content'] %}"
    "{% if content['type'] == 'image' %}<IMG_CONTEXT>\n"
    "{% elif content['type'] == 'video' %}<video>\n"
    "{% elif content['type'] == 'text' %}{{ content['text'] }}{% endif %}"
    "{% endfor %}{% endif %}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

FRAME = 32
PATCH = 8
DOWNSAMPLE = 0.5


def internvl(out: Path, texts: Sequence[str], seed: int = 0) -> None:
    """A random InternVLForConditionalGeneration (InternViT + Qwen2) with its official processor."""
    from transformers import (
        GotOcr2ImageProcessor,
        InternVLConfig,
        InternVLForConditionalGeneration,
        InternVLProcessor,
        InternVLVideoProcessor,
        PreTrainedTokenizerFast,
    )

    base = tiny.train_tokenizer(texts, 512)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=base.backend_tokenizer,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        extra_special_tokens=IMAGE_TOKENS,
        chat_template=CHAT_TEMPLATE,
        model_max_length=4096,
    )
    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in ("<|endoftext|>", "<|im_end|>")}
    size = {"height": FRAME, "width": FRAME}
    image_seq_length = int((FRAME // PATCH) ** 2 * DOWNSAMPLE**2)
    processor = InternVLProcessor(
        image_processor=GotOcr2ImageProcessor(size=size, max_patches=4),
        video_processor=InternVLVideoProcessor(size=size, do_sample_frames=False),
        tokenizer=tokenizer,
        image_seq_length=image_seq_length,
        chat_template=CHAT_TEMPLATE,
    )
    config = InternVLConfig(
        text_config={
            "model_type": "qwen2",
            "vocab_size": len(tokenizer),
            "hidden_size": 64,
            "intermediate_size": 128,
            "num_hidden_layers": 2,
            "num_attention_heads": 4,
            "num_key_value_heads": 2,
            "max_position_embeddings": 4096,
            "tie_word_embeddings": True,
            "bos_token_id": ids["<|endoftext|>"],
            "eos_token_id": ids["<|im_end|>"],
            "pad_token_id": ids["<|endoftext|>"],
        },
        vision_config={
            "hidden_size": 32,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "intermediate_size": 64,
            "image_size": FRAME,
            "patch_size": PATCH,
        },
        image_token_id=tokenizer.context_image_token_id,
        image_seq_length=image_seq_length,
        downsample_ratio=DOWNSAMPLE,
    )
    seed_torch(seed)
    model = InternVLForConditionalGeneration(config)
    model.generation_config.eos_token_id = ids["<|im_end|>"]
    model.generation_config.pad_token_id = ids["<|endoftext|>"]
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    processor.save_pretrained(out)


BUILDERS = {"internvl": internvl}
