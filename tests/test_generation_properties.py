"""Property tests of the generation stage's contract (loop.generation.generate_rows with a real
tiny model): whatever the question rows, no crash, one output row per input row, and every row is
either generated or carries the reason it was not.

Generated rows mix valid questions with missing keys, wrong types, unknown label types, bad label
values, bad segments and fps, paths with `..` or to missing files, and huge or empty strings.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.stage_worlds import TEST_TINY, WORDS
from videostar.core import config
from videostar.labels.rows import question_problem
from videostar.lmm import tiny
from videostar.lmm.config import LoadConfig, SamplingConfig
from videostar.loop.generation import generate_rows
from videostar.prompts import PromptsConfig
from videostar.video.clips import write_video

pytestmark = pytest.mark.usefixtures("cpu_one_thread")

SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
GREEDY = SamplingConfig(
    temperature=0.0, top_p=1.0, top_k=0, repetition_penalty=1.0, max_new_tokens=4, batch_size=3
)

texts = st.one_of(
    st.sampled_from(["", " ", "word " * 400, "../a.mp4", "/etc/passwd", "Which way?"]),
    st.text(max_size=30),
)
values = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 5), st.floats(allow_nan=True), texts,
    st.lists(st.one_of(st.floats(0, 1), texts), max_size=4),
)  # fmt: skip
labels = st.one_of(
    st.just({"name": "direction", "type": "category", "value": "left"}),
    st.fixed_dictionaries({"name": texts, "type": st.sampled_from(
        ["category", "sequence", "number", "temporal_range", "nope", ""]), "value": values}),
    values,
)  # fmt: skip


@st.composite
def question_rows(draw, videos: list[str]) -> dict:
    row = {"id": f"q{draw(st.integers(0, 99))}", "video": draw(st.sampled_from(videos)),
           "split": "train", "task": "direction", "question": "Which way does the ball go?",
           "labels": [{"name": "direction", "type": "category", "value": "left"}]}  # fmt: skip
    bad = draw(
        st.dictionaries(
            st.sampled_from(["id", "video", "question", "labels", "segment", "fps"]),
            st.one_of(values, st.lists(labels, max_size=2), st.lists(st.floats(-1, 5), max_size=3)),
            max_size=2,
        )
    )
    return {**row, **bad}


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("generation")
    tiny.build_tiny(TEST_TINY, WORDS, root / "model")
    rng = np.random.default_rng(0)
    write_video(root / "a.mp4", rng.integers(0, 255, (8, 32, 32, 3), np.uint8), fps=8)
    return root


@SETTINGS
@given(data=st.data())
def test_every_row_is_generated_or_says_why_not(world, data) -> None:
    videos = [str(world / "a.mp4"), str(world / "missing.mp4"), str(world / "../a.mp4"), ""]
    rows = data.draw(st.lists(question_rows(videos), min_size=1, max_size=6))
    params = config.load_params()
    out = generate_rows(
        "answer", rows, str(world / "model"), config.section(PromptsConfig, "prompts", params),
        GREEDY, num_frames=4, seed=0, runtime=LoadConfig(False, "auto", "auto"),
    )  # fmt: skip
    assert len(out) == len(rows)
    for row, got in zip(rows, out, strict=True):
        problem = question_problem(row)
        assert isinstance(got["text"], str)
        if problem is not None:
            assert got["error"] == f"row: {problem}" and got["text"] == "" and got["prompt"] == ""
        elif got["error"] is not None:
            assert got["error"].startswith("video: ") and got["text"] == ""
        else:
            assert Path(row["video"]) == world / "a.mp4" and got["prompt"]
        event("generated" if got["error"] is None else got["error"].split(":")[0])
