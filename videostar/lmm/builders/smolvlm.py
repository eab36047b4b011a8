"""A tiny random-weight SmolVLM2 (the architecture of HuggingFaceTB/SmolVLM2-256M-Video-Instruct:
an Idefics3-style SigLIP vision tower, a pixel-shuffle connector and a Llama language model),
built offline."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from videostar.lmm import tiny
from videostar.lmm.loading import seed_torch

# SmolVLM2's tokens: <|im_start|> opens the conversation, <end_of_utterance> closes each turn,
# a frame is <fake_token_around_image><global-img><image>...<fake_token_around_image>, and the
# row/column tokens mark the tiles of a split image (images only; video frames are never split).
SPECIAL_TOKENS = (
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<end_of_utterance>",
    "<fake_token_around_image>",
    "<image>",
    "<global-img>",
    *(f"<row_{r}_col_{c}>" for r in range(1, 7) for c in range(1, 7)),
)

# SmolVLM2's video chat template (transformers' SmolVLMProcessor applies this very template to
# any conversation holding a video). The processor expands <video> into "You are provided the
# following series of N frames from a H:MM:SS video." and one "Frame from MM:SS:" image per frame.
CHAT_TEMPLATE = (
    "<|im_start|>{% for message in messages %}{{message['role'] | capitalize}}"
    "{% if message['content'] is string %}{{': ' + message['content']}}"
    "{% else %}{% if message['content'][0]['type'] == 'image' %}{{':'}}{% else %}{{': '}}{% endif %}"
    "{% for line in message['content'] %}{% if line['type'] == 'text' %}{{line['text']}}"
    "{% elif line['type'] == 'image' %}{{ '<image>' }}"
    "{% elif line['type'] == 'video' %}{{ '<video>' }}{% endif %}{% endfor %}{% endif %}"
    "<end_of_utterance>\n{% endfor %}{% if add_generation_prompt %}{{ 'Assistant:' }}{% endif %}"
)

FRAME_SIZE = 32  # frames are squared to this side (the tower's image_size)
PATCH_SIZE = 8
SCALE_FACTOR = 2  # pixel shuffle: (32 / 8)^2 patches / 2^2 = 4 tokens per frame
IMAGE_SEQ_LEN = (FRAME_SIZE // PATCH_SIZE) ** 2 // SCALE_FACTOR**2


def train_tokenizer(texts: Iterable[str], vocab_size: int) -> Any:
    """A byte-level BPE on ``texts`` with SmolVLM2's special tokens and roles."""
    return tiny.train_tokenizer(
        texts, vocab_size, SPECIAL_TOKENS, CHAT_TEMPLATE, 8192,
        bos_token="<|im_start|>", eos_token="<end_of_utterance>", pad_token="<|im_end|>",
        unk_token="<|endoftext|>",
    )  # fmt: skip


def smolvlm(out: Path, texts: Sequence[str], seed: int = 0) -> None:
    """A random SmolVLM2: 32x32 frames, 4 image tokens each."""
    from transformers import (
        SmolVLMConfig,
        SmolVLMForConditionalGeneration,
        SmolVLMImageProcessorPil,
        SmolVLMProcessor,
        SmolVLMVideoProcessor,
    )

    tokenizer = train_tokenizer(texts, 512)
    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in SPECIAL_TOKENS}
    processor = SmolVLMProcessor(
        image_processor=SmolVLMImageProcessorPil(
            size={"longest_edge": 4 * FRAME_SIZE}, max_image_size={"longest_edge": FRAME_SIZE}
        ),
        # SmolVLM2 samples videos at 1 fps, at most 64 frames.
        video_processor=SmolVLMVideoProcessor(
            size={"longest_edge": FRAME_SIZE},
            max_image_size={"longest_edge": FRAME_SIZE},
            fps=1,
            num_frames=64,
            do_sample_frames=False,
        ),
        tokenizer=tokenizer,
        image_seq_len=IMAGE_SEQ_LEN,
        chat_template=CHAT_TEMPLATE,
    )
    config = SmolVLMConfig(
        text_config={
            "model_type": "llama",
            "vocab_size": len(tokenizer),
            "hidden_size": 64,
            "intermediate_size": 128,
            "num_hidden_layers": 2,
            "num_attention_heads": 4,
            "num_key_value_heads": 2,
            "max_position_embeddings": 8192,
            "rope_parameters": {"rope_type": "default", "rope_theta": 1e5},
            "rms_norm_eps": 1e-5,
            "bos_token_id": ids["<|im_start|>"],
            "eos_token_id": ids["<end_of_utterance>"],
            "pad_token_id": ids["<|im_end|>"],
        },
        vision_config={
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "image_size": FRAME_SIZE,
            "patch_size": PATCH_SIZE,
        },
        scale_factor=SCALE_FACTOR,
        image_token_id=ids["<image>"],
        pad_token_id=ids["<|im_end|>"],
    )
    seed_torch(seed)
    model = SmolVLMForConditionalGeneration(config)
    model.generation_config.eos_token_id = ids["<end_of_utterance>"]
    model.generation_config.pad_token_id = ids["<|im_end|>"]
    model.generation_config.bos_token_id = ids["<|im_start|>"]
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    processor.save_pretrained(out)


BUILDERS = {"smolvlm": smolvlm}
