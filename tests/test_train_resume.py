"""Nothing lost: training killed between checkpoints resumes to the same weights, byte for byte."""

from __future__ import annotations

import dataclasses
import os
import pickle
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.stage_worlds import REPO, TEST_TINY, WORDS, train_world
from videostar.lmm import loading, tiny, training
from videostar.lmm.config import LoadConfig, TrainConfig

pytestmark = pytest.mark.usefixtures("cpu_one_thread")

RUNTIME = LoadConfig(trust_remote_code=False, dtype="auto", attn_implementation="auto")
CFG = TrainConfig(method="full", lr=1e-3, weight_decay=0.01, betas=(0.9, 0.98), warmup_steps=3,
                  min_lr_ratio=0.1, decay_fraction=1.0, grad_clip=1.0, batch_size=3, epochs=1.0, min_steps=1,
                  max_steps=100, lora_r=4, lora_alpha=8, lora_dropout=0.1, lora_targets=(),
                  seed=0, micro_batch_size=2, gradient_checkpointing=False,
                  checkpoint_every=4, group_by_length=False, pack_sequences=False)  # fmt: skip


class Killed(Exception):
    pass


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("tiny")
    tiny.build_tiny(TEST_TINY, WORDS, out)
    return out


@pytest.fixture(scope="module")
def examples() -> list[tuple[np.ndarray, str, str]]:
    rng = np.random.default_rng(0)
    texts = ["the red ball moves left.", "it goes up.", "so the answer is 3", "left", "the ball"]
    return [(rng.integers(0, 256, (8, 32, 32, 3), np.uint8), f"question {i}?", text)
            for i, text in enumerate(texts)]  # fmt: skip


def run(tiny_dir: Path, examples: list, cfg: TrainConfig, out: Path, **kwargs) -> list[float]:
    """Train a freshly loaded model for 10 steps and save it to ``out``; the losses."""
    model, processor = loading.load(tiny_dir, for_training=True, frozen=cfg.method == "lora")
    result = training.train(model, processor, examples, cfg, steps=10, **kwargs)
    loading.save(result["model"], processor, out, base_dir=tiny_dir)
    return result["losses"]


def files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


@pytest.mark.parametrize(("method", "reshaped"), [("full", False), ("lora", False), ("full", True)])
def test_training_resumed_from_a_checkpoint_equals_an_uninterrupted_run(
    tiny_dir, examples, tmp_path, monkeypatch, method, reshaped
):
    monkeypatch.chdir(tmp_path)  # adapters name their base relative to the working directory
    # LoRA dropout: the torch random state matters; reshaped: length-sorted epochs, packed rows.
    cfg = dataclasses.replace(CFG, method=method, group_by_length=reshaped, pack_sequences=reshaped)
    curve: list[tuple[int, dict]] = []
    losses = run(tiny_dir, examples, cfg, tmp_path / "uninterrupted",
                 log=lambda step, record: curve.append((step, record)))  # fmt: skip

    def kill_at_step_6(step: int, record: dict) -> None:
        if step == 6:  # the checkpoint of step 4 is kept; steps 4 and 5 are done again
            raise Killed

    checkpoint = training.Checkpoint.open("train@test", {"run": 1}, root=tmp_path / "partial")
    with pytest.raises(Killed):
        run(tiny_dir, examples, cfg, tmp_path / "killed", checkpoint=checkpoint, log=kill_at_step_6)
    assert [p.name for p in checkpoint.folder.iterdir()] == ["step-00000004"]
    (checkpoint.folder / "step-00000008.tmp").mkdir()  # a kill mid-write leaves a torn folder
    (checkpoint.folder / "step-00000008.tmp" / "state.pt").write_bytes(b"torn")

    resumed_curve: list[tuple[int, dict]] = []
    again = training.Checkpoint.open("train@test", {"run": 1}, root=tmp_path / "partial")
    resumed = run(tiny_dir, examples, cfg, tmp_path / "resumed", checkpoint=again,
                  log=lambda step, record: resumed_curve.append((step, record)))  # fmt: skip
    # Steps 0-3 are replayed from the checkpoint, 4-9 trained: the same curves, exactly.
    assert [step for step, _ in resumed_curve] == list(range(10))
    assert resumed_curve == curve and set(curve[0][1]) == {"loss", "lr", "grad_norm", "examples"}
    assert resumed == losses
    assert files(tmp_path / "resumed") == files(tmp_path / "uninterrupted")
    assert [p.name for p in again.folder.iterdir()] == ["step-00000008"]  # older ones dropped
    again.close()
    assert not again.folder.exists()


def test_a_changed_input_or_setting_does_not_resume(tiny_dir, examples, tmp_path):
    key = training.resume_key(examples, tiny_dir, CFG, RUNTIME)
    checkpoint = training.Checkpoint.open("base", key, root=tmp_path)
    checkpoint.save({"step": 4, "weights": {"w": torch.ones(2)}, "losses": [1.0]})
    assert checkpoint.load()["step"] == 4
    assert training.resume_key(examples, tiny_dir, CFG, RUNTIME) == key
    # How often it checkpoints does not change the result, so it is not part of the key.
    assert training.resume_key(examples, tiny_dir, dataclasses.replace(CFG, checkpoint_every=9),
                               RUNTIME) == key  # fmt: skip
    frames, prompt, text = examples[0]
    other_model = tmp_path / "other_model"
    shutil.copytree(tiny_dir, other_model)
    (other_model / "config.json").write_text((other_model / "config.json").read_text() + " ")
    changed = [
        training.resume_key(examples, tiny_dir, dataclasses.replace(CFG, lr=2e-3), RUNTIME),
        training.resume_key([(frames ^ 1, prompt, text), *examples[1:]], tiny_dir, CFG, RUNTIME),
        training.resume_key([(frames, prompt, text + "!"), *examples[1:]], tiny_dir, CFG, RUNTIME),
        training.resume_key(examples, other_model, CFG, RUNTIME),
        training.resume_key(examples, tiny_dir, CFG, dataclasses.replace(RUNTIME, dtype="float32")),
    ]
    for other in changed:
        assert other != key
        fresh = training.Checkpoint.open("base", other, root=tmp_path)
        assert fresh.load() is None and not checkpoint.folder.exists()  # stale work removed
        checkpoint = fresh


def test_checkpoint_state_is_never_unpickled(tmp_path):
    """state.pt is read with ``weights_only``: an arbitrary object in it is refused."""
    checkpoint = training.Checkpoint(tmp_path)
    checkpoint.save({"step": 2, "weights": {"w": torch.zeros(1)}})
    torch.save({"step": 2, "evil": Killed()}, tmp_path / "step-00000002" / "state.pt")
    with pytest.raises(pickle.UnpicklingError):
        checkpoint.load()


# ------------------------------------------------------------------------------ killed stages


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The world of a train stage and of the base stage: a tiny model, 6 videos, verified answers,
    general data, a pretraining corpus, and params.yaml with 30 steps, a checkpoint every 5."""
    short = {"min_steps": 30, "max_steps": 30, "warmup_steps": 3, "batch_size": 4,
             "checkpoint_every": 5}  # fmt: skip
    root = tmp_path_factory.mktemp("train_resume")
    return train_world(root, 6, 12, {"pretrain": short, "train": short}, seed=0)


STAGES = {
    "train": ("train_cycle_1", ["stages.train", "--name", "cycle_1", "--init", "model",
              "--data", "verified", "--rationales", "off", "--records", "records/{run}"]),
    "base": ("base", ["stages.base", "--corpus", "corpus"]),
}  # fmt: skip


def start(workdir: Path, stage: str, run: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO), "VIDEOSTAR_DEVICE": "cpu", "OMP_NUM_THREADS": "1"}
    args = [a.format(run=run) for a in STAGES[stage][1]]
    cmd = [sys.executable, "-m", *args, "--out", f"{stage}/{run}", "--metrics", f"{run}.json",
           "--curves", f"curves/{stage}/{run}"]  # fmt: skip
    return subprocess.Popen(cmd, cwd=workdir, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)  # fmt: skip


def finish(proc: subprocess.Popen) -> str:
    output, _ = proc.communicate(timeout=600)
    assert proc.returncode == 0, output
    return output


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_a_killed_training_stage_resumes_to_the_same_bytes(workdir, stage):
    partial = workdir / ".videostar/partial" / STAGES[stage][0]
    finish(start(workdir, stage, "uninterrupted"))
    assert not partial.exists() or not any(partial.iterdir())  # removed once the outputs exist

    proc = start(workdir, stage, "resumed")
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        if any(int(p.name[5:]) >= 10 for p in partial.glob("*/step-*[0-9]")):
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(0.01)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the stage finished before it could be killed"
    kept = max(int(p.name[5:]) for p in partial.glob("*/step-*[0-9]"))  # the newest is used
    assert 10 <= kept < 30
    output = finish(start(workdir, stage, "resumed"))
    assert f"train: resuming from step {kept} of 30" in output
    assert not any(partial.iterdir())
    assert files(workdir / stage / "resumed") == files(workdir / stage / "uninterrupted")
    curves = workdir / "curves" / stage  # the killed run's partial curves are replaced, not kept
    for name in ("plots/metrics", "."):
        assert files(curves / "resumed" / name) == files(curves / "uninterrupted" / name)
