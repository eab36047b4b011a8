"""Stage `prepare`: validate a labeled-video manifest and record every rejected video with its reason.

    python -m stages.prepare          # reads params.yaml `prepare`, writes data/prepared/
    dvc repro prepare

Input: any manifest in the project schema (stages/records.py), e.g. data/world/manifest.jsonl;
video paths are relative to the manifest's folder and must stay inside it. Output:
data/prepared/manifest.jsonl (accepted rows, video paths relative to the repo root, duration and
frame size measured from the file), data/prepared/rejects.jsonl, metrics/data.json. The stage fails
with a clear message when the rejected fraction exceeds `max_reject_fraction` — after writing the
rejects, so the reasons are there to read.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm import tqdm

from stages import config, labels, video
from stages.records import (
    RecordError,
    check_manifest_row,
    iter_jsonl,
    reject,
    resolve_inside,
    write_json,
    write_jsonl,
)

OUT = Path("data/prepared")
METRICS = Path("metrics/data.json")


@dataclass(frozen=True)
class PrepareConfig:
    manifest: str = "data/world/manifest.jsonl"
    num_frames: int = 8
    max_reject_fraction: float = 0.05


class TooManyRejects(RuntimeError):
    pass


def check_row(row: dict[str, Any], root: Path, num_frames: int) -> dict[str, Any]:
    """Return the accepted row (paths relative to the cwd); raise RecordError/VideoError if bad."""
    check_manifest_row(row)
    for label in row["labels"]:
        labels.validate_label(label)
    path = resolve_inside(root, row["video"])
    info = video.probe(path)
    video.read_frames(path, num_frames)
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
        except (RecordError, video.VideoError, ValueError) as e:
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


def main() -> None:
    cfg = config.section(PrepareConfig, "prepare")
    manifest = Path(cfg.manifest)
    rows = list(iter_jsonl(manifest))
    accepted, rejected = prepare(rows, manifest.parent, cfg)
    write_jsonl(OUT / "manifest.jsonl", accepted)
    write_jsonl(OUT / "rejects.jsonl", rejected)
    stats = summary(accepted, rejected)
    write_json(METRICS, stats)
    print(f"prepare: {stats['accepted']} accepted, {stats['rejected']} rejected")
    if not accepted or stats["reject_fraction"] > cfg.max_reject_fraction:
        raise TooManyRejects(
            f"{stats['rejected']} of {stats['videos']} videos rejected "
            f"({stats['reject_fraction']:.1%} > max_reject_fraction {cfg.max_reject_fraction:.1%}); "
            f"reasons in {OUT / 'rejects.jsonl'}"
        )


if __name__ == "__main__":
    main()
