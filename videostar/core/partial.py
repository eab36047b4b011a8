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

Training keeps its checkpoints under the same scheme (``partial.folder``,
``videostar.lmm.training.Checkpoint``).
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


def folder(stage: str, key_parts: Any, root: Path = ROOT) -> Path:
    """The side folder of ``stage`` for these key parts, created; another key's leftovers are
    removed."""
    stage_dir = root / stage.replace("@", "_").replace("/", "_")
    path = stage_dir / key_of(key_parts)
    if stage_dir.is_dir():
        for other in stage_dir.iterdir():
            if other != path:
                shutil.rmtree(other, ignore_errors=True)
    path.mkdir(parents=True, exist_ok=True)
    return path


def code_fingerprint() -> str:
    """A digest of the library's Python sources (a changed line must not reuse old work)."""
    package = Path(__file__).resolve().parents[1]
    sources = sorted(package.rglob("*.py"))
    return key_of([[p.relative_to(package).as_posix(), p.read_text("utf-8")] for p in sources])


class PartialBatches:
    """The finished batches of one stage run, one JSON line each: {"batch": i, "texts": [...]}."""

    def __init__(self, folder: Path, rank: int = 0) -> None:
        self.folder = folder
        # One file per process when several share a stage (appends never interleave).
        self.path = folder / ("batches.jsonl" if rank == 0 else f"batches.{rank}.jsonl")

    @classmethod
    def open(cls, stage: str, key_parts: Any, root: Path = ROOT, rank: int = 0) -> PartialBatches:
        """The store of ``stage`` for these key parts; another key's leftovers are removed."""
        return cls(folder(stage, key_parts, root), rank)

    def done(self) -> dict[int, list[str]]:
        """The finished batches of every process; a line torn by a kill mid-write is ignored
        (recomputed)."""
        batches: dict[int, list[str]] = {}
        for path in sorted(self.folder.glob("batches*.jsonl")):
            with open(path, encoding="utf-8") as f:
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
