"""The one record shape every stage reads and writes, and deterministic JSONL I/O.

A label is ``{"name": str, "type": str, "value": ...}`` with ``type`` one of the label types in
``videostar.labels``. The same ``labels`` list travels on every row:

- manifest row:   id, video (path relative to the dataset root), split, task, duration (s),
                  frame_size ([width, height]), labels
- question row:   id, video_id, video, split, task, question, labels, duration, frame_size
- generated row:  question row + prompt_kind, prompt, text (+ ok, verdicts once verified)
- reject row:     id, video, stage, reason

Rows are written with sorted keys and one compact line each, atomically, so the same inputs
give byte-identical files (DVC caches rely on that).
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path, PurePosixPath
from typing import Any

SPLITS = ("train", "test")


class RecordError(ValueError):
    """A record is malformed; the message names the file and line."""


def dumps(row: Any) -> str:
    return json.dumps(
        row, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False
    )


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    return list(iter_jsonl(path))


def iter_jsonl(path: str | Path) -> Iterator[dict[str, Any]]:
    """The rows of a JSONL file; RecordError naming the file and line at the first bad line."""
    for lineno, row in scan_jsonl(path):
        if isinstance(row, str):
            raise RecordError(f"{path}:{lineno}: {row}")
        yield row


def scan_jsonl(path: str | Path) -> Iterator[tuple[int, dict[str, Any] | str]]:
    """(line number, row) for every non-blank line of a JSONL file; for a line that is not a
    JSON object, (line number, the reason) instead, so a reader can reject it and go on."""
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                yield lineno, f"not JSON ({e.msg})"
                continue
            if not isinstance(row, dict):
                yield lineno, f"expected an object, got {type(row).__name__}"
                continue
            yield lineno, row


def write_jsonl(path: str | Path, rows: Iterable[dict[str, Any]]) -> int:
    """Write rows atomically (temp file + rename) so a crash never leaves half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            for row in rows:
                f.write(dumps(row) + "\n")
                count += 1
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return count


def write_json(path: str | Path, obj: Any) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(obj, sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def read_json(path: str | Path) -> Any:
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def inside(root: str | Path, relative: str) -> Path:
    """``root / relative`` for a path from an annotation that stays inside ``root`` lexically:
    absolute paths and ``..`` are refused, while symlinks inside ``root`` are followed later (DVC's
    symlink cache and dataset farms use them)."""
    path = PurePosixPath(relative.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise RecordError(f"path {relative!r} escapes the dataset root {str(root)!r}")
    return Path(root) / path


def check_manifest_row(row: dict[str, Any]) -> None:
    """Raise RecordError if a manifest row does not follow the schema."""
    required = {"id": str, "video": str, "split": str, "task": str, "labels": list}
    for key, kind in required.items():
        if not isinstance(row.get(key), kind):
            raise RecordError(f"manifest row {row.get('id')!r}: {key!r} must be a {kind.__name__}")
    if row["split"] not in SPLITS:
        raise RecordError(f"manifest row {row['id']!r}: split must be one of {SPLITS}")
    if not row["labels"]:
        raise RecordError(f"manifest row {row['id']!r}: no labels")
    for label in row["labels"]:
        if not (isinstance(label, dict) and {"name", "type", "value"} <= set(label)):
            raise RecordError(
                f"manifest row {row['id']!r}: label needs name, type, value: {label!r}"
            )
    duration = row.get("duration")
    if duration is not None and not (
        isinstance(duration, int | float) and math.isfinite(duration) and duration > 0
    ):
        raise RecordError(f"manifest row {row['id']!r}: duration must be a positive number")


def reject(row_id: str, video: str, stage: str, reason: str) -> dict[str, str]:
    return {"id": row_id, "video": video, "stage": stage, "reason": reason}
