"""Mechanics of videostar.lmm on a tiny random Qwen2-VL: build, load, generate, train, save.

Never asserts generated text (random weights give torch-version-dependent output), only structure,
determinism and that training moves the loss.

    .venv/bin/python -m pytest tests/test_model.py -q
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import yaml

from videostar.core import seeding
from videostar.lmm import builders, families, generation, loading, tiny, training
from videostar.lmm.config import SamplingConfig, TinyConfig, TrainConfig
from videostar.video.frames import ClipItems

ROOT = Path(__file__).resolve().parents[1]

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


def _sampling(**overrides: Any) -> SamplingConfig:
    """A SamplingConfig with every field explicit (the dataclass has no defaults)."""
    fields = {
        "temperature": 0.0,
        "top_p": 1.0,
        "top_k": 0,
        "repetition_penalty": 1.0,
        "max_new_tokens": 6,
        "batch_size": 32,
    }
    return SamplingConfig(**{**fields, **overrides})


def _train_cfg(**overrides: Any) -> TrainConfig:
    """A TrainConfig with every field explicit (the dataclass has no defaults)."""
    fields = {
        "method": "full",
        "lr": 5e-4,
        "weight_decay": 0.01,
        "betas": (0.9, 0.98),
        "warmup_steps": 30,
        "min_lr_ratio": 0.1,
        "decay_fraction": 1.0,
        "grad_clip": 1.0,
        "batch_size": 16,
        "epochs": 3.0,
        "min_steps": 150,
        "max_steps": 800,
        "lora_r": 16,
        "lora_alpha": 32,
        "lora_dropout": 0.0,
        "lora_targets": ("q_proj", "k_proj", "v_proj", "o_proj"),
        "seed": 0,
        "micro_batch_size": 0,
        "gradient_checkpointing": False,
        "checkpoint_every": 0,
        "group_by_length": False,
        "pack_sequences": False,
    }
    return TrainConfig(**{**fields, **overrides})


GREEDY = _sampling()
QWEN2_VL = families.get("qwen2_vl")


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
    tiny.build_tiny(TinyConfig(), CORPUS, out)
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
    assert 1.2e6 < n_params < 1.5e6, n_params  # params.yaml model.tiny: 1.34 M
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
    tiny.build_tiny(TinyConfig(), CORPUS, tmp_path)
    assert _files(tmp_path) == _files(tiny_dir)
    assert "model.safetensors" in _files(tmp_path)


def test_load_identity_json(tiny_dir: Path, tmp_path: Path) -> None:
    (tmp_path / loading.IDENTITY_FILE).write_text(
        json.dumps({"name_or_path": str(tiny_dir), "revision": None})
    )
    model, processor = loading.load(tmp_path)
    reference, _ = loading.load(tiny_dir)
    assert not model.training
    for (name, a), (_, b) in zip(
        model.state_dict().items(), reference.state_dict().items(), strict=True
    ):
        assert torch.equal(a, b), name


def test_device_comes_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIDEOSTAR_DEVICE", "cpu")
    assert loading.resolve_device() == torch.device("cpu")
    assert loading.resolve_dtype(torch.device("cpu")) == torch.float32


# ---------------------------------------------------------------------------- generate


def test_generate_structure_order_and_batch_invariance(tiny_dir: Path) -> None:
    model, processor = loading.load(tiny_dir)
    items = [(_clip(i), q) for i, q in enumerate(["What colour?", "Which way does it go?", "Hi"])]
    batched = generation.generate(model, processor, items, GREEDY, seed=0)
    single = generation.generate(
        model,
        processor,
        items,
        _sampling(temperature=0.0, max_new_tokens=6, batch_size=1),
        0,
    )
    assert len(batched) == 3 and all(isinstance(t, str) for t in batched)
    assert batched == single
    reversed_out = generation.generate(model, processor, items[::-1], GREEDY, seed=0)
    assert reversed_out == batched[::-1]
    assert generation.generate(model, processor, [], GREEDY, seed=0) == []


def test_generate_sampling_is_seeded(tiny_dir: Path) -> None:
    model, processor = loading.load(tiny_dir)
    items = [(_clip(i), "What colour is the ball?") for i in range(4)]
    hot = _sampling(temperature=1.0, max_new_tokens=8, batch_size=2)
    first = generation.generate(model, processor, items, hot, seed=7)
    assert generation.generate(model, processor, items, hot, seed=7) == first
    others = [generation.generate(model, processor, items, hot, seed=s) for s in (8, 9)]
    assert any(o != first for o in others)


def test_generate_text_with_tiny_text_lm(tmp_path: Path) -> None:
    tiny.build_tiny_text_lm(tmp_path, CORPUS)
    prompts = ["A video is labeled red.", "What questions could you ask?", "Hi"]
    cfg = _sampling(temperature=0.0, max_new_tokens=5, batch_size=2)
    out = generation.generate_text(tmp_path, prompts, cfg, seed=0)
    assert len(out) == 3 and all(isinstance(t, str) for t in out)
    assert generation.generate_text(tmp_path, prompts[::-1], cfg, seed=0) == out[::-1]


# ---------------------------------------------------------------------------- training


def test_steps_and_schedule() -> None:
    cfg = _train_cfg()
    assert training.steps_for(10, cfg) == 150
    assert training.steps_for(1600, cfg) == 300
    assert training.steps_for(100_000, cfg) == 800
    total = 200
    assert training.lr_at(0, total, cfg) == pytest.approx(1 / 30)
    assert training.lr_at(29, total, cfg) == pytest.approx(1.0)
    assert training.lr_at(total, total, cfg) == pytest.approx(0.1)
    assert training.lr_at(115, total, cfg) == pytest.approx(0.55)  # half way: cosine's middle
    # Warmup-stable-decay: the rate holds at its peak until the last quarter of 170 steps.
    wsd = _train_cfg(decay_fraction=0.25)
    assert [training.lr_at(s, total, wsd) for s in (29, 100, 157)] == pytest.approx([1.0] * 3)
    assert training.lr_at(178, total, wsd) < 0.9
    assert training.lr_at(total, total, wsd) == pytest.approx(0.1)
    with pytest.raises(ValueError):
        _train_cfg(method="qlora")
    for bad in (0.0, 1.5):
        with pytest.raises(ValueError, match="decay_fraction"):
            _train_cfg(decay_fraction=bad)


def test_labels_cover_only_the_response(tiny_dir: Path, examples: list) -> None:
    _, processor = loading.load(tiny_dir)
    enc = training.Encoder(processor, examples + examples[:1], QWEN2_VL)
    # a repeated clip is preprocessed once, in the same call or a later one
    (first,) = enc.prompts([0])
    again, repeat = enc.prompts([0, 4])
    assert again.visual["pixel_values_videos"] is first.visual["pixel_values_videos"]
    assert repeat.visual["pixel_values_videos"] is first.visual["pixel_values_videos"]
    tok = processor.tokenizer
    rows = [0, 3]
    batch = training.collate(enc, rows, tok.pad_token_id)
    for i, r in enumerate(rows):
        frames, prompt, response = examples[r]
        n_prompt = len(enc.prompts([r])[0].ids)
        n_total = n_prompt + len(enc.response(r))
        labels = batch["labels"][i]
        assert (labels[:n_prompt] == training.IGNORE_INDEX).all()
        assert (labels[n_total:] == training.IGNORE_INDEX).all()
        assert tok.decode(labels[n_prompt:n_total]) == response + "<|im_end|>"
        # The prompt tokens must be exactly what generate() feeds the model.
        reference = processor(
            text=[QWEN2_VL.prompt(processor, prompt)], videos=[frames], return_tensors="pt"
        )
        assert torch.equal(batch["input_ids"][i, :n_prompt], reference["input_ids"][0])
        assert batch["attention_mask"][i].sum() == n_total
    assert batch["video_grid_thw"].tolist() == [[4, 4, 4]] * 2
    assert int(batch["mm_token_type_ids"].sum()) == 2 * 16 * 2


@pytest.mark.parametrize("method", ["full", "lora"])
def test_loss_falls(tiny_dir: Path, examples: list, method: str) -> None:
    model, processor = loading.load(tiny_dir, for_training=True)
    lr = 1e-3 if method == "full" else 5e-3
    cfg = _train_cfg(method=method, lr=lr, batch_size=4, warmup_steps=5)
    logged: list[tuple[int, dict]] = []
    result = training.train(
        model, processor, examples, cfg, steps=60, log=lambda s, r: logged.append((s, r))
    )
    assert result["steps"] == 60 == len(result["losses"]) == len(logged)
    assert [round(r["loss"], 4) for _, r in logged] == result["losses"]
    assert [r["examples"] for _, r in logged][:2] == [4, 8] and logged[0][1]["grad_norm"] > 0
    assert logged[0][1]["lr"] < logged[5][1]["lr"]  # warmup
    # LoRA on attention only, with a frozen random lm_head, moves the loss less than full training.
    ratio = 0.5 if method == "full" else 0.75
    assert result["loss_last"] < ratio * result["loss_first"], result["losses"][::10]
    if method == "lora":
        trainable = [n for n, p in result["model"].named_parameters() if p.requires_grad]
        assert trainable and all("lora_" in n for n in trainable)
        assert not any("visual" in n for n in trainable)


def test_full_save_is_byte_deterministic(tiny_dir: Path, examples: list, tmp_path: Path) -> None:
    cfg = _train_cfg(batch_size=2)
    for run in ("a", "b"):
        model, processor = loading.load(tiny_dir, for_training=True)
        training.train(model, processor, examples, cfg, steps=3)
        loading.save(model, processor, tmp_path / run)
    a, b = _files(tmp_path / "a"), _files(tmp_path / "b")
    assert a == b
    assert a["model.safetensors"] != (tiny_dir / "model.safetensors").read_bytes()


def test_lora_save_load_round_trip(
    tiny_dir: Path, examples: list, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    model, processor = loading.load(tiny_dir, for_training=True)
    cfg = _train_cfg(method="lora", lr=5e-3, batch_size=4, warmup_steps=2)
    result = training.train(model, processor, examples, cfg, steps=10)
    with pytest.raises(ValueError, match="LoRA"):
        loading.save(model, processor, tmp_path / "wrong")
    loading.save(result["model"], processor, Path("adapter"), base_dir=tiny_dir)
    loading.save(result["model"], processor, Path("adapter2"), base_dir=tiny_dir)
    assert _files(Path("adapter")) == _files(Path("adapter2"))

    base_ref = json.loads(Path("adapter/base.json").read_text())["base"]
    assert not Path(base_ref).is_absolute() and Path(base_ref).resolve() == tiny_dir.resolve()
    loaded, loaded_processor = loading.load("adapter")
    assert type(loaded).__name__ == "Qwen2VLForConditionalGeneration"  # merged, not a PeftModel
    items = [(frames, prompt) for frames, prompt, _ in examples]
    expected = generation.generate(result["model"], processor, items, GREEDY, seed=0)
    assert generation.generate(loaded, loaded_processor, items, GREEDY, seed=0) == expected


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_generate_and_train(
    tiny_dir: Path, examples: list, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VIDEOSTAR_DEVICE", "cuda")
    model, processor = loading.load(tiny_dir)
    assert next(model.parameters()).device.type == "cuda"
    items = [(frames, prompt) for frames, prompt, _ in examples]
    assert len(generation.generate(model, processor, items, GREEDY, seed=0)) == 4
    for method in ("full", "lora"):
        model, processor = loading.load(tiny_dir, for_training=True)
        cfg = _train_cfg(method=method, batch_size=4, warmup_steps=2)
        result = training.train(model, processor, examples, cfg, steps=5)
        assert all(np.isfinite(result["losses"]))


# ---------------------------------------------------------------------------- configs


def test_sampling_and_train_configs_have_no_defaults() -> None:
    for cls in (SamplingConfig, TrainConfig):
        for field in dataclasses.fields(cls):
            assert field.default is dataclasses.MISSING, (cls.__name__, field.name)
            assert field.default_factory is dataclasses.MISSING, (cls.__name__, field.name)
    assert {f.name for f in dataclasses.fields(SamplingConfig)} == {
        "temperature",
        "top_p",
        "top_k",
        "repetition_penalty",
        "max_new_tokens",
        "batch_size",
    }
    # params.yaml gives lists; the frozen config holds tuples.
    cfg = _train_cfg(betas=[0.8, 0.9], lora_targets=["q_proj"])
    assert cfg.betas == (0.8, 0.9) and cfg.lora_targets == ("q_proj",)
    with pytest.raises(ValueError, match="betas"):
        _train_cfg(betas=[0.9])


def test_tiny_defaults_equal_params_yaml() -> None:
    params = yaml.safe_load((ROOT / "params.yaml").read_text())["model"]["tiny"]
    assert dataclasses.asdict(TinyConfig()) == params


# ---------------------------------------------------------------------------- decoding policy


def _pollute(config: Any) -> None:
    """A checkpoint's own decoding policy, every knob of which would change greedy output."""
    config.repetition_penalty = 5.0
    config.do_sample = True
    config.top_k = 3
    config.temperature = 0.9
    config.max_length = 5
    config.min_new_tokens = 6
    config.no_repeat_ngram_size = 1  # not a SamplingConfig knob: must not leak in either


def test_generation_config_is_complete() -> None:
    from types import SimpleNamespace

    from transformers import GenerationConfig

    tok = SimpleNamespace(eos_token_id=11, pad_token_id=12)
    model = SimpleNamespace(generation_config=GenerationConfig(eos_token_id=[3, 4]))
    greedy = generation.generation_config(_sampling(repetition_penalty=1.3), model, tok)
    assert greedy.do_sample is False and greedy.num_beams == 1
    assert greedy.temperature is None and greedy.top_k is None and greedy.top_p is None
    assert greedy.repetition_penalty == 1.3 and greedy.max_new_tokens == 6
    # Stop ids from the checkpoint (several), pad from the tokenizer where it has none.
    assert greedy.eos_token_id == [3, 4] and greedy.pad_token_id == 12
    hot = generation.generation_config(_sampling(temperature=0.7, top_p=0.9, top_k=5), model, tok)
    assert (hot.do_sample, hot.temperature, hot.top_p, hot.top_k) == (True, 0.7, 0.9, 5)


def test_generate_ignores_checkpoint_decoding_policy(tiny_dir: Path, tmp_path: Path) -> None:
    polluted = tmp_path / "polluted"
    shutil.copytree(tiny_dir, polluted)
    model, _ = loading.load(polluted)
    _pollute(model.generation_config)
    model.generation_config.save_pretrained(polluted)

    clean_model, processor = loading.load(tiny_dir)
    model, _ = loading.load(polluted)
    assert model.generation_config.repetition_penalty == 5.0  # the policy is really there
    items = [(_clip(i), q) for i, q in enumerate(["What colour?", "Which way does it go?"])]
    cfg = _sampling(max_new_tokens=8)
    expected = generation.generate(clean_model, processor, items, cfg, seed=0)
    assert generation.generate(model, processor, items, cfg, seed=0) == expected
    # The checkpoint's config is restored after generating.
    assert model.generation_config.repetition_penalty == 5.0 and model.generation_config.top_k == 3


def test_generate_text_ignores_checkpoint_decoding_policy(tmp_path: Path) -> None:
    from transformers import GenerationConfig

    tiny.build_tiny_text_lm(tmp_path / "clean", CORPUS)
    shutil.copytree(tmp_path / "clean", tmp_path / "polluted")
    config = GenerationConfig.from_pretrained(tmp_path / "polluted")
    _pollute(config)
    config.save_pretrained(tmp_path / "polluted")
    prompts = ["A video is labeled red.", "What questions could you ask?"]
    cfg = _sampling(max_new_tokens=8)
    expected = generation.generate_text(tmp_path / "clean", prompts, cfg, seed=0)
    assert generation.generate_text(tmp_path / "polluted", prompts, cfg, seed=0) == expected


def test_generate_seeds_each_batch_from_the_shared_derivation(
    tiny_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model, processor = loading.load(tiny_dir)
    seeds: list[int] = []
    original = generation.seed_torch

    def spy(seed: int) -> None:
        seeds.append(seed)
        original(seed)

    monkeypatch.setattr(generation, "seed_torch", spy)
    hot = _sampling(temperature=1.0, max_new_tokens=8, batch_size=1)
    first = generation.generate(model, processor, [(_clip(0), "a"), (_clip(1), "b")], hot, seed=7)
    assert seeds == [seeding.derive(7, "batch", 0), seeding.derive(7, "batch", 1)]
    # Batch 1's sample depends only on (seed, 1), not on what batch 0 held.
    other = generation.generate(model, processor, [(_clip(5), "z"), (_clip(1), "b")], hot, seed=7)
    assert other[1] == first[1]


# ---------------------------------------------------------------------------- loading contract


def test_identity_json_cannot_turn_on_remote_code(
    tiny_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import transformers

    (tmp_path / loading.IDENTITY_FILE).write_text(
        json.dumps({"name_or_path": str(tiny_dir), "revision": None, "trust_remote_code": True})
    )
    seen: list[bool] = []
    for cls in (transformers.AutoProcessor, transformers.AutoModelForImageTextToText):
        original = cls.from_pretrained

        def spy(*args: Any, _original: Any = original, **kwargs: Any) -> Any:
            seen.append(kwargs.get("trust_remote_code"))
            return _original(*args, **kwargs)

        monkeypatch.setattr(cls, "from_pretrained", spy)
    with pytest.warns(UserWarning, match="trust_remote_code"):
        loading.load(tmp_path)
    assert seen == [False, False]
    loading.load(tmp_path, trust_remote_code=True)  # the caller's argument (params) decides
    assert seen[2:] == [True, True]


def _logits(model: Any, processor: Any, examples: list) -> torch.Tensor:
    enc = training.Encoder(processor, examples, families.for_model(model))
    tok = processor.tokenizer
    batch = training.collate(enc, range(len(examples)), tok.pad_token_id)
    batch.pop("labels")
    with torch.no_grad():
        return model(**batch).logits


def test_lora_chain_keeps_every_adapter(
    tiny_dir: Path, examples: list, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from peft import PeftModel

    monkeypatch.chdir(tmp_path)
    cfg = _train_cfg(method="lora", lr=5e-3, batch_size=4, warmup_steps=2)
    model, processor = loading.load(tiny_dir, for_training=True)
    loading.save(
        training.train(model, processor, examples, cfg, steps=5)["model"],
        processor,
        Path("A"),
        base_dir=tiny_dir,
    )
    # The next cycle continues from A: it is loaded from A, so A is its base.
    model, processor = loading.load("A", for_training=True)
    again = training.train(model, processor, examples, dataclasses.replace(cfg, seed=1), steps=5)
    loading.save(again["model"], processor, Path("B"), base_dir=Path("A"))
    assert json.loads(Path("B/base.json").read_text()) == {"base": "A"}
    root, adapters = loading.adapter_chain("B")
    assert adapters == [Path("A"), Path("B")] and root.resolve() == tiny_dir.resolve()

    chain, _ = loading.load("B")
    only_a, _ = loading.load("A")
    manual, _ = loading.load(tiny_dir)
    for adapter in ("A", "B"):
        manual = PeftModel.from_pretrained(manual, adapter).merge_and_unload()
    manual.eval()
    logits = _logits(chain, processor, examples)
    assert not torch.allclose(logits, _logits(only_a, processor, examples))
    torch.testing.assert_close(logits, _logits(manual, processor, examples))
    with pytest.raises(ValueError, match="own base"):
        loading.save(again["model"], processor, Path("B"), base_dir=Path("B"))


def test_lora_targets_default_to_the_family(tiny_dir: Path, examples: list) -> None:
    model, processor = loading.load(tiny_dir, for_training=True)
    cfg = _train_cfg(method="lora", lora_targets=(), batch_size=4)
    result = training.train(model, processor, examples, cfg, steps=1)
    targets = result["model"].peft_config["default"].target_modules
    assert set(targets) == set(QWEN2_VL.lora_targets)


# ---------------------------------------------------------------------------- families


def test_unknown_family_is_refused() -> None:
    with pytest.raises(NotImplementedError, match=r"'not_a_family'.*qwen2_5_vl.*qwen2_vl"):
        families.get("not_a_family")


class CountingClips(dict):
    """Clips by key that count how often each is read."""

    def __init__(self, clips: dict[int, np.ndarray]) -> None:
        super().__init__(clips)
        self.reads: list[int] = []

    def __getitem__(self, key: int) -> np.ndarray:
        self.reads.append(key)
        return super().__getitem__(key)


# The generic path (one processor call per prompt) on the same processor.
GENERIC_QWEN = families.Family(model_types=("qwen2_vl",), lora_targets=())


@pytest.mark.parametrize("family", [QWEN2_VL, GENERIC_QWEN], ids=["qwen", "generic"])
def test_training_reads_and_encodes_each_steps_examples_holding_within_the_budget(
    tiny_dir: Path, examples: list, family: families.Family
) -> None:
    """Nothing is read before a step asks; what is held stops at the budget; the batch is the
    same whatever is held (the generic path holds whole prompts, Qwen's holds clips)."""
    _, processor = loading.load(tiny_dir)
    clips = CountingClips({i: frames for i, (frames, _, _) in enumerate(examples)})
    items = ClipItems([(i, p, r) for i, (_, p, r) in enumerate(examples)], clips)
    pad = processor.tokenizer.pad_token_id
    batches = {}
    for budget in (0, 10**9):
        enc = training.Encoder(processor, items, family, held=budget)
        assert clips.reads == []
        batches[budget] = [training.collate(enc, rows, pad) for rows in ([0, 1], [1, 2], [0])]
        assert sorted(set(clips.reads)) == [0, 1, 2]  # never 3: no step asked for it
        assert (len(enc.held) == 0) == (budget == 0)
        clips.reads.clear()
    for unheld, held in zip(batches[0], batches[10**9], strict=True):
        assert unheld.keys() == held.keys()
        for key in unheld:
            assert torch.equal(unheld[key], held[key]), key


@pytest.mark.parametrize("model_type", ["qwen2_vl", "qwen2_5_vl"])
def test_qwen_fast_encoding_equals_the_generic_processor_path(
    model_type: str, tiny_dir: Path, examples: list, tmp_path: Path
) -> None:
    """The clip-cached encoding of Qwen families gives exactly the processor's own inputs."""
    if model_type == "qwen2_5_vl":
        builders.build("qwen2_5_vl", tmp_path / "q25", CORPUS)
        _, processor = loading.load(tmp_path / "q25")
    else:
        _, processor = loading.load(tiny_dir)
    family = families.get(model_type)
    items = [(frames, prompt) for frames, prompt, _ in examples]
    fast = family.encode(processor, items)
    generic = families.Family.encode(family, processor, items)
    for a, b in zip(fast, generic, strict=True):
        assert torch.equal(a.ids, b.ids)
        assert a.sequence.keys() == b.sequence.keys() and a.visual.keys() == b.visual.keys()
        for key in a.sequence:
            assert torch.equal(a.sequence[key], b.sequence[key]), key
        for key in a.visual:
            assert torch.equal(a.visual[key], torch.as_tensor(b.visual[key])), key


def test_qwen2_5_vl_shares_the_code_path(examples: list, tmp_path: Path) -> None:
    builders.build("qwen2_5_vl", tmp_path / "q25", CORPUS)
    model, processor = loading.load(tmp_path / "q25", for_training=True)
    family = families.for_model(model)
    assert family is families.get("qwen2_5_vl") and family.clip_keys == ("second_per_grid_ts",)

    # Training batches carry exactly the inputs generate() gets from the processor.
    enc = training.Encoder(processor, examples, family)
    tok = processor.tokenizer
    batch = training.collate(enc, [1], tok.pad_token_id)
    frames, prompt, _ = examples[1]
    reference = processor(
        text=[family.prompt(processor, prompt)],
        videos=[frames],
        **family.timing(processor, [frames]),  # the frames' times: Qwen2.5-VL's M-RoPE reads them
        do_sample_frames=False,
        return_tensors="pt",
    )
    n_prompt = len(enc.prompts([1])[0].ids)
    for key in ("input_ids", "mm_token_type_ids"):
        assert torch.equal(batch[key][0, :n_prompt], reference[key][0]), key
    for key in ("pixel_values_videos", "video_grid_thw", "second_per_grid_ts"):
        assert torch.equal(batch[key], torch.as_tensor(reference[key])), key

    for method in ("full", "lora"):
        model, processor = loading.load(tmp_path / "q25", for_training=True)
        cfg = _train_cfg(method=method, lr=5e-3, batch_size=4, warmup_steps=2)
        result = training.train(model, processor, examples, cfg, steps=3)
        assert all(np.isfinite(result["losses"]))
    loading.save(result["model"], processor, tmp_path / "adapter", base_dir=tmp_path / "q25")
    merged, processor = loading.load(tmp_path / "adapter")
    items = [(frames, prompt) for frames, prompt, _ in examples]
    out = generation.generate(merged, processor, items, GREEDY, seed=0)
    assert len(out) == 4 and all(isinstance(t, str) for t in out)
    assert generation.generate(result["model"], processor, items, GREEDY, seed=0) == out


def test_gradient_accumulation_equals_the_whole_batch(tiny_dir: Path, examples: list) -> None:
    """Micro-batches of 1 accumulate to the step one pass over the whole batch makes."""
    results = []
    for micro in (0, 1):
        model, processor = loading.load(tiny_dir, for_training=True)
        cfg = _train_cfg(lr=1e-3, batch_size=4, warmup_steps=1, micro_batch_size=micro)
        result = training.train(model, processor, examples, cfg, steps=3)
        results.append((result["losses"], dict(result["model"].named_parameters())))
    (whole, params), (accumulated, again) = results
    np.testing.assert_allclose(accumulated, whole, rtol=1e-4)
    for name, value in params.items():
        # Adam divides by the root of tiny second moments: rounding shows up to ~1e-5.
        torch.testing.assert_close(again[name], value, rtol=1e-3, atol=1e-4)


def test_gradient_checkpointing_trains_the_same(tiny_dir: Path, examples: list) -> None:
    losses = []
    for checkpointing in (False, True):
        model, processor = loading.load(tiny_dir, for_training=True)
        cfg = _train_cfg(lr=1e-3, batch_size=4, gradient_checkpointing=checkpointing)
        losses.append(training.train(model, processor, examples, cfg, steps=3)["losses"])
    np.testing.assert_allclose(losses[1], losses[0], rtol=1e-4)


def test_a_cycle_that_kept_nothing_is_an_alias_of_its_base(
    tiny_dir: Path, examples: list, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No copy of the weights; it loads as its base; its bytes follow the base's."""
    monkeypatch.chdir(tmp_path)
    shutil.copytree(tiny_dir, "base")
    loading.save_alias(Path("alias"), base_dir=Path("base"))
    assert [p.name for p in Path("alias").iterdir()] == [loading.BASE_FILE]
    first = Path("alias/base.json").read_bytes()
    base, processor = loading.load("base")
    alias, _ = loading.load("alias")
    assert torch.equal(_logits(alias, processor, examples), _logits(base, processor, examples))
    (Path("base") / "generation_config.json").write_text("{}")
    loading.save_alias(Path("alias"), base_dir=Path("base"))
    assert Path("alias/base.json").read_bytes() != first


def test_identity_pins_what_the_pretrained_model_is(tiny_dir: Path, tmp_path: Path) -> None:
    """A local folder is fingerprinted (a changed checkpoint changes identity.json, so DVC reruns
    what depends on it); a hub id needs a pinned revision."""
    shutil.copytree(tiny_dir, tmp_path / "m")
    first = loading.identity(str(tmp_path / "m"), None)
    assert first["fingerprint"] == loading.identity(str(tmp_path / "m"), None)["fingerprint"]
    (tmp_path / "m" / "config.json").write_text("{}")
    assert loading.identity(str(tmp_path / "m"), None)["fingerprint"] != first["fingerprint"]
    with pytest.raises(ValueError, match="pin model.revision"):
        loading.identity("LanguageBind/Video-LLaVA-7B-hf", None)
    pinned = loading.identity("LanguageBind/Video-LLaVA-7B-hf", "0123abc")
    assert pinned == {"name_or_path": "LanguageBind/Video-LLaVA-7B-hf", "revision": "0123abc"}
