"""Decode the sampled frames of many rows once per distinct video, keeping each failure's reason."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from tqdm import tqdm

from videostar.video import clips as video


def load_clips(
    paths: Iterable[str], num_frames: int, desc: str = "decode"
) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Return ({path: frames}, {path: reason}) for the distinct paths, in first-seen order."""
    frames: dict[str, np.ndarray] = {}
    errors: dict[str, str] = {}
    unique = list(dict.fromkeys(paths))
    for path in tqdm(unique, desc=desc, unit="video", disable=len(unique) < 200):
        try:
            frames[path] = video.read_frames(path, num_frames)
        except video.VideoError as e:
            errors[path] = f"video: {e}"
    return frames, errors
