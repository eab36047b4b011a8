"""What every video LMM family shares: the generic path through the family's own processor.

A family turns one (video, user text) turn into the exact model inputs ``generate`` uses, and a
training prompt into the same inputs, so training sees what inference sees. The generic path asks
the processor for everything (chat template, video token expansion, pixel tensors, position and
grid inputs); a family overrides only what its processor does differently.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from videostar.core.held import Held
from videostar.video.clips import Clip

# What a family is shown: a Clip (frames and their times), or bare frames (times unknown).
Video = Clip | np.ndarray
# Rebuilt for every training batch (prompt + response + padding), never taken from the processor.
_REBUILT = ("input_ids", "attention_mask")


@dataclass
class EncodedPrompt:
    """One training prompt as the processor gives it, before the response is appended.

    ids: the prompt's token ids (1-D), video tokens expanded; sequence: other per-token inputs
    (1-D, aligned with ``ids``, e.g. Qwen's ``mm_token_type_ids``; the response and padding get
    0); visual: the clip's tensors (pixels, grids, ...), concatenated along dim 0 over a batch.
    """

    ids: torch.Tensor
    sequence: dict[str, torch.Tensor] = field(default_factory=dict)
    visual: dict[str, torch.Tensor] = field(default_factory=dict)


def split_inputs(inputs: Any) -> EncodedPrompt:
    """An ``EncodedPrompt`` from the processor's output for a batch of one prompt."""
    ids = inputs["input_ids"]
    sequence, visual = {}, {}
    for key, value in inputs.items():
        if key in _REBUILT or not torch.is_tensor(value):
            continue
        if value.shape == ids.shape:
            sequence[key] = value[0]
        else:
            visual[key] = value
    return EncodedPrompt(ids=ids[0], sequence=sequence, visual=visual)


def frames_of(video: Video) -> np.ndarray:
    return video.frames if isinstance(video, Clip) else np.asarray(video)


def tensor_bytes(tensors: dict[str, torch.Tensor]) -> int:
    return sum(t.nbytes for t in tensors.values())


def prompt_bytes(prompt: EncodedPrompt) -> int:
    return prompt.ids.nbytes + tensor_bytes(prompt.sequence) + tensor_bytes(prompt.visual)


def nominal_metadata(processor: Any, frames: np.ndarray) -> dict[str, Any]:
    """Metadata for bare frames: taken one every 1 / fps seconds, fps the processor's own rate."""
    fps = float(getattr(processor.video_processor, "fps", None) or 1)
    n = len(frames)
    return {
        "total_num_frames": n,
        "fps": fps,
        "duration": n / fps,
        "frames_indices": list(range(n)),
    }


@dataclass(frozen=True)
class Family:
    """One model family's decisions.

    model_types: the ``config.model_type`` values it serves.
    lora_targets: default LoRA target modules (used when ``TrainConfig.lora_targets`` is empty):
        module-name suffixes, or one regular expression that peft matches against full names
        (to keep the vision tower out when it shares the language model's projection names).
    timed: whether the processor reads the frames' times (``video_metadata``): into the prompt
        as text (Qwen3-VL, SmolVLM2) or into the position ids (Qwen2.5-VL).
    """

    model_types: tuple[str, ...]
    lora_targets: tuple[str, ...] | str
    timed: bool = False

    def conversation(self, text: str) -> list[dict[str, Any]]:
        """One user turn showing the video, then the text."""
        return [{"role": "user", "content": [{"type": "video"}, {"type": "text", "text": text}]}]

    def prompt(self, processor: Any, text: str) -> str:
        """The chat-templated prompt, ending with the assistant's generation prompt."""
        return processor.apply_chat_template(
            self.conversation(text), tokenize=False, add_generation_prompt=True
        )

    def video_kwargs(self) -> dict[str, Any]:
        """Processor arguments for videos: the frames given are exactly the frames to show."""
        return {"do_sample_frames": False}

    def video_metadata(self, processor: Any, video: Video) -> dict[str, Any] | None:
        """The frames' times for a timed family (None: the processor needs none). A Clip's are
        its own; bare frames are described as sampled at the processor's own rate."""
        if not self.timed:
            return None
        if isinstance(video, Clip):
            return video.metadata()
        return nominal_metadata(processor, frames_of(video))

    def timing(self, processor: Any, videos: Sequence[Video]) -> dict[str, Any]:
        """The processor's ``video_metadata`` argument for ``videos``, if the family is timed."""
        if not self.timed:
            return {}
        return {"video_metadata": [self.video_metadata(processor, v) for v in videos]}

    def inputs(
        self,
        processor: Any,
        texts: Sequence[str],
        videos: Sequence[Video],
        padding_side: str = "left",
    ) -> Any:
        """Model inputs for user ``texts`` (not yet templated), one video each, padded."""
        return processor(
            text=[self.prompt(processor, t) for t in texts],
            videos=[frames_of(v) for v in videos],
            **self.timing(processor, videos),
            padding=True,
            padding_side=padding_side,
            return_tensors="pt",
            **self.video_kwargs(),
        )

    def video_key(self, processor: Any, video: Video) -> bytes:
        """A digest of what the processor is shown of ``video``: its frames and their times."""
        frames = np.ascontiguousarray(frames_of(video))
        metadata = self.video_metadata(processor, video)
        return hashlib.blake2b(
            repr((frames.shape, frames.dtype.str, metadata)).encode() + frames.tobytes(),
            digest_size=16,
        ).digest()

    def encode(
        self, processor: Any, items: Sequence[tuple[Video, str]], held: Held | None = None
    ) -> list[EncodedPrompt]:
        """Each (video, user text) prompt exactly as ``inputs`` makes it, one processor call each.
        With ``held``, a prompt encoded before (same frames, times and text) is taken from it, and
        new ones are kept in it while its budget lasts."""
        encoded = []
        for video, text in items:
            key = (self.video_key(processor, video), text) if held is not None else None
            prompt = held.get(key) if held is not None else None
            if prompt is None:
                prompt = split_inputs(self.inputs(processor, [text], [video]))
                if held is not None:
                    held.keep(key, prompt, prompt_bytes(prompt))
            encoded.append(prompt)
        return encoded

    def response(self, processor: Any, text: str) -> str:
        """The text the model should emit after the prompt, closed by its end-of-turn token."""
        return text + processor.tokenizer.eos_token

    def packed_positions(self, model: Any, batch: dict[str, torch.Tensor]) -> torch.Tensor | None:
        """The position ids of a right-padded training batch (``training.collate``), laid out
        ``[..., example, token]`` as the model reads them for packed rows (``training.pack_batch``);
        None when the family's model takes no packed rows, so the batch stays padded."""
        return None


def unwrapped(model: Any) -> Any:
    """The transformers model inside DDP (``module``) and peft (``get_base_model``) wrappers."""
    while hasattr(model, "module"):
        model = model.module
    return model.get_base_model() if hasattr(model, "get_base_model") else model
