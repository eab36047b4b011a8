"""`prepare`: manifest validation with a recorded reason for every rejected video."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from videostar.core.records import read_json, read_jsonl, write_jsonl
from videostar.data.manifest import PrepareConfig, prepare
from videostar.video.clips import write_video

REPO = Path(__file__).resolve().parents[1]


def manifest_row(i, video):
    label = {"name": "direction", "type": "category", "value": "left"}
    return {"id": f"v{i}", "video": video, "split": "train", "task": "direction", "labels": [label]}


@pytest.fixture
def dataset(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    root = tmp_path / "ds"
    write_video(root / "videos/good.mp4", np.zeros((8, 32, 32, 3), dtype=np.uint8), fps=8)
    (root / "videos/empty.mp4").write_bytes(b"")
    (root / "videos/corrupt.mp4").write_bytes(b"not a video at all" * 10)
    rows = [
        manifest_row(0, "videos/good.mp4"),
        manifest_row(1, "videos/missing.mp4"),
        manifest_row(2, "videos/empty.mp4"),
        manifest_row(3, "videos/corrupt.mp4"),
        manifest_row(4, "../outside.mp4"),
        {
            **manifest_row(5, "videos/good.mp4"),
            "labels": [{"name": "x", "type": "nope", "value": 1}],
        },
        manifest_row(0, "videos/good.mp4"),
    ]
    return root, rows


def test_prepare_records_every_reject_with_its_reason(dataset):
    root, rows = dataset
    accepted, rejected = prepare(rows, root, PrepareConfig("unused", 8, 0.05))
    assert [r["id"] for r in accepted] == ["v0"]
    assert accepted[0]["video"] == "ds/videos/good.mp4"
    assert accepted[0]["frame_size"] == [32, 32]
    reasons = {r["id"]: r["reason"] for r in rejected}
    assert len(rejected) == len(rows) - 1
    assert "missing" in reasons["v1"]
    assert "empty" in reasons["v2"]
    assert "decode" in reasons["v3"]
    assert "escapes" in reasons["v4"]
    assert "nope" in reasons["v5"]


def test_prepare_stage_fails_after_writing_rejects(dataset, tmp_path):
    root, rows = dataset
    write_jsonl(root / "manifest.jsonl", rows)
    (tmp_path / "params.yaml").write_text(
        "prepare:\n  manifest: ds/manifest.jsonl\n  num_frames: 8\n  max_reject_fraction: 0.5\n"
    )
    proc = subprocess.run(
        [sys.executable, "-m", "stages.prepare", "--out", "out", "--metrics", "m.json"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
    )
    assert proc.returncode != 0 and "TooManyRejects" in proc.stderr
    assert "max_reject_fraction" in proc.stderr
    assert len(read_jsonl(tmp_path / "out/rejects.jsonl")) == len(rows) - 1
    assert read_json(tmp_path / "m.json")["rejected"] == len(rows) - 1
