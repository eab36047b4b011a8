"""Several processes per stage: the merged outputs are the bytes one process writes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from videostar.core.records import write_jsonl
from videostar.lmm import loading, tiny
from videostar.lmm.config import TinyConfig
from videostar.video.clips import write_video

REPO = Path(__file__).resolve().parents[1]
WORDS = ["the red ball moves left. So the answer is left. Which way does the ball go?"] * 20
TORCHRUN = f"{sys.executable} -m torch.distributed.run --standalone --nproc_per_node 2"


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("distributed")
    tiny.build_tiny(TinyConfig(), WORDS, root / "model")
    rng = np.random.default_rng(0)
    for i in range(5):
        write_video(root / f"v{i}.mp4", rng.integers(0, 255, (8, 32, 32, 3), np.uint8), fps=8)
    label = {"name": "direction", "type": "category", "value": "left"}
    rows = [{"id": f"q{i:02d}", "video": f"v{i % 5}.mp4", "split": "train", "task": "direction",
             "question": f"Which way does the ball go? ({i})", "labels": [label]}
            for i in range(21)]  # fmt: skip
    rows.append({**rows[0], "id": "broken", "video": "missing.mp4"})
    write_jsonl(root / "questions.jsonl", rows)
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["sampling"]["answer"].update(batch_size=4, max_new_tokens=12, temperature=0.7)
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    return root


def generate(workdir: Path, out: str, launch: str = "") -> str:
    env = {**os.environ, "PYTHONPATH": str(REPO), "VIDEOSTAR_DEVICE": "cpu",
           "VIDEOSTAR_LAUNCH": launch, "OMP_NUM_THREADS": "1"}  # fmt: skip
    cmd = [sys.executable, "-m", "stages.generate", "--kind", "answer", "--name", "cycle_1",
           "--model", "model", "--rows", "questions.jsonl", "--out", out]  # fmt: skip
    done = subprocess.run(cmd, cwd=workdir, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout + done.stderr


def test_two_processes_write_the_bytes_one_process_writes(workdir):
    generate(workdir, "one.jsonl")
    log = generate(workdir, "two.jsonl", launch=TORCHRUN)
    assert "process 1 of 2" in log and "process 2 of 2" in log
    assert (workdir / "two.jsonl").read_bytes() == (workdir / "one.jsonl").read_bytes()
    assert not list((workdir / ".videostar/partial").glob("answer_cycle_1/*"))  # merged, closed


@pytest.fixture(scope="module")
def train_world(tmp_path_factory) -> Path:
    """A train stage's world: a tiny model, 4 videos, 16 verified answers, general data."""
    root = tmp_path_factory.mktemp("ddp")
    tiny.build_tiny(TinyConfig(), WORDS, root / "model")
    rng = np.random.default_rng(1)
    for i in range(4):
        write_video(root / f"clips/v{i}.mp4", rng.integers(0, 255, (8, 32, 32, 3), np.uint8), 8)
    answers = [{"id": f"q{i:02d}", "video": f"clips/v{i % 4}.mp4", "split": "train",
                "task": "direction", "question": "Which way does the ball go?",
                "text": f"the ball moves {'left' if i % 4 < 2 else 'right'}.", "ok": True}
               for i in range(16)]  # fmt: skip
    write_jsonl(root / "verified/answers.jsonl", answers)
    conversation = [{"from": "human", "value": "<video>\nWhat colour is the ball?"},
                    {"from": "gpt", "value": "red"}]  # fmt: skip
    (root / "general.json").write_text(json.dumps(
        [{"id": f"g{i}", "video": f"v{i}.mp4", "conversations": conversation} for i in range(4)]
    ))  # fmt: skip
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["train"].update(min_steps=12, max_steps=12, warmup_steps=2, batch_size=4,
                           micro_batch_size=1, general_data="general.json",
                           general_videos="clips")  # fmt: skip
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    return root


def test_two_process_ddp_training_completes_learns_and_saves_a_loadable_model(train_world):
    env = {**os.environ, "PYTHONPATH": str(REPO), "VIDEOSTAR_DEVICE": "cpu",
           "VIDEOSTAR_LAUNCH": TORCHRUN, "OMP_NUM_THREADS": "1"}  # fmt: skip
    cmd = [sys.executable, "-m", "stages.train", "--name", "cycle_1", "--init", "model",
           "--data", "verified", "--rationales", "off", "--records", "records",
           "--out", "trained", "--metrics", "metrics.json", "--curves", "curves"]  # fmt: skip
    done = subprocess.run(cmd, cwd=train_world, env=env, capture_output=True, text=True,
                          timeout=600)  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "process 1 of 2" in done.stdout and "process 2 of 2" in done.stdout
    training = json.loads((train_world / "metrics.json").read_text())["training"]
    assert training["steps"] == 12 and training["loss_last"] < training["loss_first"]
    model, _ = loading.load(train_world / "trained")
    assert model.config.model_type == "qwen2_vl"
    assert (train_world / "records/samples.jsonl").is_file()
    loss = (train_world / "curves/plots/metrics/loss.tsv").read_text().splitlines()
    assert len(loss) == 13  # the header and every step, written by the first process only
