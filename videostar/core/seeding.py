"""The one way seeds are derived: a root seed from params plus tags naming the stream.

    rng = seeding.rng(seed, "world", "train", "blinks", 7)     # numpy Generator
    torch.manual_seed(seeding.derive(seed, "answer", "cycle_2", batch_index))

Tags may be ints or strings; strings go through crc32 (Python's ``hash`` of a string is salted per
process). Streams with different tags are independent, and adding a stream never shifts another.
"""

from __future__ import annotations

import zlib

import numpy as np


def _words(parts: tuple[int | str, ...]) -> list[int]:
    words = []
    for part in parts:
        if isinstance(part, bool) or not isinstance(part, int | str):
            raise TypeError(f"seed tags must be ints or strings, got {part!r}")
        if isinstance(part, int) and part < 0:
            raise ValueError(f"seed tags must not be negative, got {part}")
        words.append(part if isinstance(part, int) else zlib.crc32(part.encode()))
    return words


def rng(*parts: int | str) -> np.random.Generator:
    """An independent numpy stream for these tags."""
    return np.random.default_rng(np.random.SeedSequence(_words(parts)))


def derive(*parts: int | str) -> int:
    """A 63-bit seed for these tags (for torch, ``random`` and other seed-taking APIs)."""
    state = np.random.SeedSequence(_words(parts)).generate_state(1, np.uint64)[0]
    return int(state) & 0x7FFF_FFFF_FFFF_FFFF


def pick(options: int, *parts: int | str) -> int:
    """A stable index in ``range(options)`` for these tags (e.g. one question per video id)."""
    if options <= 0:
        raise ValueError("pick needs at least one option")
    return derive(*parts) % options
