"""Everything that differs between video LMM families, keyed by the model's ``config.model_type``.

A family decides the chat conversation of one (video, text) user turn, the processor arguments
for videos, how training prompts are encoded (the same inputs ``generate`` gets), the response's
end-of-turn token and the default LoRA target modules. ``base.Family`` is the generic path
through the family's own processor; a module per family group overrides what differs.

    family = families.for_model(model)            # or families.get("qwen2_vl")
    inputs = family.inputs(processor, ["What colour is the ball?"], [clip])
    prompts = family.encode(processor, [(clip, "What colour is the ball?")])   # for training

Implemented: ``video_llava``, ``qwen2_vl``, ``qwen2_5_vl``, ``qwen3_vl``, ``llava_onevision``,
``llava_next_video``, ``smolvlm``, ``internvl``. Any other model_type raises
``NotImplementedError``.
"""

from __future__ import annotations

from typing import Any

from videostar.lmm.families import internvl, llava, qwen, qwen3, smolvlm
from videostar.lmm.families.base import EncodedPrompt, Family, Video

__all__ = ["FAMILIES", "EncodedPrompt", "Family", "Video", "for_model", "get", "supported"]

FAMILIES: tuple[Family, ...] = (
    *qwen.FAMILIES,
    *llava.FAMILIES,
    *qwen3.FAMILIES,
    *smolvlm.FAMILIES,
    *internvl.FAMILIES,
)


def supported() -> list[str]:
    """The model_types with an implemented family."""
    return sorted(t for family in FAMILIES for t in family.model_types)


def get(model_type: str) -> Family:
    """The family of ``model_type``; NotImplementedError naming the supported ones otherwise."""
    for family in FAMILIES:
        if model_type in family.model_types:
            return family
    raise NotImplementedError(
        f"video LMM family {model_type!r} is not supported yet (supported: "
        f"{', '.join(supported())}); add it to videostar/lmm/families/"
    )


def for_model(model: Any) -> Family:
    """The family of a loaded model (peft wrappers forward ``config`` to the base model)."""
    return get(model.config.model_type)
