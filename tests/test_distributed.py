"""Several processes per stage: the merged outputs are the bytes one process writes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.stage_worlds import REPO, question_world
from tests.stage_worlds import train_world as train_world_in
from videostar.core.records import read_jsonl, write_jsonl
from videostar.lmm import loading

TORCHRUN = f"{sys.executable} -m torch.distributed.run --standalone --nproc_per_node 2"


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    """21 questions on 5 videos and one whose video is missing, sampled at T=0.7."""
    answer = {"batch_size": 4, "max_new_tokens": 12, "temperature": 0.7}
    root = question_world(tmp_path_factory.mktemp("distributed"), 5, 21, answer)
    rows = read_jsonl(root / "questions.jsonl")
    write_jsonl(root / "questions.jsonl", [*rows, {**rows[0], "id": "broken", "video": "no.mp4"}])
    return root


def generate(workdir: Path, out: str, launch: str = "") -> str:
    """Run the generation stage with a frame cache of its own (none of the clips cached yet)."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "VIDEOSTAR_DEVICE": "cpu",
           "VIDEOSTAR_LAUNCH": launch, "OMP_NUM_THREADS": "1",
           "VIDEOSTAR_FRAME_CACHE": str(workdir / f"frames-{out}")}  # fmt: skip
    cmd = [sys.executable, "-m", "stages.generate", "--kind", "answer", "--name", "cycle_1",
           "--model", "model", "--rows", "questions.jsonl", "--out", out]  # fmt: skip
    done = subprocess.run(cmd, cwd=workdir, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout + done.stderr


def test_two_processes_write_the_bytes_one_process_writes(workdir):
    generate(workdir, "one.jsonl")
    log = generate(workdir, "two.jsonl", launch=TORCHRUN)
    assert "process 1 of 2" in log and "process 2 of 2" in log
    # The main process decodes the 5 videos (and fails on the missing one); the other waits.
    assert [line for line in log.splitlines() if "clips decoded" in line] == [
        "decode: 6 clips decoded, 0 from the frame cache"
    ]
    assert (workdir / "two.jsonl").read_bytes() == (workdir / "one.jsonl").read_bytes()
    assert not list((workdir / ".videostar/partial").glob("answer_cycle_1/*"))  # merged, closed


@pytest.fixture(scope="module")
def train_world(tmp_path_factory) -> Path:
    """A train stage's world: a tiny model, 4 videos, 16 verified answers, general data."""
    steps = {"min_steps": 12, "max_steps": 12, "warmup_steps": 2, "batch_size": 4,
             "micro_batch_size": 1}  # fmt: skip
    return train_world_in(tmp_path_factory.mktemp("ddp"), 4, 16, {"train": steps}, seed=1)


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


@pytest.mark.parametrize("kind", ["FSDP", "DEEPSPEED"])
def test_training_refuses_sharded_data_parallel_with_a_clear_error(kind):
    # accelerate picks FSDP/DeepSpeed only for GPU process groups, so the guard is checked on
    # the accelerator's own value rather than through a launch.
    from types import SimpleNamespace

    from accelerate.utils import DistributedType

    from videostar.lmm import training

    accelerator = SimpleNamespace(distributed_type=DistributedType[kind])
    with pytest.raises(NotImplementedError, match="use DDP"):
        training._check_data_parallel(accelerator)
    training._check_data_parallel(SimpleNamespace(distributed_type=DistributedType.MULTI_GPU))
