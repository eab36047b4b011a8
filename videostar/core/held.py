"""Values kept in memory by key while their bytes stay under a budget.

    clips = Held(budget_bytes("VIDEOSTAR_HELD_CLIPS_MB"))
    clip = clips.get(ref)
    if clip is None:
        clip = read(ref)
        clips.keep(ref, clip, clip.frames.nbytes)

First come, first kept: once the budget is spent, new values are not kept and the caller computes
them again when asked. Training and generation ask for their items in a shuffled or sorted
order, so evicting would only trade one recomputation for another. The budgets are hardware
settings: environment variables, never tracked params (they change no result).
"""

from __future__ import annotations

import os
from collections.abc import Hashable
from typing import Any


def budget_bytes(variable: str, default_mb: float = 1024) -> int:
    """``$variable`` in MB (default ``default_mb``), in bytes."""
    return int(float(os.environ.get(variable) or default_mb) * 2**20)


class Held:
    """A memo bounded by bytes (see the module docstring)."""

    def __init__(self, budget: int) -> None:
        self._kept: dict[Hashable, Any] = {}
        self.room = budget

    def get(self, key: Hashable) -> Any:
        return self._kept.get(key)

    def keep(self, key: Hashable, value: Any, nbytes: int) -> None:
        if key not in self._kept and nbytes <= self.room:
            self._kept[key] = value
            self.room -= nbytes

    def __contains__(self, key: object) -> bool:
        return key in self._kept

    def __len__(self) -> int:
        return len(self._kept)
