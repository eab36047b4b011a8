"""Video-LLaVA (the paper's base), LLaVA-NeXT-Video and LLaVA-OneVision: the generic processor path.

Their processors expand ``<video>`` into one token per visual feature and return
``pixel_values_videos`` as (clips, frames, channels, height, width), which concatenates over a
batch along dim 0 as is, and their responses end with the tokenizer's end-of-turn token (``</s>``
after Vicuna's ``ASSISTANT:``, ``<|im_end|>`` in OneVision's ChatML), so nothing is overridden.

Only the LoRA default is theirs: the CLIP/SigLIP vision towers name their attention projections
``q_proj``/``k_proj``/``v_proj`` too, so the default is a regular expression on full module names
that keeps to the language model.
"""

from __future__ import annotations

from videostar.lmm.families.base import Family

# peft full-matches a string target against module names such as
# "model.language_model.layers.0.self_attn.q_proj"; the towers live under
# "model.vision_tower" (Video-LLaVA: "model.video_tower"/"model.image_tower").
TEXT_ATTENTION = r"(.*\.)?language_model\.layers\.\d+\.self_attn\.(q_proj|k_proj|v_proj|o_proj)"

FAMILIES: tuple[Family, ...] = (
    Family(
        model_types=("video_llava", "llava_next_video", "llava_onevision"),
        lora_targets=TEXT_ATTENTION,
    ),
)
