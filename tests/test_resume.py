"""Nothing lost: a generation stage killed with SIGKILL resumes where it stopped, byte for byte."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.stage_worlds import REPO, question_world
from videostar.core.partial import PartialBatches, key_of


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
    answer = {"batch_size": 2, "max_new_tokens": 48, "temperature": 0.2}
    return question_world(tmp_path_factory.mktemp("resume"), 6, 48, answer)


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
