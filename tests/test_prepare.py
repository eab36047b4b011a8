"""`prepare`: any dataset adapter -> the manifest, every rejection recorded with its reason."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from videostar.cli.main import main as videostar
from videostar.core.records import read_json, read_jsonl, write_jsonl
from videostar.data.prepare import SplitLeak, prepare_dataset
from videostar.data.source import SourceSpec
from videostar.video import clips

REPO = Path(__file__).resolve().parents[1]


def manifest_row(i, video, split="train"):
    label = {"name": "direction", "type": "category", "value": "left"}
    return {"id": f"v{i}", "video": video, "split": split, "task": "direction", "labels": [label]}


def gradient_clip(frames: int = 16) -> np.ndarray:
    """Frame t is filled with grey level 10 * t, so a sampled frame tells its own index."""
    return np.stack([np.full((32, 32, 3), 10 * t, dtype=np.uint8) for t in range(frames)])


@pytest.fixture
def dataset(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    root = tmp_path / "ds"
    clips.write_video(root / "videos/good.mp4", gradient_clip(), fps=8)
    (root / "videos/empty.mp4").write_bytes(b"")
    (root / "videos/corrupt.mp4").write_bytes(b"not a video at all" * 10)
    (tmp_path / "outside.mp4").write_bytes(b"x")
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
        {**manifest_row(6, "/etc/passwd")},
    ]
    write_jsonl(root / "manifest.jsonl", rows)
    with open(root / "manifest.jsonl", "a") as f:
        f.write("{not json\n")
    return root, rows


def run_manifest(root: Path, out: Path, workers: int = 1) -> dict:
    spec = SourceSpec(annotations=root / "manifest.jsonl", videos=root)
    return prepare_dataset("manifest", spec, out, num_frames=8, workers=workers, progress=False)


def test_every_reject_has_its_reason(dataset, tmp_path):
    root, rows = dataset
    stats = run_manifest(root, tmp_path / "out")
    accepted = read_jsonl(tmp_path / "out/manifest.jsonl")
    assert [r["id"] for r in accepted] == ["v0"]
    assert accepted[0]["video"] == "ds/videos/good.mp4" and accepted[0]["frame_size"] == [32, 32]
    reasons = {r["id"]: r["reason"] for r in read_jsonl(tmp_path / "out/rejects.jsonl")}
    assert "missing" in reasons["v1"]
    assert "empty" in reasons["v2"]
    assert "decode" in reasons["v3"]
    assert "escapes" in reasons["v4"] and "escapes" in reasons["v6"]
    assert "nope" in reasons["v5"]
    assert "duplicate" in reasons["v0"]
    assert reasons["manifest.jsonl:9"].startswith("not JSON")  # the line number of the bad line
    assert stats["videos"] == len(rows) + 1 and stats["accepted"] == 1
    assert stats["rejected"] == len(rows)


def test_workers_give_the_same_files(dataset, tmp_path):
    root, _ = dataset
    run_manifest(root, tmp_path / "one", workers=1)
    run_manifest(root, tmp_path / "two", workers=2)
    for name in ("manifest.jsonl", "rejects.jsonl"):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()


def test_symlinked_videos_inside_the_root_are_followed(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    store = tmp_path / "cache"  # e.g. DVC's symlink cache, outside the dataset folder
    clips.write_video(store / "abc.mp4", gradient_clip(), fps=8)
    (tmp_path / "ds/videos").mkdir(parents=True)
    (tmp_path / "ds/videos/linked.mp4").symlink_to(store / "abc.mp4")
    write_jsonl(tmp_path / "ds/manifest.jsonl", [manifest_row(0, "videos/linked.mp4")])
    stats = run_manifest(tmp_path / "ds", tmp_path / "out")
    assert stats["accepted"] == 1


def test_a_video_in_both_splits_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    clips.write_video(tmp_path / "ds/a.mp4", gradient_clip(), fps=8)
    rows = [manifest_row(0, "a.mp4"), manifest_row(1, "a.mp4", split="test")]
    write_jsonl(tmp_path / "ds/manifest.jsonl", rows)
    with pytest.raises(SplitLeak, match="both the training and the held-out split"):
        run_manifest(tmp_path / "ds", tmp_path / "out")


def test_segments_sample_inside_and_are_clamped(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    clips.write_video(tmp_path / "ds/a.mp4", gradient_clip(16), fps=8)  # 2 s
    rows = [{**manifest_row(0, "a.mp4"), "segment": [1.0, 9.0], "question": "Which way?"}]
    write_jsonl(tmp_path / "ds/manifest.jsonl", rows)
    run_manifest(tmp_path / "ds", tmp_path / "out")
    (row,) = read_jsonl(tmp_path / "out/manifest.jsonl")
    assert row["segment"] == [1.0, 2.0] and row["duration"] == 1.0
    assert row["question"] == "Which way?"
    frames = clips.read_frames(tmp_path / "ds/a.mp4", 4, segment=(1.0, 2.0))
    levels = frames[:, 0, 0, 0].astype(int)
    assert levels[0] >= 75 and list(levels) == sorted(levels)  # frames 8..15 only


def test_frame_folders_are_read_directly_with_missing_frames(tmp_path):
    folder = tmp_path / "clip"
    folder.mkdir()
    for t in (3, 4, 6, 7, 8, 10):  # absolute frame numbers; 5 and 9 missing
        Image.fromarray(np.full((24, 32, 3), 20 * t, dtype=np.uint8)).save(folder / f"{t:05d}.jpg")
    info = clips.probe(folder, fps=25)
    assert (info.num_frames, info.width, info.height) == (6, 32, 24)
    frames = clips.read_frames(folder, 3, fps=25)
    assert frames.shape == (3, 24, 32, 3)
    assert info.duration == pytest.approx(8 / 25)  # frames 3..10 on the folder's timeline
    # a segment selects by frame number, so the missing frame 5 shifts nothing: [5, 8) -> 6, 7
    inside = clips.read_frames(folder, 2, segment=(2.0, 5.0), fps=1)
    assert list(inside[:, 0, 0, 0]) == [120, 140]
    with pytest.raises(clips.VideoError, match="holds none"):
        clips.read_frames(folder, 2, segment=(2.0, 3.0), fps=1)  # frame 5 only: missing
    with pytest.raises(clips.VideoError, match="empty segment"):
        clips.read_frames(folder, 2, segment=(8.0, 9.0), fps=1)  # after the last frame
    with pytest.raises(clips.VideoError, match="frame rate"):
        clips.probe(folder)


def test_cli_reports_counts_and_fails_past_the_reject_fraction(dataset, tmp_path, capsys):
    root, _ = dataset
    args = ["prepare", "--format", "manifest", "--annotations", str(root / "manifest.jsonl"),
            "--videos", str(root), "--out", str(tmp_path / "cli"), "--workers", "1"]  # fmt: skip
    assert videostar([*args, "--max-reject-fraction", "0.5"]) == 1
    err = capsys.readouterr().err
    assert "max_reject_fraction" in err and "rejects.jsonl" in err
    assert len(read_jsonl(tmp_path / "cli/rejects.jsonl")) == 8
    assert videostar([*args, "--max-reject-fraction", "0.95"]) == 0


def test_prepare_stage_writes_metrics_then_fails(dataset, tmp_path):
    root, _ = dataset
    (tmp_path / "params.yaml").write_text(
        "prepare:\n  format: manifest\n  annotations: ds/manifest.jsonl\n  videos: ds\n"
        "  split: null\n  classes: null\n  num_frames: 8\n  max_reject_fraction: 0.5\n"
    )
    proc = subprocess.run(
        [sys.executable, "-m", "stages.prepare", "--out", "out", "--metrics", "m.json"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(REPO), "VIDEOSTAR_WORKERS": "1"},
        capture_output=True,
        text=True,
    )
    assert proc.returncode != 0 and "TooManyRejects" in proc.stderr
    assert read_json(tmp_path / "m.json")["rejected"] == 8


def test_vocabularies_are_stored_once_per_task(tmp_path, monkeypatch):
    """tasks.json holds each category/sequence label's classes (declared on rows, and seen); the
    rows no longer carry them."""
    monkeypatch.chdir(tmp_path)
    root = tmp_path / "ds"
    clips.write_video(root / "a.mp4", gradient_clip(), fps=8)
    clips.write_video(root / "b.mp4", gradient_clip(), fps=8)
    classes = ["left", "right", "up"]
    rows = [
        {**manifest_row(0, "a.mp4"), "labels": [
            {"name": "direction", "type": "category", "value": "left", "classes": classes}]},
        {**manifest_row(1, "b.mp4", split="test"), "labels": [
            {"name": "direction", "type": "category", "value": "down"}]},
        {"id": "r0", "video": "a.mp4", "split": "train", "task": "route", "labels": [
            {"name": "route", "type": "sequence", "value": ["up", "left"]},
            {"name": "blinks", "type": "number", "value": 2}]},
    ]  # fmt: skip
    write_jsonl(root / "manifest.jsonl", rows)
    run_manifest(root, tmp_path / "out")
    accepted = read_jsonl(tmp_path / "out/manifest.jsonl")
    assert len(accepted) == 3
    assert not any("classes" in label for r in accepted for label in r["labels"])
    tasks = read_json(tmp_path / "out/tasks.json")
    assert tasks == {
        "direction": {"description": "direction",
                      "classes": {"direction": ["down", "left", "right", "up"]},
                      "rows": {"test": 1, "train": 1}},
        "route": {"description": "route", "classes": {"route": ["left", "up"]},
                  "rows": {"train": 1}},
    }  # fmt: skip


@pytest.mark.parametrize(
    ("key", "value", "reason"),
    [("segment", "", "'segment'"), ("segment", False, "'segment'"), ("segment", [2.0, 1.0], "'segment'"),
     ("segment", [0, "x"], "'segment'"), ("fps", -1, "'fps'"), ("fps", True, "'fps'"),
     ("question", 3, "'question'"), ("question", " ", "'question'")],
)  # fmt: skip
def test_malformed_optional_keys_are_rejected_with_their_reason(
    dataset, tmp_path, key, value, reason
):
    root, _ = dataset
    write_jsonl(root / "manifest.jsonl", [{**manifest_row(0, "videos/good.mp4"), key: value}])
    stats = run_manifest(root, tmp_path / "out")
    rejects = read_jsonl(tmp_path / "out/rejects.jsonl")
    assert stats["rejected"] == 1 and reason in rejects[0]["reason"]


def test_a_path_the_filesystem_refuses_is_rejected_with_its_reason(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    clips.write_video(tmp_path / "ds/a.mp4", gradient_clip(), fps=8)
    rows = [manifest_row(0, "a.mp4"), manifest_row(1, "x" * 5000 + ".mp4")]  # stat: too long
    write_jsonl(tmp_path / "ds/manifest.jsonl", rows)
    stats = run_manifest(tmp_path / "ds", tmp_path / "out")
    (reject,) = read_jsonl(tmp_path / "out/rejects.jsonl")
    assert stats["accepted"] == 1 and reject["id"] == "v1"
    assert reject["reason"].startswith("cannot read") and len(reject["reason"]) < 400
