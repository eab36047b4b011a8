"""loop.generation.generate_rows: which rows get which prompt, and resuming without a model."""

from __future__ import annotations

import numpy as np
import pytest

from videostar.core import config
from videostar.core.partial import PartialBatches
from videostar.lmm import generation, loading
from videostar.lmm.config import LoadConfig, SamplingConfig
from videostar.loop.generation import TooManyErrors, generate_rows
from videostar.prompts import PromptsConfig
from videostar.video.clips import write_video


def test_a_run_whose_batches_all_finished_loads_no_model(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    write_video(tmp_path / "v.mp4", rng.integers(0, 255, (8, 32, 32, 3), np.uint8), fps=8)
    rows = [{"id": f"q{i}", "video": str(tmp_path / "v.mp4"), "split": "train", "task": "way",
             "question": f"Which way? ({i})", "labels": []} for i in range(3)]  # fmt: skip
    rows.append({**rows[0], "id": "broken", "video": str(tmp_path / "missing.mp4")})
    params = config.load_params()
    sampling = config.section(SamplingConfig, "sampling.answer", params)
    sampling = SamplingConfig(**{**sampling.__dict__, "batch_size": 2})
    store = PartialBatches.open("answer@test", {"rows": 1}, root=tmp_path / "partial")
    store.add(0, ["left.", "right."])
    store.add(1, ["up."])

    def no_model(*args, **kwargs):
        pytest.fail("the model was loaded although every batch had finished")

    monkeypatch.setattr(loading, "load", no_model)
    out = generate_rows(
        "answer", rows, "models/none", config.section(PromptsConfig, "prompts", params),
        sampling, num_frames=4, seed=0, runtime=LoadConfig(False, "auto", "auto"), store=store,
    )  # fmt: skip
    assert [r["text"] for r in out] == ["left.", "right.", "up.", ""]
    assert out[3]["error"].startswith("video: missing file")
    assert all(r["prompt_kind"] == "answer" for r in out)


def test_too_many_unusable_rows_stop_the_stage_before_any_generation(tmp_path, monkeypatch):
    rows = [{"id": f"q{i}", "video": str(tmp_path / f"gone{i}.mp4"), "split": "train",
             "task": "direction", "question": "Which way?", "labels": []} for i in range(3)]  # fmt: skip
    rows.append({**rows[0], "id": "nolabels", "labels": None})
    params = config.load_params()

    def no_model(*args, **kwargs):
        pytest.fail("the model was loaded for rows that cannot be generated for")

    monkeypatch.setattr(loading, "load", no_model)
    with pytest.raises(TooManyErrors, match=r"4 of 4 rows .*'row': 1, 'video': 3"):
        generate_rows(
            "answer", rows, "models/none", config.section(PromptsConfig, "prompts", params),
            config.section(SamplingConfig, "sampling.answer", params), num_frames=4, seed=0,
            runtime=LoadConfig(False, "auto", "auto"), max_error_fraction=0.5,
        )  # fmt: skip


def test_batches_are_sorted_by_prompt_length_and_each_row_gets_its_own_text(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    write_video(tmp_path / "v.mp4", rng.integers(0, 255, (8, 32, 32, 3), np.uint8), fps=8)
    questions = ["Which way does it go in the end?", "Which way?", "Where to?", "Which way now?"]
    rows = [{"id": f"q{i}", "video": str(tmp_path / "v.mp4"), "split": "train", "task": "way",
             "question": q, "labels": []} for i, q in enumerate(questions)]  # fmt: skip
    params = config.load_params()
    sampling = SamplingConfig(**{**config.section(SamplingConfig, "sampling.answer", params).__dict__,
                                 "batch_size": 2})  # fmt: skip
    seen: list[list[str]] = []

    def echo(model, processor, items, cfg, seed, done, on_batch, owns, **kwargs):
        """Stands in for the model: answers each prompt with the prompt itself."""
        for b, start in enumerate(range(0, len(items), cfg.batch_size)):
            texts = [text for _, text in items[start : start + cfg.batch_size]]
            seen.append(texts)
            on_batch(b, texts)

    monkeypatch.setattr(loading, "load", lambda *args, **kwargs: (None, None))
    monkeypatch.setattr(generation, "generate", echo)
    out = generate_rows(
        "answer", rows, "models/none", config.section(PromptsConfig, "prompts", params),
        sampling, num_frames=4, seed=0, runtime=LoadConfig(False, "auto", "auto"),
    )  # fmt: skip
    lengths = [len(text) for batch in seen for text in batch]
    assert lengths == sorted(lengths) and len(seen) == 2
    assert [r["id"] for r in out] == [r["id"] for r in rows]
    assert all(r["text"] == r["prompt"] and questions[i] in r["prompt"] for i, r in enumerate(out))
