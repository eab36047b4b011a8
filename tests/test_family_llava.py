"""What the generic family tests (tests/test_families.py) leave open for Video-LLaVA,
LLaVA-NeXT-Video and LLaVA-OneVision: the official prompt format, responses tokenized as the
original training format tokenizes them, visual token budgets, LoRA defaults that stay out of the
vision towers, and byte-identical tiny builds.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.test_families import lora
from videostar.lmm import builders, families, loading, training

pytestmark = pytest.mark.usefixtures("cpu_one_thread")

MODEL_TYPES = ["video_llava", "llava_next_video", "llava_onevision"]
TEXTS = [
    "the red ball moves left. So the answer is left.",
    "Which way does the ball go? What colour is the ball?",
] * 20
QUESTION = "What colour is the ball?"
VICUNA = f"USER: <video>\n{QUESTION} ASSISTANT:"
CHATML = f"<|im_start|>user\n<video>\n{QUESTION}<|im_end|>\n<|im_start|>assistant\n"
PROMPTS = {"video_llava": VICUNA, "llava_next_video": VICUNA, "llava_onevision": CHATML}
# The text after the prompt in the original training data: LLaVA v1 "ASSISTANT: {answer}</s>",
# ChatML "{answer}<|im_end|>".
TURN = {
    "video_llava": " {}</s>",
    "llava_next_video": " {}</s>",
    "llava_onevision": "{}<|im_end|>",
}
FRAMES = 8
# <video> tokens per 8-frame 32x32 clip (16 patches a frame): Video-LLaVA keeps CLIP's CLS,
# NeXT-Video pools 2x2, OneVision pools 2x2 and adds one newline per clip.
VIDEO_TOKENS = {"video_llava": 17 * FRAMES, "llava_next_video": 4 * FRAMES, "llava_onevision": 33}


@pytest.fixture(scope="module", params=MODEL_TYPES)
def checkpoint(request, tmp_path_factory) -> tuple[str, Path]:
    out = tmp_path_factory.mktemp(request.param)
    builders.build(request.param, out, TEXTS)
    return request.param, out


def clip(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (FRAMES, 32, 32, 3), dtype=np.uint8)


def test_the_prompt_is_the_official_format(checkpoint) -> None:
    model_type, path = checkpoint
    model, processor = loading.load(path)
    assert families.for_model(model).prompt(processor, QUESTION) == PROMPTS[model_type]


def test_prompt_then_response_tokens_are_the_original_training_format(checkpoint) -> None:
    model_type, path = checkpoint
    model, processor = loading.load(path)
    family, tok = families.for_model(model), processor.tokenizer
    answer = "the red ball moves left."
    prompt = family.prompt(processor, QUESTION)
    ids = tok(prompt)["input_ids"]
    ids += tok(family.response(processor, answer), add_special_tokens=False)["input_ids"]
    assert ids == tok(prompt + TURN[model_type].format(answer))["input_ids"]
    if model_type != "llava_onevision":
        assert ids[0] == tok.bos_token_id  # Llama prompts open with <s>


def test_video_token_budget(checkpoint) -> None:
    model_type, path = checkpoint
    model, processor = loading.load(path)
    inputs = families.for_model(model).inputs(
        processor, [QUESTION, "Describe it."], [clip(0), clip(1)]
    )
    counts = (inputs["input_ids"] == model.config.video_token_id).sum(dim=1)
    assert counts.tolist() == [VIDEO_TOKENS[model_type]] * 2
    assert inputs["pixel_values_videos"].shape == (2, FRAMES, 3, 32, 32)


def test_default_lora_adapts_only_the_language_models_attention(checkpoint) -> None:
    _, path = checkpoint
    model, processor = loading.load(path, for_training=True)
    names = {n for n, _ in model.named_modules()}
    cfg = lora(lr=1e-3, batch_size=1, max_steps=1, lora_r=4, lora_alpha=8)
    trained = training.train(model, processor, [(clip(), QUESTION, "red.")], cfg)["model"]
    targeted = set(trained.base_model.targeted_module_names)
    expected = {
        n
        for n in names
        if ".language_model.layers." in n
        and n.split(".")[-1] in ("q_proj", "k_proj", "v_proj", "o_proj")
    }
    assert targeted == expected and len(expected) == 2 * 4  # 2 layers x q, k, v, o
    # The vision towers have q_proj/k_proj/v_proj too; none of them is adapted.
    assert any("tower" in n and n.endswith("q_proj") for n in names)


@pytest.mark.parametrize("model_type", MODEL_TYPES)
def test_builds_are_byte_identical(model_type, tmp_path) -> None:
    for name in ("a", "b"):
        builders.build(model_type, tmp_path / name, TEXTS, seed=3)
    files = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert files == sorted(p.name for p in (tmp_path / "b").iterdir())
    for name in files:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
