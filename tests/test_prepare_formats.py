"""Each dataset adapter through the real `videostar prepare`: rows whose clips decode."""

from __future__ import annotations

import numpy as np

from tests.test_data_finediving import dataset as finediving_dataset  # noqa: F401 (fixture)
from tests.test_data_star import data as star_data  # noqa: F401 (fixture)
from videostar.cli.main import main as videostar
from videostar.core.records import read_json, read_jsonl
from videostar.video import clips
from videostar.video.frames import clip_ref, load_clips


def prepare(tmp_path, monkeypatch, *args: str) -> tuple[list[dict], list[dict]]:
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "prepared"
    code = videostar(["prepare", *args, "--out", str(out), "--workers", "1",
                      "--max-reject-fraction", "0.99"])  # fmt: skip
    assert code == 0
    rows, rejects = read_jsonl(out / "manifest.jsonl"), read_jsonl(out / "rejects.jsonl")
    loaded, errors = load_clips((clip_ref(r) for r in rows), num_frames=8)
    assert not errors and all(c.frames.shape[0] == 8 for c in loaded.values())
    return rows, rejects


def test_kinetics_clips(tmp_path, monkeypatch):
    ann, videos = tmp_path / "ann", tmp_path / "videos"
    ann.mkdir()
    (ann / "train.csv").write_text(
        "label,youtube_id,time_start,time_end,split\n"
        "abseiling,-aB3_xY9zQ0,59,69,train\n"
        "air drumming,__Zz9yX8wV7,0,10,train\n"
        "abseiling,missingClip1,0,10,train\n"
    )
    rng = np.random.default_rng(0)
    for name in (
        "abseiling/-aB3_xY9zQ0_000059_000069.mp4",
        "air_drumming/__Zz9yX8wV7_000000_000010.mp4",
    ):
        clips.write_video(videos / name, rng.integers(0, 255, (8, 32, 32, 3), np.uint8), fps=8)
    rows, rejects = prepare(tmp_path, monkeypatch, "--format", "kinetics", "--annotations",
                            str(ann), "--videos", str(videos), "--split", "train")  # fmt: skip
    assert [r["labels"][0]["value"] for r in rows] == ["abseiling", "air drumming"]
    assert [r["split"] for r in rows] == ["train", "train"] and rows[0]["frame_size"] == [32, 32]
    assert [r["id"] for r in rejects] == ["train.csv:4"]  # the record's place in its file
    assert "missing file" in rejects[0]["reason"]


def test_finediving_frame_folders(finediving_dataset, tmp_path, monkeypatch):  # noqa: F811
    spec = finediving_dataset
    rows, rejects = prepare(tmp_path, monkeypatch, "--format", "finediving", "--annotations",
                            str(spec.annotations), "--videos", str(spec.videos))  # fmt: skip
    assert rows and all(r["fps"] > 0 for r in rows)
    dives = [r for r in rows if r["task"] == "finediving"]
    assert {label["name"] for r in dives for label in r["labels"]} == {
        "final score", "difficulty", "sub-action sequence"
    }  # fmt: skip
    order = [r for r in rows if r["task"] == "finediving_order"]
    assert order and all(r["question"] and r["labels"][0]["name"] == "sub-action" for r in order)
    assert all(r["reason"] for r in rejects)


def test_star_segments_and_own_questions(star_data, tmp_path, monkeypatch):  # noqa: F811
    rows, rejects = prepare(tmp_path, monkeypatch, "--format", "star", "--annotations",
                            str(star_data), "--videos", str(star_data / "Charades_v1_480"),
                            "--split", "train")  # fmt: skip
    qa = [r for r in rows if r["task"] == "star"]
    assert qa and all(r["question"] and r["segment"][1] <= 2.0 for r in qa)
    assert all(r["duration"] == r["segment"][1] - r["segment"][0] for r in qa)
    assert all(r["reason"] for r in rejects)


def test_several_splits_and_the_task_catalog(tmp_path, monkeypatch):
    """`--split train --split val` reads both (not the unlabeled test file); tasks.json holds the
    task's description and its class vocabulary once."""
    ann, videos = tmp_path / "ann", tmp_path / "videos"
    ann.mkdir()
    header = "label,youtube_id,time_start,time_end,split\n"
    (ann / "train.csv").write_text(header + "abseiling,aaaaaaaaaaa,0,10,train\n")
    (ann / "val.csv").write_text(header + "air drumming,bbbbbbbbbbb,0,10,val\n")
    (ann / "test.csv").write_text("youtube_id,time_start,time_end,split\nccccccccccc,0,10,test\n")
    rng = np.random.default_rng(0)
    for name in ("aaaaaaaaaaa_000000_000010.mp4", "bbbbbbbbbbb_000000_000010.mp4"):
        clips.write_video(videos / name, rng.integers(0, 255, (8, 32, 32, 3), np.uint8), fps=8)
    rows, rejects = prepare(tmp_path, monkeypatch, "--format", "kinetics", "--annotations",
                            str(ann), "--videos", str(videos), "--split", "train",
                            "--split", "val")  # fmt: skip
    assert [(r["split"], r["labels"][0]["value"]) for r in rows] == [
        ("train", "abseiling"), ("test", "air drumming")]  # fmt: skip
    assert rejects == []
    tasks = read_json(tmp_path / "prepared/tasks.json")
    assert tasks == {"kinetics": {"description": "human action recognition",
                                  "classes": {"action": ["abseiling", "air drumming"]},
                                  "rows": {"test": 1, "train": 1}}}  # fmt: skip
