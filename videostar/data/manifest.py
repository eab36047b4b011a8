"""Validate a labeled-video manifest in the project schema; every rejected video keeps its reason.

Video paths are relative to the manifest's folder and must stay inside it. Accepted rows get
video paths relative to the working directory and the duration and frame size measured from the
file. Adapters for the paper's datasets (Kinetics-700, FineDiving, STAR) will write this schema.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm import tqdm

from videostar.core.records import RecordError, check_manifest_row, reject, resolve_inside
from videostar.labels import validate_label
from videostar.video import clips


@dataclass(frozen=True)
class PrepareConfig:
    """manifest: the input manifest (video paths relative to its folder); num_frames: a video must
    decode this many sampled frames; max_reject_fraction: fail past this share of rejects."""

    manifest: str
    num_frames: int
    max_reject_fraction: float


class TooManyRejects(RuntimeError):
    pass


def check_row(row: dict[str, Any], root: Path, num_frames: int) -> dict[str, Any]:
    """Return the accepted row (paths relative to the cwd); raise RecordError/VideoError if bad."""
    check_manifest_row(row)
    for label in row["labels"]:
        validate_label(label)
    path = resolve_inside(root, row["video"])
    info = clips.probe(path)
    clips.read_frames(path, num_frames)
    return {
        **row,
        "video": os.path.relpath(path, Path.cwd()),
        "duration": row.get("duration") or info.duration,
        "frame_size": [info.width, info.height],
    }


def prepare(
    rows: list[dict[str, Any]], root: Path, cfg: PrepareConfig
) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    accepted, rejected, seen = [], [], set()
    for row in tqdm(rows, desc="prepare", unit="video"):
        row_id = str(row.get("id"))
        try:
            if row_id in seen:
                raise RecordError(f"duplicate id {row_id!r}")
            seen.add(row_id)
            accepted.append(check_row(row, root, cfg.num_frames))
        except (RecordError, clips.VideoError, ValueError) as e:
            rejected.append(reject(row_id, str(row.get("video")), "prepare", str(e)))
    return sorted(accepted, key=lambda r: r["id"]), rejected


def summary(accepted: list[dict], rejected: list[dict]) -> dict[str, Any]:
    total = len(accepted) + len(rejected)
    return {
        "videos": total,
        "accepted": len(accepted),
        "rejected": len(rejected),
        "reject_fraction": round(len(rejected) / total, 6) if total else 0.0,
        "per_split_task": {
            f"{split}/{task}": n
            for (split, task), n in sorted(
                Counter((r["split"], r["task"]) for r in accepted).items()
            )
        },
    }
