"""Nothing lost: a generation stage killed with SIGKILL resumes where it stopped, byte for byte."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from videostar.core.partial import PartialBatches, key_of
from videostar.core.records import write_jsonl
from videostar.lmm import tiny
from videostar.lmm.config import TinyConfig
from videostar.video.clips import write_video

REPO = Path(__file__).resolve().parents[1]
WORDS = ["the red ball moves left. So the answer is left. Which way does the ball go?"] * 20


def test_partial_batches_keep_finished_work_and_drop_a_torn_line(tmp_path):
    store = PartialBatches.open("answer@cycle_1", {"rows": 1}, root=tmp_path)
    store.add(0, ["a", "b"])
    store.add(2, ["e"])
    with open(store.path, "a") as f:
        f.write('{"batch": 3, "te')  # killed mid-write
    again = PartialBatches.open("answer@cycle_1", {"rows": 1}, root=tmp_path)
    assert again.done() == {0: ["a", "b"], 2: ["e"]}
    other = PartialBatches.open("answer@cycle_1", {"rows": 2}, root=tmp_path)
    assert other.done() == {} and not store.folder.exists()  # another key: stale work removed
    other.close()
    assert not other.folder.exists()
    assert key_of({"a": 1, "b": [2]}) == key_of({"b": [2], "a": 1})


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    """A stage's world: params.yaml, a tiny model, 48 questions on 6 videos."""
    root = tmp_path_factory.mktemp("resume")
    tiny.build_tiny(TinyConfig(), WORDS, root / "model")
    rng = np.random.default_rng(0)
    for i in range(6):
        write_video(root / f"v{i}.mp4", rng.integers(0, 255, (8, 32, 32, 3), np.uint8), fps=8)
    label = {"name": "direction", "type": "category", "value": "left"}
    rows = [{"id": f"q{i:02d}", "video": f"v{i % 6}.mp4", "split": "train", "task": "direction",
             "question": f"Which way does the ball go? ({i})", "labels": [label]}
            for i in range(48)]  # fmt: skip
    write_jsonl(root / "questions.jsonl", rows)
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["sampling"]["answer"].update(batch_size=2, max_new_tokens=48, temperature=0.2)
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    return root


def generate(workdir: Path, out: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO), "VIDEOSTAR_DEVICE": "cpu"}
    cmd = [sys.executable, "-m", "stages.generate", "--kind", "answer", "--name", "cycle_1",
           "--model", "model", "--rows", "questions.jsonl", "--out", out]  # fmt: skip
    return subprocess.Popen(cmd, cwd=workdir, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)  # fmt: skip


def finish(proc: subprocess.Popen) -> str:
    output, _ = proc.communicate(timeout=600)
    assert proc.returncode == 0, output
    return output


def test_a_killed_generation_stage_resumes_to_the_same_bytes(workdir):
    finish(generate(workdir, "uninterrupted.jsonl"))
    partial = workdir / ".videostar/partial/answer_cycle_1"
    assert not partial.exists() or not any(partial.iterdir())  # removed once the outputs exist

    proc = generate(workdir, "resumed.jsonl")
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        batches = list(partial.glob("*/batches.jsonl"))
        if batches and len(batches[0].read_text().splitlines()) >= 3:
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(0.01)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the stage finished before it could be killed"
    kept = len(next(partial.glob("*/batches.jsonl")).read_text().splitlines())
    assert 3 <= kept < 24
    output = finish(generate(workdir, "resumed.jsonl"))
    assert f"resuming, {kept} finished batches" in output
    assert (workdir / "resumed.jsonl").read_bytes() == (
        workdir / "uninterrupted.jsonl"
    ).read_bytes()
