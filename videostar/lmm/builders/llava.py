"""Tiny random-weight LLaVA-family checkpoints, built offline with each family's own config, model
and processor classes and an equivalent of its official chat template.

- ``video_llava`` (the paper's base, LanguageBind/Video-LLaVA-7B-hf): CLIP video tower + Llama.
- ``llava_next_video`` (llava-hf/LLaVA-NeXT-Video-7B-hf): CLIP + Llama, frames pooled 2x2.
- ``llava_onevision`` (llava-hf/llava-onevision-qwen2-0.5b-ov-hf): SigLIP + Qwen2, frames pooled
  2x2 and one newline embedding per video.

The two Llama-based families get a ``LlamaTokenizer`` trained on the texts: like the real one it
marks word starts with ``▁``, prepends ``<s>`` and falls back to bytes, so the response convention
(``text</s>`` tokenized on its own continues ``... ASSISTANT:``) is exercised as it really is.
OneVision gets the byte-level BPE of ``tiny.train_tokenizer``, as Qwen2's is.

Frames are 32x32 pixels in 8-pixel patches, 16 patches per frame.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from videostar.lmm import tiny
from videostar.lmm.loading import seed_torch

FRAME = 32
PATCH = 8
# Frames per clip the token counts in the configs are written for (Video-LLaVA is trained on 8).
FRAMES = 8

TEXT = {
    "hidden_size": 64,
    "intermediate_size": 128,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "max_position_embeddings": 4096,
}
TOWER = {
    "hidden_size": 32,
    "intermediate_size": 64,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "image_size": FRAME,
    "patch_size": PATCH,
}
# Any-resolution image grids at the tiny scale (images only; videos never use them).
PINPOINTS = [[FRAME, FRAME], [FRAME, 2 * FRAME], [2 * FRAME, FRAME], [2 * FRAME, 2 * FRAME]]

# llava-hf's Vicuna template (Video-LLaVA-7B-hf, LLaVA-NeXT-Video-7B-hf): no default system prompt,
# "USER: <video>\n{text} ASSISTANT:"; the assistant's turn ends with </s>.
VICUNA_TEMPLATE = (
    "{% for message in messages %}"
    "{% if message['role'] != 'system' %}{{ message['role'].upper() + ': ' }}{% endif %}"
    "{% for content in message['content'] | selectattr('type', 'equalto', 'image') %}"
    "{{ '<image>\n' }}{% endfor %}"
    "{% for content in message['content'] | selectattr('type', 'equalto', 'video') %}"
    "{{ '<video>\n' }}{% endfor %}"
    "{% if message['role'] != 'assistant' %}"
    "{% for content in message['content'] | selectattr('type', 'equalto', 'text') %}"
    "{{ content['text'] + ' ' }}{% endfor %}"
    "{% else %}"
    "{% for content in message['content'] | selectattr('type', 'equalto', 'text') %}"
    "{% generation %}{{ content['text'] + ' ' }}{% endgeneration %}{% endfor %}"
    "{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}{{ 'ASSISTANT:' }}{% endif %}"
)

# llava-hf's OneVision template: ChatML, visual tokens first on their own line, no system prompt.
ONEVISION_TEMPLATE = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' }}"
    "{% for content in message['content'] | selectattr('type', 'equalto', 'image') %}"
    "{{ '<image>\n' }}{% endfor %}"
    "{% for content in message['content'] | selectattr('type', 'equalto', 'video') %}"
    "{{ '<video>\n' }}{% endfor %}"
    "{% if message['role'] != 'assistant' %}"
    "{% for content in message['content'] | selectattr('type', 'equalto', 'text') %}"
    "{{ content['text'] }}{% endfor %}"
    "{% else %}"
    "{% for content in message['content'] | selectattr('type', 'equalto', 'text') %}"
    "{% generation %}{{ content['text'] }}{% endgeneration %}{% endfor %}"
    "{% endif %}{{ '<|im_end|>\n' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


def llama_tokenizer(texts: Sequence[str], extra: Sequence[str], vocab_size: int = 256) -> Any:
    """A ``LlamaTokenizer`` trained on ``texts``: <unk>, <s>, </s>, the 256 byte-fallback tokens,
    the learned pieces, then ``extra`` special tokens; the pad token is ``<pad>``."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import AddedToken, LlamaTokenizer

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    bpe.train_from_iterator(
        list(texts), trainer=trainers.BpeTrainer(vocab_size=vocab_size, show_progress=False)
    )
    learned = json.loads(bpe.to_str())["model"]
    pieces = sorted(learned["vocab"], key=learned["vocab"].get)
    tokens = ["<unk>", "<s>", "</s>", *(f"<0x{b:02X}>" for b in range(256)), *pieces]
    tokenizer = LlamaTokenizer(
        vocab={token: i for i, token in enumerate(tokens)},
        merges=[tuple(pair) for pair in learned["merges"]],
        add_bos_token=True,
        model_max_length=4096,
    )
    tokenizer.add_tokens(
        [AddedToken(t, special=True, normalized=False) for t in extra], special_tokens=True
    )
    tokenizer.pad_token = "<pad>"
    return tokenizer


def _clip() -> dict[str, Any]:
    return {"model_type": "clip_vision_model", **TOWER, "projection_dim": 32}


def _llama(tokenizer: Any) -> dict[str, Any]:
    return {
        "model_type": "llama",
        **TEXT,
        "vocab_size": len(tokenizer),
        "bos_token_id": tokenizer.bos_token_id,
        "eos_token_id": tokenizer.eos_token_id,
        "pad_token_id": tokenizer.pad_token_id,
    }


def _save(model: Any, processor: Any, tokenizer: Any, out: Path) -> None:
    model.generation_config.bos_token_id = tokenizer.bos_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.save_pretrained(out)
    processor.save_pretrained(out)


def video_llava(out: Path, texts: Sequence[str], seed: int = 0) -> None:
    """A random Video-LLaVA: separate CLIP image and video towers, Llama LM."""
    from transformers import (
        VideoLlavaConfig,
        VideoLlavaForConditionalGeneration,
        VideoLlavaImageProcessor,
        VideoLlavaProcessor,
        VideoLlavaVideoProcessor,
    )

    tokenizer = llama_tokenizer(texts, ["<image>", "<video>", "<pad>"])
    sizes = {"size": {"shortest_edge": FRAME}, "crop_size": {"height": FRAME, "width": FRAME}}
    processor = VideoLlavaProcessor(
        image_processor=VideoLlavaImageProcessor(**sizes),
        video_processor=VideoLlavaVideoProcessor(**sizes),
        tokenizer=tokenizer,
        patch_size=PATCH,
        vision_feature_select_strategy="default",
        num_additional_image_tokens=1,  # CLIP's CLS token
        chat_template=VICUNA_TEMPLATE,
    )
    patches = (FRAME // PATCH) ** 2
    config = VideoLlavaConfig(
        vision_config=_clip(),
        text_config=_llama(tokenizer),
        image_token_index=tokenizer.convert_tokens_to_ids("<image>"),
        video_token_index=tokenizer.convert_tokens_to_ids("<video>"),
        image_seq_length=patches,
        # Videos keep CLS: (patches + 1) tokens per frame.
        video_seq_length=(patches + 1) * FRAMES,
    )
    seed_torch(seed)
    _save(VideoLlavaForConditionalGeneration(config), processor, tokenizer, out)


def llava_next_video(out: Path, texts: Sequence[str], seed: int = 0) -> None:
    """A random LLaVA-NeXT-Video: CLIP tower, 2x2 average pooling of frame features, Llama LM."""
    from transformers import (
        LlavaNextImageProcessorPil,
        LlavaNextVideoConfig,
        LlavaNextVideoForConditionalGeneration,
        LlavaNextVideoProcessor,
        LlavaNextVideoVideoProcessor,
    )

    tokenizer = llama_tokenizer(texts, ["<video>", "<image>", "<pad>"])
    sizes = {"size": {"shortest_edge": FRAME}, "crop_size": {"height": FRAME, "width": FRAME}}
    processor = LlavaNextVideoProcessor(
        video_processor=LlavaNextVideoVideoProcessor(**sizes),
        image_processor=LlavaNextImageProcessorPil(**sizes, image_grid_pinpoints=PINPOINTS),
        tokenizer=tokenizer,
        patch_size=PATCH,
        vision_feature_select_strategy="default",
        num_additional_image_tokens=1,
        chat_template=VICUNA_TEMPLATE,
    )
    patches = (FRAME // PATCH) ** 2
    config = LlavaNextVideoConfig(
        vision_config=_clip(),
        text_config=_llama(tokenizer),
        image_token_index=tokenizer.convert_tokens_to_ids("<image>"),
        video_token_index=tokenizer.convert_tokens_to_ids("<video>"),
        image_grid_pinpoints=PINPOINTS,
        image_seq_length=patches,
        video_seq_length=patches // 4 * FRAMES,
    )
    seed_torch(seed)
    _save(LlavaNextVideoForConditionalGeneration(config), processor, tokenizer, out)


def llava_onevision(out: Path, texts: Sequence[str], seed: int = 0) -> None:
    """A random LLaVA-OneVision: SigLIP tower (no CLS, last layer), Qwen2 LM with tied embeddings
    as in the 0.5B checkpoint."""
    from transformers import (
        AddedToken,
        LlavaOnevisionConfig,
        LlavaOnevisionForConditionalGeneration,
        LlavaOnevisionImageProcessorPil,
        LlavaOnevisionProcessor,
        LlavaOnevisionVideoProcessor,
    )

    tokenizer = tiny.train_tokenizer(texts, 512)
    tokenizer.add_tokens(
        [AddedToken(t, special=True, normalized=False) for t in ("<image>", "<video>")],
        special_tokens=True,
    )
    # SigLIP normalises to [-1, 1].
    sizes = {"size": {"height": FRAME, "width": FRAME}, "image_mean": 0.5, "image_std": 0.5}
    processor = LlavaOnevisionProcessor(
        image_processor=LlavaOnevisionImageProcessorPil(**sizes, image_grid_pinpoints=PINPOINTS),
        tokenizer=tokenizer,
        video_processor=LlavaOnevisionVideoProcessor(**sizes),
        num_image_tokens=(FRAME // PATCH) ** 2,
        vision_feature_select_strategy="full",
        chat_template=ONEVISION_TEMPLATE,
    )
    config = LlavaOnevisionConfig(
        vision_config={"model_type": "siglip_vision_model", **TOWER, "vision_use_head": False},
        text_config={
            "model_type": "qwen2",
            **TEXT,
            "vocab_size": len(tokenizer),
            "tie_word_embeddings": True,
            "bos_token_id": tokenizer.pad_token_id,
            "eos_token_id": tokenizer.eos_token_id,
            "pad_token_id": tokenizer.pad_token_id,
        },
        image_token_index=tokenizer.convert_tokens_to_ids("<image>"),
        video_token_index=tokenizer.convert_tokens_to_ids("<video>"),
        image_grid_pinpoints=PINPOINTS,
        vision_feature_select_strategy="full",
        vision_feature_layer=-1,
        tie_word_embeddings=True,
    )
    seed_torch(seed)
    model = LlavaOnevisionForConditionalGeneration(config)
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.save_pretrained(out)
    processor.save_pretrained(out)


BUILDERS = {
    "video_llava": video_llava,
    "llava_next_video": llava_next_video,
    "llava_onevision": llava_onevision,
}
