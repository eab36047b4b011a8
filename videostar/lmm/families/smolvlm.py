"""SmolVLM2 (HuggingFaceTB/SmolVLM2-*-Video-Instruct): the generic processor path, with three
differences.

- Timestamps: SmolVLMProcessor expands a video into "You are provided the following series of N
  frames from a H:MM:SS [H:MM:SS] video." and one "Frame from MM:SS:" image per frame, times from
  the video's metadata: as for Qwen3-VL, the family passes a ``Clip``'s times (the same text in
  training and generation).
- Frames as images: the model flattens ``pixel_values`` (batch, frames, 3, H, W) into single
  images, drops all-zero (padding) frames, and fills the <image> tokens in order, so a clip's
  frames are kept as (frames, 1, 3, H, W): clips of different lengths then concatenate along
  dim 0 into the same images in the same order, with no padding frames.
- Response: the generation prompt ends "Assistant:" and the template writes an assistant turn as
  "Assistant: text<end_of_utterance>", so the response starts with a space.

The SigLIP vision tower names its attention ``self_attn.{q,k,v}_proj`` like the Llama language
model, so the default LoRA targets are a regular expression over the language model's names.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from videostar.core.held import Held
from videostar.lmm.families.base import EncodedPrompt, Family, Video

_TEXT_ATTENTION = r".*\.text_model\.layers\.\d+\.self_attn\.(q_proj|k_proj|v_proj|o_proj)"


@dataclass(frozen=True)
class SmolVLM(Family):
    def encode(
        self, processor: Any, items: Sequence[tuple[Video, str]], held: Held | None = None
    ) -> list[EncodedPrompt]:
        # (1, frames, ...) -> (frames, 1, ...): one image per row. New prompts, as the generic
        # ones may be held for the next call.
        return [
            EncodedPrompt(p.ids, p.sequence, {k: v[0].unsqueeze(1) for k, v in p.visual.items()})
            for p in super().encode(processor, items, held)
        ]

    def response(self, processor: Any, text: str) -> str:
        return " " + text + processor.tokenizer.eos_token


FAMILIES: tuple[Family, ...] = (
    SmolVLM(model_types=("smolvlm",), lora_targets=_TEXT_ATTENTION, timed=True),
)
