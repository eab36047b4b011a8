"""Decode the sampled frames of many rows once per distinct clip, keeping each failure's reason.

A clip is what a row shows the model: its video (a file or a folder of frame images), the
segment of it in seconds (None: the whole video) and, for a frame folder, its frame rate.

    refs = [clip_ref(row) for row in rows]
    frames, errors = load_clips(refs, num_frames=8)       # {ref: (T, H, W, 3)}, {ref: reason}
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
from tqdm import tqdm

from videostar.video import clips

ClipRef = tuple[str, tuple[float, float] | None, float | None]


def clip_ref(row: dict[str, Any]) -> ClipRef:
    """(video, segment, fps) of a manifest, question or training row."""
    segment = row.get("segment")
    return row["video"], (tuple(segment) if segment else None), row.get("fps")


def load_clips(
    refs: Iterable[ClipRef], num_frames: int, desc: str = "decode"
) -> tuple[dict[ClipRef, np.ndarray], dict[ClipRef, str]]:
    """Return ({ref: frames}, {ref: reason}) for the distinct clips, in first-seen order."""
    frames: dict[ClipRef, np.ndarray] = {}
    errors: dict[ClipRef, str] = {}
    unique = list(dict.fromkeys(refs))
    for ref in tqdm(unique, desc=desc, unit="video", disable=len(unique) < 200):
        video, segment, fps = ref
        try:
            frames[ref] = clips.read_frames(video, num_frames, segment=segment, fps=fps)
        except clips.VideoError as e:
            errors[ref] = f"video: {e}"
    return frames, errors
