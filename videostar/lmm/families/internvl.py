"""InternVL (the transformers-native "-hf" checkpoints, e.g. OpenGVLab/InternVL3-1B-hf): the
generic processor path as is.

InternVLProcessor expands the template's ``<video>`` into one ``FrameN: <img><IMG_CONTEXT>...</img>``
line per frame and returns the frames as ``pixel_values`` (frames, 3, H, W), which concatenate
along dim 0 over a batch exactly as the processor itself batches them.

The vision tower (InternViT) names its attention projections ``attention.{q,k,v}_proj`` and the
language model ``self_attn.{q,k,v,o}_proj``; peft matches dotted suffixes, so these keep LoRA on
the language model alone.
"""

from __future__ import annotations

from videostar.lmm.families.base import Family

_TEXT_ATTENTION = ("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj")

FAMILIES: tuple[Family, ...] = (Family(model_types=("internvl",), lora_targets=_TEXT_ATTENTION),)
