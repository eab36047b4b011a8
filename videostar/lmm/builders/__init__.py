"""Tiny random-weight checkpoints of every supported family, built offline from each family's own
config, processor classes and chat template, with a byte-level BPE tokenizer trained on the given
texts (nothing is downloaded). Tests run every family through them; the same files load through
``loading.load`` like a real checkpoint.

    builders.build("video_llava", Path("models/pretrained/video_llava"), texts)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from videostar.lmm.builders import internvl, llava, qwen, qwen3, smolvlm

BUILDERS: dict[str, Callable[[Path, Sequence[str], int], None]] = {
    **qwen.BUILDERS,
    **llava.BUILDERS,
    **qwen3.BUILDERS,
    **smolvlm.BUILDERS,
    **internvl.BUILDERS,
}


def build(model_type: str, out: Path, texts: Sequence[str], seed: int = 0) -> None:
    """Write a tiny random ``model_type`` checkpoint and its processor to ``out``."""
    if model_type not in BUILDERS:
        raise NotImplementedError(f"no tiny builder for {model_type!r}; known: {sorted(BUILDERS)}")
    BUILDERS[model_type](Path(out), texts, seed)
