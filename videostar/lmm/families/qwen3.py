"""Qwen3-VL: the generic processor path, with the frames' timestamps made explicit.

Qwen3VLProcessor writes each temporal patch (two frames) of a video as "<t seconds>" text before
its own <|vision_start|>...<|vision_end|> block, t computed from the video's metadata (frame
indices and fps). The frames given here are already sampled, so the family passes their times
(a ``Clip``'s, from the decoder; without metadata the processor would guess 24 fps). ``inputs``
serves generation and, through ``encode``, training, so both see the same timestamps.

The vision tower names its attention ``attn.qkv``/``attn.proj``, so the language model's
``q/k/v/o_proj`` suffixes keep LoRA off the vision tower.
"""

from __future__ import annotations

from videostar.lmm.families.base import Family

_TEXT_ATTENTION = ("q_proj", "k_proj", "v_proj", "o_proj")

FAMILIES: tuple[Family, ...] = (
    Family(model_types=("qwen3_vl",), lora_targets=_TEXT_ATTENTION, timed=True),
)
