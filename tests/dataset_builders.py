"""Small, valid datasets in each real on-disk format, big enough for one STaR cycle.

Each builder writes under ROOT and returns the `prepare` params that read it (for a preset of
conf/dataset/). The per-adapter tests hold the broken cases; these hold a few of them too, so the
pipeline's rejects are exercised, not only the happy path.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
from PIL import Image

from tests.test_data_finediving import TABLE, clip, dump
from tests.test_data_star import CLASSES, record
from videostar.video.clips import write_video


def _noise(rng: np.random.Generator, frames: int = 8, w: int = 32, h: int = 32) -> np.ndarray:
    return rng.integers(0, 255, (frames, h, w, 3), np.uint8)


def kinetics(root: Path) -> dict:
    """CVDF layout: annotations/{train,val,test}.csv, clips in per-label folders per split."""
    rng = np.random.default_rng(0)
    header = "label,youtube_id,time_start,time_end,split\n"
    lines = {"train": [], "val": []}
    for split, count in (("train", 8), ("val", 4)):
        for i in range(count):
            label = ("abseiling", "air drumming")[i % 2]
            youtube_id = f"-{split[0]}{i}_xY9zQ0"[:11]
            lines[split].append(f"{label},{youtube_id},{10 * i},{10 * i + 10},{split}")
            name = f"{youtube_id}_{10 * i:06d}_{10 * i + 10:06d}.mp4"
            write_video(root / split / label.replace(" ", "_") / name, _noise(rng), fps=8)
    lines["train"].append("abseiling,missingClip1,0,10,train")  # never downloaded: a reject
    ann = root / "annotations"
    ann.mkdir(parents=True)
    for split, rows in lines.items():
        (ann / f"{split}.csv").write_text(header + "\n".join(rows) + "\n")
    (ann / "test.csv").write_text("youtube_id,time_start,time_end,split\nzzzzzzzzzzz,0,10,test\n")
    return {"format": "kinetics", "annotations": str(ann), "videos": str(root),
            "split": ["train", "val"], "classes": None}  # fmt: skip


def finediving(root: Path) -> dict:
    """Download-package layout: Annotations/ and train_test_split/, frame folders of JPEGs."""
    sequences = ([1, 1, 15, 15, 36, 36], [3, 3, 33, 33, 15, 15, 36, 36], [4, 4, 25, 25, 36, 36],
                 [2, 2, 15, 15, 33, 33, 36, 36])  # fmt: skip
    records, train, test = {}, [], []
    for i in range(9):
        key = (f"{i:02d}", i % 3)
        labels = sequences[i % len(sequences)]
        records[key] = clip(labels, 10, score=60.0 + 3 * i, difficulty=2.0 + 0.2 * (i % 4))
        (train if i < 6 else test).append(key)
        folder = root / "frames" / key[0] / str(key[1])
        folder.mkdir(parents=True)
        for n in range(10, 10 + len(labels)):
            shade = (40 * (n - 10)) % 256
            Image.new("RGB", (32, 32), (shade, 255 - shade, i * 20)).save(folder / f"{n:05d}.jpg")
    train.append(("99", 0))  # listed in the split file, but no record: a reject
    ann = root / "Annotations"
    dump(ann / "FineDiving_coarse_annotation.pkl", {k: c for k, (c, _) in records.items()})
    dump(ann / "FineDiving_fine-grained_annotation.pkl", {k: f for k, (_, f) in records.items()})
    dump(ann / "Sub_action_Types_Table.pkl", TABLE)
    dump(root / "train_test_split" / "train_split.pkl", train)
    dump(root / "train_test_split" / "test_split.pkl", test)
    return {"format": "finediving", "annotations": str(ann), "videos": str(root / "frames"),
            "split": None, "classes": None}  # fmt: skip


def star(root: Path) -> dict:
    """STAR_{train,val}.json, annotations/STAR_classes (class files, video_fps), Charades mp4s."""
    rng = np.random.default_rng(1)
    classes = root / "annotations" / "STAR_classes"
    classes.mkdir(parents=True)
    for name, text in CLASSES.items():
        (classes / name).write_text(text)
    videos = [f"V{i:04d}" for i in range(6)]
    (classes / "video_fps").write_bytes(pickle.dumps({f"{v}.mp4": 8.0 for v in videos}, protocol=3))
    for video in videos:
        write_video(root / "Charades_v1_480" / f"{video}.mp4", _noise(rng, 16, 64, 48), fps=8)
    train = [record(f"Interaction_T1_{i}", videos[i % 4], 0.25, 1.75) for i in range(8)]
    train.append(record("Interaction_T1_99", "NOVIDEO", 0.25, 1.75))  # video missing: a reject
    val = [record(f"Sequence_T2_{i}", videos[4 + i % 2], 0.0, 2.0) for i in range(4)]
    (root / "STAR_train.json").write_text(json.dumps(train))
    (root / "STAR_val.json").write_text(json.dumps(val))
    return {"format": "star", "annotations": str(root), "videos": str(root / "Charades_v1_480"),
            "split": ["train", "val"], "classes": str(classes)}  # fmt: skip


BUILDERS = {"kinetics": kinetics, "finediving": finediving, "star": star}
