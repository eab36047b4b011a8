"""Qwen3-VL: the generic processor path, with the frames' timestamps made explicit.

Qwen3VLProcessor writes each temporal patch (two frames) of a video as "<t seconds>" text before
its own <|vision_start|>...<|vision_end|> block, t computed from the video's metadata (frame
indices and fps). The frames given here are already sampled and carry no times, and without
metadata the processor guesses 24 fps (with a warning). Every clip is therefore described as
sampled at the model's own rate (``video_processor.fps``, 2 for Qwen3-VL): frame i at i / fps
seconds (``video_metadata``). ``inputs`` serves generation and, through ``encode``, training, so
both see the same timestamps.

The vision tower names its attention ``attn.qkv``/``attn.proj``, so the language model's
``q/k/v/o_proj`` suffixes keep LoRA off the vision tower.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from videostar.lmm.families.base import Family

_TEXT_ATTENTION = ("q_proj", "k_proj", "v_proj", "o_proj")


def nominal_metadata(processor: Any, frames: np.ndarray) -> dict[str, Any]:
    """Video metadata for frames taken one every 1 / fps seconds, fps the processor's own rate."""
    fps = float(processor.video_processor.fps or 1)
    n = len(frames)
    return {
        "total_num_frames": n,
        "fps": fps,
        "duration": n / fps,
        "frames_indices": list(range(n)),
    }


@dataclass(frozen=True)
class Qwen3VL(Family):
    def video_metadata(self, processor: Any, frames: np.ndarray) -> dict[str, Any]:
        return nominal_metadata(processor, frames)


FAMILIES: tuple[Family, ...] = (Qwen3VL(model_types=("qwen3_vl",), lora_targets=_TEXT_ATTENTION),)
