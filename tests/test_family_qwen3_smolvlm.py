"""Qwen3-VL and SmolVLM2 beyond the generic family tests: reproducible tiny checkpoints, the frame
timestamps both processors write into the prompt, LoRA kept off the vision tower, and training
batches that mix clip lengths.

    .venv/bin/pytest -q tests/test_family_qwen3_smolvlm.py
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch

from videostar.lmm import builders, families, loading, training
from videostar.video.clips import Clip

pytestmark = pytest.mark.usefixtures("cpu_one_thread")

TEXTS = ["the red ball moves left. So the answer is left.", "What colour is the ball?"] * 30
MODEL_TYPES = ["qwen3_vl", "smolvlm"]


@pytest.fixture(scope="module", params=MODEL_TYPES)
def checkpoint(request, tmp_path_factory) -> tuple[str, Path]:
    out = tmp_path_factory.mktemp(request.param)
    builders.build(request.param, out, TEXTS)
    return request.param, out


def _clip(frames: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (frames, 32, 32, 3), dtype=np.uint8)


def test_the_same_texts_and_seed_give_byte_identical_files(checkpoint, tmp_path) -> None:
    model_type, path = checkpoint
    builders.build(model_type, tmp_path, TEXTS)
    names = sorted(p.name for p in path.iterdir())
    assert names == sorted(p.name for p in tmp_path.iterdir())
    for name in names:
        assert (path / name).read_bytes() == (tmp_path / name).read_bytes(), name


# Frames are described as sampled at the processor's own rate: Qwen3-VL 2 fps, one timestamp per
# two frames (their mean); SmolVLM2 1 fps, one per frame, and the clip's duration.
EXPECTED_TIMES = {
    "qwen3_vl": ["<0.2 seconds>", "<1.2 seconds>", "<2.2 seconds>", "<3.2 seconds>"],
    "smolvlm": ["eight frames from a 0:00:08"] + [f"Frame from 00:{s:02d}:" for s in range(8)],
}


def test_prompts_carry_the_frames_timestamps(checkpoint) -> None:
    model_type, path = checkpoint
    model, processor = loading.load(path)
    family = families.for_model(model)
    inputs = family.inputs(processor, ["Where does it go?"], [_clip(8)])
    text = processor.tokenizer.decode(inputs["input_ids"][0])
    positions = [text.index(t) for t in EXPECTED_TIMES[model_type]]
    assert positions == sorted(positions)
    assert text.index("Where does it go?") > positions[-1]


# A decoded clip's own times: 8 of 48 frames at 2 fps, one every 3 s, a 24 s clip.
CLIP_TIMES = {
    "qwen3_vl": ["<1.5 seconds>", "<7.5 seconds>", "<13.5 seconds>", "<19.5 seconds>"],
    "smolvlm": ["eight frames from a 0:00:24"]
    + [f"Frame from 00:{s:02d}:" for s in range(0, 24, 3)],
}


def test_prompts_carry_a_decoded_clips_own_times(checkpoint) -> None:
    model_type, path = checkpoint
    model, processor = loading.load(path)
    family = families.for_model(model)
    clip = Clip(_clip(8), indices=tuple(range(0, 48, 6)), fps=2.0, length=48)
    inputs = family.inputs(processor, ["Where does it go?"], [clip])
    text = processor.tokenizer.decode(inputs["input_ids"][0])
    positions = [text.index(t) for t in CLIP_TIMES[model_type]]
    assert positions == sorted(positions)
    (encoded,) = family.encode(processor, [(clip, "Where does it go?")])
    assert torch.equal(encoded.ids, inputs["input_ids"][0])


def test_the_response_is_what_the_template_writes_after_the_generation_prompt(checkpoint) -> None:
    _, path = checkpoint
    model, processor = loading.load(path)
    family = families.for_model(model)
    turn = family.conversation("Where does it go?")
    answer = "the ball moves left."
    reply = {"role": "assistant", "content": [{"type": "text", "text": answer}]}
    whole = processor.apply_chat_template([*turn, reply], tokenize=False)
    assert whole.startswith(
        family.prompt(processor, "Where does it go?") + family.response(processor, answer)
    )


def test_default_lora_targets_are_the_language_models_attention_only(checkpoint) -> None:
    _, path = checkpoint
    model, _ = loading.load(path)
    targets = families.for_model(model).lora_targets
    names = [name for name, _ in model.named_modules()]
    # peft's rules: a string is a regular expression over the full name, a tuple dotted suffixes.
    if isinstance(targets, str):
        hit = {n for n in names if re.fullmatch(targets, n)}
    else:
        hit = {n for n in names if any(n == t or n.endswith("." + t) for t in targets)}
    attention = re.compile(r".*(language_model|text_model)\.layers\.\d+\.self_attn\.[qkvo]_proj")
    expected = {n for n in names if attention.fullmatch(n)}
    assert len(expected) == 2 * 4  # 2 layers x q, k, v, o
    assert hit == expected


def test_a_batch_of_clips_of_different_lengths_gives_each_row_its_own_logits(checkpoint) -> None:
    _, path = checkpoint
    model, processor = loading.load(path)
    family = families.for_model(model)
    examples = [
        (_clip(8, seed=1), "What colour is the ball?", "red."),
        (_clip(4, seed=2), "Which way does it go?", "the ball moves left."),
    ]
    enc = training.Encoder(processor, examples, family)
    pad_id = processor.tokenizer.pad_token_id
    with torch.no_grad():
        together = model(**training.collate(enc, [0, 1], pad_id)).logits
        for row in range(2):
            alone = model(**training.collate(enc, [row], pad_id)).logits[0]
            n = alone.shape[0]
            torch.testing.assert_close(together[row, :n], alone, rtol=1e-4, atol=1e-4)
