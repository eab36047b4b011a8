"""Everything that differs between video LMM families, keyed by the model's ``config.model_type``.

A family decides: the chat conversation of one (video, text) user turn; how a processor's video
output is split into per-clip tensors and batched again; which extra model inputs a batch needs;
how many LM tokens a clip costs; the default LoRA target modules.

    family = families.for_model(model)            # or families.get("qwen2_vl")
    prompt = family.prompt(processor, "What colour is the ball?")
    clips = family.encode_videos(processor, [frames, ...])      # one dict of tensors per clip

Implemented: ``qwen2_vl`` and ``qwen2_5_vl`` (same code path; Qwen2.5-VL adds
``second_per_grid_ts``, the seconds per temporal patch, to M-RoPE). Any other model_type raises
``NotImplementedError``; Video-LLaVA, LLaVA-OneVision etc. are added here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

# M-RoPE token types (processor convention): 0 text, 1 image, 2 video.
_VIDEO_TOKEN_TYPE = 2


@dataclass(frozen=True)
class Family:
    """One model family's decisions.

    model_types: the ``config.model_type`` values it serves.
    lora_targets: default LoRA target modules (used when ``TrainConfig.lora_targets`` is empty).
    clip_keys: per-video processor outputs beyond ``pixel_values_videos``/``video_grid_thw``
        that the model needs (concatenated over a batch's clips, in clip order).
    """

    model_types: tuple[str, ...]
    lora_targets: tuple[str, ...]
    clip_keys: tuple[str, ...] = ()

    def conversation(self, text: str) -> list[dict[str, Any]]:
        """One user turn showing the video, then the text."""
        return [{"role": "user", "content": [{"type": "video"}, {"type": "text", "text": text}]}]

    def prompt(self, processor: Any, text: str) -> str:
        """The chat-templated prompt, ending with the assistant's generation prompt."""
        return processor.apply_chat_template(
            self.conversation(text), tokenize=False, add_generation_prompt=True
        )

    def encode_videos(
        self, processor: Any, videos: Sequence[np.ndarray]
    ) -> list[dict[str, torch.Tensor]]:
        """Preprocess clips exactly as the processor does for ``generate``; one dict per clip:
        ``pixel_values_videos`` (patches, patch_dim), ``video_grid_thw`` (3,), plus ``clip_keys``
        (each a (1,) tensor)."""
        if not videos:
            return []
        if self.clip_keys:
            # Extra per-clip values (e.g. Qwen2.5-VL's second_per_grid_ts) come from the processor
            # itself; a text of one video token per clip makes it process just the videos.
            out = processor(
                text=[processor.video_token] * len(videos),
                videos=list(videos),
                do_sample_frames=False,
                return_tensors="pt",
            )
        else:
            out = processor.video_processor(
                videos=list(videos), do_sample_frames=False, return_tensors="pt"
            )
        grids = out["video_grid_thw"]
        sizes = grids.prod(dim=1).tolist()
        clips = [
            {"pixel_values_videos": pixels, "video_grid_thw": grid}
            for pixels, grid in zip(
                torch.split(out["pixel_values_videos"], sizes), grids, strict=True
            )
        ]
        for key in self.clip_keys:
            values = torch.as_tensor(out[key]).reshape(len(clips), -1)
            for clip, value in zip(clips, values, strict=True):
                clip[key] = value
        return clips

    def video_tokens(self, processor: Any, clip: dict[str, torch.Tensor]) -> int:
        """LM tokens one preprocessed clip expands to."""
        merge = processor.video_processor.merge_size**2
        return int(clip["video_grid_thw"].prod()) // merge

    def batch_inputs(
        self, input_ids: torch.Tensor, video_id: int, clips: Sequence[dict[str, torch.Tensor]]
    ) -> dict[str, torch.Tensor]:
        """Model inputs besides input_ids/attention_mask/labels for a batch whose rows show
        ``clips`` in order (one clip per row)."""
        inputs = {
            # M-RoPE needs to know which positions are video tokens.
            "mm_token_type_ids": (input_ids == video_id).int() * _VIDEO_TOKEN_TYPE,
            "pixel_values_videos": torch.cat([c["pixel_values_videos"] for c in clips]),
            "video_grid_thw": torch.stack([c["video_grid_thw"] for c in clips]),
        }
        for key in self.clip_keys:
            inputs[key] = torch.cat([c[key] for c in clips])
        return inputs


_QWEN_TEXT_ATTENTION = ("q_proj", "k_proj", "v_proj", "o_proj")

FAMILIES: tuple[Family, ...] = (
    Family(model_types=("qwen2_vl",), lora_targets=_QWEN_TEXT_ATTENTION),
    Family(
        model_types=("qwen2_5_vl",),
        lora_targets=_QWEN_TEXT_ATTENTION,
        clip_keys=("second_per_grid_ts",),
    ),
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
        f"{', '.join(supported())}); add it to videostar/lmm/families.py"
    )


def for_model(model: Any) -> Family:
    """The family of a loaded model (peft wrappers forward ``config`` to the base model)."""
    return get(model.config.model_type)
