"""Finished work that survives a killed stage: batches are kept as they finish, outside the outputs.

DVC deletes a stage's outputs before it reruns it, and a generation stage over a real dataset runs
for hours, so finished batches go to a side folder (``.videostar/partial/``, ignored by git and
DVC), under a key made of everything that decides the outputs (inputs' bytes, model fingerprint,
params). A rerun with the same key picks up the finished batches and computes only the rest; a
changed input or param gives another key, so stale work is never reused. The stage deletes its
folder once the outputs are written.

    store = PartialBatches.open("answer@cycle_1", key_parts)
    done = store.done()                        # {batch index: [texts]}
    store.add(3, texts)                        # appended and fsynced before the next batch
    store.close()                              # after the outputs are written
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

from videostar.core.records import dumps

ROOT = Path(".videostar/partial")


def key_of(parts: Any) -> str:
    """A digest of ``parts`` (JSON-serialisable: strings, numbers, lists, dicts)."""
    return hashlib.blake2b(dumps(parts).encode(), digest_size=16).hexdigest()


class PartialBatches:
    """The finished batches of one stage run, one JSON line each: {"batch": i, "texts": [...]}."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.path = folder / "batches.jsonl"

    @classmethod
    def open(cls, stage: str, key_parts: Any, root: Path = ROOT) -> PartialBatches:
        """The store of ``stage`` for these key parts; another key's leftovers are removed."""
        stage_dir = root / stage.replace("@", "_").replace("/", "_")
        folder = stage_dir / key_of(key_parts)
        if stage_dir.is_dir():
            for other in stage_dir.iterdir():
                if other != folder:
                    shutil.rmtree(other, ignore_errors=True)
        folder.mkdir(parents=True, exist_ok=True)
        return cls(folder)

    def done(self) -> dict[int, list[str]]:
        """The finished batches; a line torn by a kill mid-write is ignored (recomputed)."""
        batches: dict[int, list[str]] = {}
        if not self.path.is_file():
            return batches
        with open(self.path, encoding="utf-8") as f:
            for line in f:
                try:
                    entry = json.loads(line)
                except json.JSONDecodeError:
                    break  # only the last line can be torn
                batches[int(entry["batch"])] = list(entry["texts"])
        return batches

    def add(self, batch: int, texts: list[str]) -> None:
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(dumps({"batch": batch, "texts": texts}) + "\n")
            f.flush()
            os.fsync(f.fileno())

    def close(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
