"""Every supported video LMM family through one interface, on a tiny random-weight checkpoint built
offline from the family's own config and processor classes (videostar/lmm/builders).

Test ids are the family's ``model_type``: ``pytest -k video_llava`` runs one family.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from videostar.core.records import read_json
from videostar.lmm import builders, families, generation, loading, training
from videostar.lmm.config import SamplingConfig, TrainConfig
from videostar.video.clips import Clip

pytestmark = pytest.mark.usefixtures("cpu_one_thread")

MODEL_TYPES = sorted(builders.BUILDERS)
TEXTS = [
    "the red ball moves left. So the answer is left.",
    "Which way does the ball go? What colour is the ball?",
    "the blue ball blinks 3 times, then it moves up and down.",
] * 30
GREEDY = SamplingConfig(
    temperature=0.0, top_p=1.0, top_k=0, repetition_penalty=1.0, max_new_tokens=12, batch_size=4
)


def lora(**overrides) -> TrainConfig:
    fields = dict(method="lora", lr=5e-3, weight_decay=0.0, betas=(0.9, 0.98), warmup_steps=2,
                  min_lr_ratio=0.1, decay_fraction=1.0, grad_clip=1.0, batch_size=4, epochs=1.0, min_steps=1,
                  max_steps=100, lora_r=8, lora_alpha=16, lora_dropout=0.0, lora_targets=(),
                  seed=0, micro_batch_size=0, gradient_checkpointing=False,
                  checkpoint_every=0, group_by_length=False, pack_sequences=False)  # fmt: skip
    return TrainConfig(**{**fields, **overrides})


@pytest.fixture(scope="module")
def examples() -> list[tuple[families.Video, str, str]]:
    rng = np.random.default_rng(0)
    clips: list[families.Video] = [
        rng.integers(0, 256, (8, 32, 32, 3), dtype=np.uint8) for _ in range(4)
    ]
    # Two clips as the decoder gives them, with their times (one frame in three of 24 at 2 fps).
    for i in (0, 2):
        clips[i] = Clip(clips[i], indices=tuple(range(0, 24, 3)), fps=2.0, length=24)
    return [
        (clips[0], "What colour is the ball?", "the red ball moves left."),
        (clips[1], "Which way does the object go, and how fast does it move?", "up."),
        (clips[2], "How many times does the ball blink?", "so the answer is 3"),
        (clips[3], "Describe it.", "the blue ball moves down and then it moves right."),
    ]


@pytest.fixture(scope="module", params=MODEL_TYPES)
def checkpoint(request, tmp_path_factory) -> tuple[str, Path]:
    out = tmp_path_factory.mktemp(request.param)
    builders.build(request.param, out, TEXTS)
    return request.param, out


def test_the_checkpoint_loads_as_its_family(checkpoint) -> None:
    model_type, path = checkpoint
    model, processor = loading.load(path)
    assert model.config.model_type == model_type
    assert model_type in families.for_model(model).model_types
    assert (path / "model.safetensors").is_file()  # weights as safetensors only


def test_batched_greedy_generation_equals_batch_one(checkpoint, examples) -> None:
    _, path = checkpoint
    model, processor = loading.load(path)
    items = [(frames, question) for frames, question, _ in examples]
    batched = generation.generate(model, processor, items, GREEDY, seed=0)
    one = generation.generate(
        model, processor, items, SamplingConfig(**{**GREEDY.__dict__, "batch_size": 1}), seed=0
    )
    assert batched == one
    assert all(isinstance(t, str) for t in batched)


def test_labels_are_the_response_only_and_prompts_are_what_generate_sees(
    checkpoint, examples
) -> None:
    _, path = checkpoint
    model, processor = loading.load(path)
    family = families.for_model(model)
    enc = training.Encoder(processor, examples, family)
    tok = processor.tokenizer
    rows = [1, 3, 0]
    batch = training.collate(enc, rows, tok.pad_token_id)
    for i, r in enumerate(rows):
        frames, question, response = examples[r]
        reference = family.inputs(processor, [question], [frames])
        n_prompt = len(enc.prompts([r])[0].ids)
        n_total = n_prompt + len(enc.response(r))
        assert torch.equal(batch["input_ids"][i, :n_prompt], reference["input_ids"][0])
        labels = batch["labels"][i]
        assert (labels[:n_prompt] == training.IGNORE_INDEX).all()  # prompt and video tokens
        assert (labels[n_total:] == training.IGNORE_INDEX).all()  # padding
        assert torch.equal(labels[n_prompt:n_total], enc.response(r))
        assert tok.decode(enc.response(r), skip_special_tokens=True).strip() == response
        assert int(batch["attention_mask"][i].sum()) == n_total
    with torch.no_grad():
        assert torch.isfinite(model(**batch).loss)


@pytest.mark.parametrize("method", ["full", "lora"])
def test_loss_falls_on_a_fixed_batch(checkpoint, examples, method) -> None:
    _, path = checkpoint
    model, processor = loading.load(path, for_training=True)
    cfg = lora(method=method, lr=1e-3 if method == "full" else 5e-2)
    losses = training.train(model, processor, examples, cfg, steps=40)["losses"]
    first, last = np.mean(losses[:5]), np.mean(losses[-5:])
    # Every step sees the same four examples, so without learning the loss would stay flat. A
    # rank-8 adapter on the attention of a 2-layer random model moves it less than full training.
    assert last < (0.8 * first if method == "full" else first - 0.1), losses


PACKING = ("qwen2_vl", "qwen2_5_vl")  # families whose model takes packed rows


def packable(examples: list) -> list:
    """The examples with one long response, so that the three short ones share packed rows."""
    return [*examples[:3], (examples[3][0], "Describe it.", " ".join(["the ball moves"] * 30))]


def test_packed_rows_give_the_padded_batch_loss_and_gradients(checkpoint, examples) -> None:
    model_type, path = checkpoint
    model, processor = loading.load(path, for_training=True)
    family = families.for_model(model)
    enc = training.Encoder(processor, packable(examples), family)
    pad = processor.tokenizer.pad_token_id
    batch = training.collate(enc, range(4), pad, pack=True)
    positions = family.packed_positions(model, batch)
    if model_type not in PACKING:
        assert positions is None  # trained on padded rows
        return
    packed = training.pack_batch(batch, positions, pad)
    padded = training.collate(enc, range(4), pad)
    assert packed["input_ids"].shape[0] < 4 and "attention_mask" not in packed
    assert torch.equal(torch.sort(packed["labels"][packed["labels"] != -100])[0],
                       torch.sort(padded["labels"][padded["labels"] != -100])[0])  # fmt: skip
    weights = [p for p in model.parameters() if p.requires_grad]
    results = []
    for inputs in (padded, packed):
        loss = model(**inputs).loss
        results.append((loss.detach(), torch.autograd.grad(loss, weights)))
    (loss_padded, grads_padded), (loss_packed, grads_packed) = results
    assert torch.allclose(loss_packed, loss_padded, rtol=1e-5)
    for a, b in zip(grads_packed, grads_padded, strict=True):
        assert torch.allclose(a, b, rtol=1e-3, atol=1e-6)


def test_lora_training_on_packed_rows_follows_padded_rows(checkpoint, examples) -> None:
    _, path = checkpoint
    curves = []
    for pack in (False, True):
        model, processor = loading.load(path, for_training=True, frozen=True)
        cfg = lora(pack_sequences=pack)
        result = training.train(model, processor, packable(examples), cfg, steps=3)
        curves.append(result["losses"])
    assert curves[1] == pytest.approx(curves[0], rel=1e-3)


def test_a_cycle_saves_only_its_adapter_and_reloads_to_the_same_logits(
    checkpoint, examples, tmp_path, monkeypatch
) -> None:
    _, path = checkpoint
    monkeypatch.chdir(tmp_path)
    model, processor = loading.load(path, for_training=True)
    trained = training.train(model, processor, examples, lora(lr=2e-2), steps=4)["model"]
    loading.save(trained, processor, Path("cycle"), base_dir=path)
    files = {p.name for p in Path("cycle").iterdir()}
    assert {"adapter_model.safetensors", "adapter_config.json", "base.json"} <= files
    assert not any(name.startswith("model") for name in files)  # no copy of the base weights
    from safetensors import safe_open

    with safe_open("cycle/adapter_model.safetensors", "pt") as f:
        assert all("lora_" in key for key in f.keys())  # noqa: SIM118 (safe_open is not iterable)
    assert read_json("cycle/base.json")["base"]

    family = families.for_model(trained)
    batch = training.collate(
        training.Encoder(processor, examples, family),
        range(4),
        processor.tokenizer.pad_token_id,
    )
    batch.pop("labels")
    trained.eval()
    with torch.no_grad():
        before = trained(**batch).logits
    reloaded, _ = loading.load(Path("cycle"))
    again, _ = loading.load(Path("cycle"))
    with torch.no_grad():
        after = reloaded(**batch).logits
        assert torch.equal(after, again(**batch).logits)  # loading is deterministic
    torch.testing.assert_close(after, before, rtol=1e-4, atol=1e-4)  # merged vs. unmerged adapter


def test_qwen2_5_vl_positions_follow_the_clips_times(tmp_path) -> None:
    builders.build("qwen2_5_vl", tmp_path, TEXTS)
    model, processor = loading.load(tmp_path)
    frames = np.zeros((8, 32, 32, 3), dtype=np.uint8)
    # 8 of 48 frames at 2 fps: one frame every 3 s, so a temporal patch (2 frames) spans 6 s.
    clip = Clip(frames, indices=tuple(range(0, 48, 6)), fps=2.0, length=48)
    family = families.for_model(model)
    inputs = family.inputs(processor, ["Where?", "Where?"], [clip, frames])
    assert inputs["second_per_grid_ts"].tolist()[0] == pytest.approx(6.0)
    (encoded,) = family.encode(processor, [(clip, "Where?")])
    assert encoded.visual["second_per_grid_ts"].tolist() == pytest.approx([6.0])
