"""InternVL specifics on the tiny -hf checkpoint: per-frame video expansion, LoRA only on the
language model, byte-deterministic builds. The shared behaviour is in tests/test_families.py.

    .venv/bin/python -m pytest tests/test_family_internvl.py -q
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from videostar.lmm import builders, families, loading, training
from videostar.lmm.builders.internvl import IMAGE_TOKENS
from videostar.lmm.config import TrainConfig

pytestmark = [
    pytest.mark.usefixtures("cpu_one_thread"),
    pytest.mark.filterwarnings("ignore::FutureWarning"),
]

LORA = TrainConfig(method="lora", lr=1e-3, weight_decay=0.0, betas=(0.9, 0.98), warmup_steps=1,
                   min_lr_ratio=0.1, decay_fraction=1.0, grad_clip=1.0, batch_size=2, epochs=1.0, min_steps=1,
                   max_steps=1, lora_r=4, lora_alpha=8, lora_dropout=0.0, lora_targets=(),
                   seed=0, micro_batch_size=0, gradient_checkpointing=False,
                   checkpoint_every=0, group_by_length=False, pack_sequences=False)  # fmt: skip
TEXTS = ["the red ball moves left. So the answer is left.", "What colour is the ball?"] * 30


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("internvl")
    builders.build("internvl", out, TEXTS)
    return out


def test_a_video_becomes_one_image_line_per_frame(checkpoint: Path) -> None:
    model, processor = loading.load(checkpoint)
    family = families.for_model(model)
    frames = np.random.default_rng(0).integers(0, 256, (5, 32, 32, 3), dtype=np.uint8)
    inputs = family.inputs(processor, ["What colour is the ball?"], [frames])
    text = processor.tokenizer.decode(inputs["input_ids"][0])
    context = IMAGE_TOKENS["context_image_token"]
    line = f"<img>{context * model.config.image_seq_length}</img>"
    expected = "\n".join(f"Frame{i}: {line}" for i in range(1, 6))
    assert text == (
        f"<|im_start|>user\n{expected}\nWhat colour is the ball?<|im_end|>\n<|im_start|>assistant\n"
    )
    assert inputs["pixel_values"].shape == (5, 3, 32, 32)  # every frame shown, none re-sampled
    (prompt,) = family.encode(processor, [(frames, "What colour is the ball?")])
    assert set(prompt.visual) == {"pixel_values"} and not prompt.sequence


def test_default_lora_targets_only_the_language_models_attention(checkpoint: Path) -> None:
    # InternViT's attention has q/k/v_proj too; the defaults must leave the vision tower alone.
    model, _ = loading.load(checkpoint, for_training=True)
    wrapped = training._wrap_lora(model, LORA, families.for_model(model))
    adapted = {
        name.removeprefix("base_model.model.").removesuffix(".lora_A.default.weight")
        for name, _ in wrapped.named_parameters()
        if "lora_A" in name
    }
    assert adapted == {
        f"model.language_model.layers.{i}.self_attn.{p}"
        for i in range(model.config.text_config.num_hidden_layers)
        for p in ("q_proj", "k_proj", "v_proj", "o_proj")
    }


def test_build_is_byte_deterministic(checkpoint: Path, tmp_path: Path) -> None:
    builders.build("internvl", tmp_path, TEXTS)
    files = sorted(p.name for p in checkpoint.iterdir())
    assert files == sorted(p.name for p in tmp_path.iterdir())
    for name in files:
        assert (checkpoint / name).read_bytes() == (tmp_path / name).read_bytes(), name


def test_the_response_closes_with_the_token_generation_stops_on(checkpoint: Path) -> None:
    model, processor = loading.load(checkpoint)
    im_end = processor.tokenizer.convert_tokens_to_ids("<|im_end|>")
    assert families.for_model(model).response(processor, "left.") == "left.<|im_end|>"
    assert model.generation_config.eos_token_id == im_end
