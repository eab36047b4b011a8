"""Mechanics of stages/model.py on a tiny random Qwen2-VL: build, load, generate, train, save.

Never asserts generated text (random weights give torch-version-dependent output), only structure,
determinism and that training moves the loss.

    .venv/bin/python -m pytest tests/test_model.py -q
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

from videostar.lmm import model as M

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")

CORPUS = [
    "the red ball moves left.",
    "the blue ball moves up.",
    "the green ball moves down.",
    "the yellow ball moves right.",
    "What colour is the ball?",
    "Which way does the object go?",
    "How many times does the object blink?",
    "so the answer is 3",
] * 20

GREEDY = M.SamplingConfig(temperature=0.0, max_new_tokens=6)


def _clip(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (8, 32, 32, 3), dtype=np.uint8)


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.fixture(scope="module", autouse=True)
def _one_thread() -> Iterator[None]:
    # Tiny matrices gain little from a second thread, and when other processes share the two
    # cores, spinning intra-op threads slowed these tests ten-fold.
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(autouse=True)
def _cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    # These are CPU-tier tests (byte determinism holds on CPU); the GPU test below opts back in.
    monkeypatch.setenv("VIDEOSTAR_DEVICE", "cpu")


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("tiny")
    M.build_tiny(M.TinyConfig(), CORPUS, out)
    return out


@pytest.fixture(scope="module")
def examples() -> list[tuple[np.ndarray, str, str]]:
    return [
        (_clip(0), "What colour is the ball?", "the red ball moves left."),
        (_clip(1), "Which way does the object go?", "the blue ball moves up."),
        (_clip(2), "What colour is the ball?", "the green ball moves down."),
        (_clip(3), "How many times does the object blink?", "so the answer is 3"),
    ]


# ---------------------------------------------------------------------------- build and load


def test_build_round_trip_through_auto_classes(tiny_dir: Path) -> None:
    from transformers import AutoModelForImageTextToText, AutoProcessor

    processor = AutoProcessor.from_pretrained(str(tiny_dir))
    model = AutoModelForImageTextToText.from_pretrained(str(tiny_dir))
    assert type(model).__name__ == "Qwen2VLForConditionalGeneration"
    n_params = sum(p.numel() for p in model.parameters())
    assert 0.5e6 < n_params < 0.7e6, n_params
    assert processor.video_processor.do_sample_frames is False

    text = processor.apply_chat_template(
        [{"role": "user", "content": [{"type": "video"}, {"type": "text", "text": "hi"}]}],
        tokenize=False,
        add_generation_prompt=True,
    )
    inputs = processor(text=[text], videos=[_clip(0)], return_tensors="pt")
    # 8 frames / temporal 2 = 4, (32/8)^2 = 16 patches each, 2x2 merge -> 16 tokens.
    assert inputs["video_grid_thw"].tolist() == [[4, 4, 4]]
    assert int((inputs["input_ids"] == processor.video_token_id).sum()) == 16


def test_build_is_byte_deterministic(tiny_dir: Path, tmp_path: Path) -> None:
    M.build_tiny(M.TinyConfig(), CORPUS, tmp_path)
    assert _files(tmp_path) == _files(tiny_dir)
    assert "model.safetensors" in _files(tmp_path)


def test_load_identity_json(tiny_dir: Path, tmp_path: Path) -> None:
    (tmp_path / M.IDENTITY_FILE).write_text(
        json.dumps({"name_or_path": str(tiny_dir), "revision": None})
    )
    model, processor = M.load(tmp_path)
    reference, _ = M.load(tiny_dir)
    assert not model.training
    for (name, a), (_, b) in zip(
        model.state_dict().items(), reference.state_dict().items(), strict=True
    ):
        assert torch.equal(a, b), name


def test_device_comes_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIDEOSTAR_DEVICE", "cpu")
    assert M.resolve_device() == torch.device("cpu")
    assert M.resolve_dtype(torch.device("cpu")) == torch.float32


# ---------------------------------------------------------------------------- generate


def test_generate_structure_order_and_batch_invariance(tiny_dir: Path) -> None:
    model, processor = M.load(tiny_dir)
    items = [(_clip(i), q) for i, q in enumerate(["What colour?", "Which way does it go?", "Hi"])]
    batched = M.generate(model, processor, items, GREEDY, seed=0)
    single = M.generate(
        model,
        processor,
        items,
        M.SamplingConfig(temperature=0.0, max_new_tokens=6, batch_size=1),
        0,
    )
    assert len(batched) == 3 and all(isinstance(t, str) for t in batched)
    assert batched == single
    reversed_out = M.generate(model, processor, items[::-1], GREEDY, seed=0)
    assert reversed_out == batched[::-1]
    assert M.generate(model, processor, [], GREEDY, seed=0) == []


def test_generate_sampling_is_seeded(tiny_dir: Path) -> None:
    model, processor = M.load(tiny_dir)
    items = [(_clip(i), "What colour is the ball?") for i in range(4)]
    hot = M.SamplingConfig(temperature=1.0, max_new_tokens=8, batch_size=2)
    first = M.generate(model, processor, items, hot, seed=7)
    assert M.generate(model, processor, items, hot, seed=7) == first
    others = [M.generate(model, processor, items, hot, seed=s) for s in (8, 9)]
    assert any(o != first for o in others)


def test_generate_text_with_tiny_text_lm(tmp_path: Path) -> None:
    M.build_tiny_text_lm(tmp_path, CORPUS)
    prompts = ["A video is labeled red.", "What questions could you ask?", "Hi"]
    cfg = M.SamplingConfig(temperature=0.0, max_new_tokens=5, batch_size=2)
    out = M.generate_text(tmp_path, prompts, cfg, seed=0)
    assert len(out) == 3 and all(isinstance(t, str) for t in out)
    assert M.generate_text(tmp_path, prompts[::-1], cfg, seed=0) == out[::-1]


# ---------------------------------------------------------------------------- training


def test_steps_and_schedule() -> None:
    cfg = M.TrainConfig()
    assert M.steps_for(10, cfg) == 150
    assert M.steps_for(1600, cfg) == 300
    assert M.steps_for(100_000, cfg) == 800
    total = 200
    assert M.lr_at(0, total, cfg) == pytest.approx(1 / 30)
    assert M.lr_at(29, total, cfg) == pytest.approx(1.0)
    assert M.lr_at(total, total, cfg) == pytest.approx(0.1)
    with pytest.raises(ValueError):
        M.TrainConfig(method="qlora")


def test_labels_cover_only_the_response(tiny_dir: Path, examples: list) -> None:
    _, processor = M.load(tiny_dir)
    enc = M.encode_examples(processor, examples + examples[:1])
    assert len(enc.pixel_values) == 4  # a repeated clip is preprocessed once
    tok = processor.tokenizer
    rows = [0, 3]
    batch = M.collate(enc, rows, tok.pad_token_id, processor.video_token_id)
    for i, r in enumerate(rows):
        frames, prompt, response = examples[r]
        n_prompt, n_total = enc.prompt_lens[r], len(enc.input_ids[r])
        labels = batch["labels"][i]
        assert (labels[:n_prompt] == M.IGNORE_INDEX).all()
        assert (labels[n_total:] == M.IGNORE_INDEX).all()
        assert tok.decode(labels[n_prompt:n_total]) == response + "<|im_end|>"
        # The prompt tokens must be exactly what generate() feeds the model.
        reference = processor(
            text=[M._prompt_text(processor, prompt)], videos=[frames], return_tensors="pt"
        )
        assert torch.equal(batch["input_ids"][i, :n_prompt], reference["input_ids"][0])
        assert batch["attention_mask"][i].sum() == n_total
    assert batch["video_grid_thw"].tolist() == [[4, 4, 4]] * 2
    assert int(batch["mm_token_type_ids"].sum()) == 2 * 16 * 2


@pytest.mark.parametrize("method", ["full", "lora"])
def test_loss_falls(tiny_dir: Path, examples: list, method: str) -> None:
    model, processor = M.load(tiny_dir, for_training=True)
    lr = 1e-3 if method == "full" else 5e-3
    cfg = M.TrainConfig(method=method, lr=lr, batch_size=4, warmup_steps=5)
    logged: list[tuple[int, float]] = []
    result = M.train(
        model, processor, examples, cfg, steps=60, log=lambda s, v: logged.append((s, v))
    )
    assert result["steps"] == 60 == len(result["losses"]) == len(logged)
    # LoRA on attention only, with a frozen random lm_head, moves the loss less than full training.
    ratio = 0.5 if method == "full" else 0.75
    assert result["loss_last"] < ratio * result["loss_first"], result["losses"][::10]
    if method == "lora":
        trainable = [n for n, p in result["model"].named_parameters() if p.requires_grad]
        assert trainable and all("lora_" in n for n in trainable)
        assert not any("visual" in n for n in trainable)


def test_full_save_is_byte_deterministic(tiny_dir: Path, examples: list, tmp_path: Path) -> None:
    cfg = M.TrainConfig(batch_size=2)
    for run in ("a", "b"):
        model, processor = M.load(tiny_dir, for_training=True)
        M.train(model, processor, examples, cfg, steps=3)
        M.save(model, processor, tmp_path / run)
    a, b = _files(tmp_path / "a"), _files(tmp_path / "b")
    assert a == b
    assert a["model.safetensors"] != (tiny_dir / "model.safetensors").read_bytes()


def test_lora_save_load_round_trip(
    tiny_dir: Path, examples: list, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    model, processor = M.load(tiny_dir, for_training=True)
    cfg = M.TrainConfig(method="lora", lr=5e-3, batch_size=4, warmup_steps=2)
    result = M.train(model, processor, examples, cfg, steps=10)
    with pytest.raises(ValueError, match="LoRA"):
        M.save(model, processor, tmp_path / "wrong")
    M.save(result["model"], processor, Path("adapter"), base_dir=tiny_dir)
    M.save(result["model"], processor, Path("adapter2"), base_dir=tiny_dir)
    assert _files(Path("adapter")) == _files(Path("adapter2"))

    base_ref = json.loads(Path("adapter/base.json").read_text())["base"]
    assert not Path(base_ref).is_absolute() and Path(base_ref).resolve() == tiny_dir.resolve()
    loaded, loaded_processor = M.load("adapter")
    assert type(loaded).__name__ == "Qwen2VLForConditionalGeneration"  # merged, not a PeftModel
    items = [(frames, prompt) for frames, prompt, _ in examples]
    expected = M.generate(result["model"], processor, items, GREEDY, seed=0)
    assert M.generate(loaded, loaded_processor, items, GREEDY, seed=0) == expected


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_generate_and_train(
    tiny_dir: Path, examples: list, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VIDEOSTAR_DEVICE", "cuda")
    model, processor = M.load(tiny_dir)
    assert next(model.parameters()).device.type == "cuda"
    items = [(frames, prompt) for frames, prompt, _ in examples]
    assert len(M.generate(model, processor, items, GREEDY, seed=0)) == 4
    for method in ("full", "lora"):
        model, processor = M.load(tiny_dir, for_training=True)
        cfg = M.TrainConfig(method=method, batch_size=4, warmup_steps=2)
        result = M.train(model, processor, examples, cfg, steps=5)
        assert all(np.isfinite(result["losses"]))
