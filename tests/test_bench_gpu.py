"""benchmarks/bench_gpu.py's CPU smoke path: the tiny Qwen2-VL shape, generation and LoRA training
through the project's own code, every number positive. The 2B/7B shapes need a GPU (not run here)."""

import math

import pytest

from tests.scripts import load_script

pytestmark = pytest.mark.usefixtures("cpu_one_thread")


def _load():
    return load_script("bench_gpu")


def test_tiny_cpu_smoke():
    bench = _load()
    cfg = bench.BenchConfig(
        shapes=("tiny",), device="cpu", batch=3, new_tokens=6, frames=4, train_batch=2,
        train_steps=2, lora_r=4,
    )  # fmt: skip
    (result,) = bench.run(cfg, progress=lambda line: None)

    assert set(result.gen) == {1, 3}
    for batch, numbers in result.gen.items():
        assert numbers["tokens"] == batch * 6  # exactly new_tokens per answer, EOS unreachable
        for key in ("e2e_tok_s", "decode_tok_s", "prefill_s", "seconds"):
            assert math.isfinite(numbers[key]) and numbers[key] > 0, (batch, key, numbers)
    assert result.prompt_tokens > result.video_tokens > 0
    assert result.train["samples_s"] > 0 and result.train["step_s"] > 0
    assert result.train["lora_params"] > 0
    assert result.decode_bytes > 0 and result.kv_bytes_per_token > 0
    # the tiny vocabulary is padded past the tokenizer's, as the real shapes' are
    assert result.params > 0 and bench.SHAPES["tiny"].vocab_size == 1024

    memory = bench.train_memory(result, 2, 100, int(result.train["lora_params"]))
    assert all(v > 0 for v in memory.values())
    table = bench.report([result], cfg)
    assert "gen decode tok/s b3" in table and "train samples/s" in table


def test_real_shapes_match_the_hub_parameter_counts():
    """2B/7B configs give the published checkpoints' parameter counts (meta device: no memory)."""
    torch = pytest.importorskip("torch")
    from transformers import Qwen2VLForConditionalGeneration

    bench = _load()
    ids = {token: i for i, token in enumerate(bench.tiny.SPECIAL_TOKENS)}
    expected = {"2b": 2_208_985_600, "7b": 8_291_375_616}
    for name, count in expected.items():
        config = bench.model_config(bench.SHAPES[name], ids)
        with torch.device("meta"):
            model = Qwen2VLForConditionalGeneration._from_config(config)
        assert sum(p.numel() for p in model.parameters()) == count, name
