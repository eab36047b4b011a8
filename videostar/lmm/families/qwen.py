"""Qwen2-VL and Qwen2.5-VL: the generic processor path, with training prompts encoded faster.

Training sets repeat clips (several questions per video, the corpus's several kinds per clip) and
epochs repeat them again, so each distinct clip of a call is preprocessed once, in chunks, by the
video processor (and kept, within a byte budget, for later calls), and prompts are tokenized in
bulk with the video token expanded as the processor would expand it. The result is
the same tensors ``inputs`` gives (a test checks this). Qwen2.5-VL adds ``second_per_grid_ts``,
the seconds per temporal patch, to M-RoPE: the family is timed, so these are the clip's own.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from videostar.core.held import Held
from videostar.lmm.families.base import (
    EncodedPrompt,
    Family,
    Video,
    frames_of,
    tensor_bytes,
    unwrapped,
)

# M-RoPE token types (processor convention): 0 text, 1 image, 2 video.
_VIDEO_TOKEN_TYPE = 2
_TEXT_ATTENTION = ("q_proj", "k_proj", "v_proj", "o_proj")


@dataclass(frozen=True)
class QwenVL(Family):
    """clip_keys: per-video processor outputs beyond ``pixel_values_videos``/``video_grid_thw``
    that the model needs (concatenated over a batch's clips, in clip order)."""

    clip_keys: tuple[str, ...] = ()

    def encode_videos(
        self, processor: Any, videos: Sequence[Video]
    ) -> list[dict[str, torch.Tensor]]:
        """Preprocess clips exactly as the processor does for ``generate``; one dict per clip:
        ``pixel_values_videos`` (patches, patch_dim), ``video_grid_thw`` (1, 3), plus
        ``clip_keys`` (each (1,))."""
        if not videos:
            return []
        if self.clip_keys:
            # Extra per-clip values (e.g. Qwen2.5-VL's second_per_grid_ts) come from the processor
            # itself; a text of one video token per clip makes it process just the videos.
            out = processor(
                text=[processor.video_token] * len(videos),
                videos=[frames_of(v) for v in videos],
                **self.timing(processor, videos),
                return_tensors="pt",
                **self.video_kwargs(),
            )
        else:
            out = processor.video_processor(
                videos=[frames_of(v) for v in videos], return_tensors="pt", **self.video_kwargs()
            )
        grids = out["video_grid_thw"]
        sizes = grids.prod(dim=1).tolist()
        clips = [
            {"pixel_values_videos": pixels, "video_grid_thw": grid[None]}
            for pixels, grid in zip(
                torch.split(out["pixel_values_videos"], sizes), grids, strict=True
            )
        ]
        for key in self.clip_keys:
            values = torch.as_tensor(out[key]).reshape(len(clips), -1)
            for clip, value in zip(clips, values, strict=True):
                clip[key] = value
        return clips

    def encode(
        self,
        processor: Any,
        items: Sequence[tuple[Video, str]],
        held: Held | None = None,
        *,
        chunk: int = 256,
    ) -> list[EncodedPrompt]:
        """With ``held``, a clip preprocessed before (same frames and times) and a prompt text
        tokenized before are taken from it, and new ones are kept in it while its budget lasts."""
        keys: dict[bytes, int] = {}
        distinct: list[Video] = []
        video_index = []
        for video, _ in items:
            key = self.video_key(processor, video)
            if key not in keys:
                keys[key] = len(distinct)
                distinct.append(video)
            video_index.append(keys[key])
        held = held if held is not None else Held(0)
        clips = [held.get(key) for key in keys]
        missing = [i for i, clip in enumerate(clips) if clip is None]
        for start in range(0, len(missing), chunk):
            part = missing[start : start + chunk]
            done = self.encode_videos(processor, [distinct[i] for i in part])
            for i, clip in zip(part, done, strict=True):
                clips[i] = clip
        for key, clip in zip(keys, clips, strict=True):
            held.keep(key, clip, tensor_bytes(clip))

        # The templated, tokenized text of each (text, video tokens) pair, held as well: the
        # chat template and tokenizer cost more than a training step's share of the prompt.
        token = processor.video_token
        merge = processor.video_processor.merge_size**2
        texts = [
            (text, int(clips[vi]["video_grid_thw"].prod()) // merge)
            for (_, text), vi in zip(items, video_index, strict=True)
        ]
        tokenized = {key: held.get(key) for key in texts}
        missing = [key for key, ids in tokenized.items() if ids is None]
        if missing:
            prompts = [
                self.prompt(processor, text).replace(token, token * n) for text, n in missing
            ]
            video_id = processor.tokenizer.convert_tokens_to_ids(token)
            for key, ids in zip(
                missing,
                processor.tokenizer(prompts, add_special_tokens=False)["input_ids"],
                strict=True,
            ):
                ids = torch.tensor(ids)
                # M-RoPE needs to know which positions are video tokens.
                types = (ids == video_id).int() * _VIDEO_TOKEN_TYPE
                tokenized[key] = (ids, types)
                held.keep(key, tokenized[key], ids.nbytes + types.nbytes)
        return [
            EncodedPrompt(ids, {"mm_token_type_ids": types}, clips[vi])
            for (ids, types), vi in zip(map(tokenized.get, texts), video_index, strict=True)
        ]

    def packed_positions(self, model: Any, batch: dict[str, torch.Tensor]) -> torch.Tensor | None:
        """Text positions over the M-RoPE ones, ``[4, example, token]``: transformers' Qwen2-VL
        and Qwen2.5-VL take such position ids as packed rows, an example starting wherever the
        text position restarts at 0."""
        core = unwrapped(model).model
        accepted = inspect.signature(core.get_rope_index).parameters
        mrope, _ = core.get_rope_index(**{k: v for k, v in batch.items() if k in accepted})
        text = (batch["attention_mask"].cumsum(-1) - 1).clamp(min=0)
        return torch.cat([text[None].to(mrope.dtype), mrope])


FAMILIES: tuple[Family, ...] = (
    QwenVL(model_types=("qwen2_vl",), lora_targets=_TEXT_ATTENTION),
    QwenVL(
        model_types=("qwen2_5_vl",),
        lora_targets=_TEXT_ATTENTION,
        timed=True,
        clip_keys=("second_per_grid_ts",),
    ),
)
