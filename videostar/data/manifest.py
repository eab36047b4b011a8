"""The ``manifest`` format: a labeled-video manifest already in the project schema.

    {"id", "video", "split", "task", "labels": [{"name", "type", "value"}], "duration"?,
     "frame_size"?, "segment"?, "question"?, "fps"?, ...}

one JSON object per line, video paths relative to ``SourceSpec.videos`` (by default the
manifest's folder). Unknown keys are kept on the row. A line that is not a JSON object, or lacks
a required key, becomes a rejection naming its line number.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import Any

from videostar.data.source import SPLITS, AnnotationError, Candidate, Rejected, SourceSpec

REQUIRED = {"id": str, "video": str, "split": str, "task": str, "labels": list}
OPTIONAL = ("segment", "question", "fps", "source_split")


def candidate(row: dict[str, Any], where: str) -> Candidate | Rejected:
    for key, kind in REQUIRED.items():
        if not isinstance(row.get(key), kind):
            return Rejected(where, f"{key!r} must be a {kind.__name__}", _text(row.get("video")))
    if row["split"] not in SPLITS:
        return Rejected(where, f"unknown split {row['split']!r}", row["video"])
    problem = _optional_problem(row)
    if problem:
        return Rejected(where, problem, row["video"])
    segment = row.get("segment")
    return Candidate(
        id=row["id"],
        source=where,
        video=row["video"],
        split=SPLITS[row["split"]],
        source_split=row.get("source_split") or row["split"],
        task=row["task"],
        labels=row["labels"],
        segment=tuple(segment) if isinstance(segment, list) else segment,
        question=row.get("question"),
        fps=row.get("fps"),
        extra={k: v for k, v in row.items() if k not in REQUIRED and k not in OPTIONAL},
    )


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _optional_problem(row: dict[str, Any]) -> str | None:
    """Why an optional key of the row is unusable, or None."""
    segment, fps, question = row.get("segment"), row.get("fps"), row.get("question")
    if segment is not None and not (
        isinstance(segment, list) and len(segment) == 2 and all(_number(t) for t in segment)
        and 0 <= segment[0] < segment[1]
    ):  # fmt: skip
        return f"'segment' must be [start, end] seconds with 0 <= start < end, got {segment!r}"
    if fps is not None and not (_number(fps) and fps > 0):
        return f"'fps' must be a positive number, got {fps!r}"
    if question is not None and not (isinstance(question, str) and question.strip()):
        return f"'question' must be a non-empty string, got {question!r}"
    return None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def read(spec: SourceSpec) -> Iterator[Candidate | Rejected]:
    if not spec.annotations.is_file():
        raise AnnotationError(f"{spec.annotations}: no such manifest file")
    with open(spec.annotations, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            where = f"{spec.annotations.name}:{lineno}"
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                yield Rejected(where, f"not JSON ({e.msg})")
                continue
            if not isinstance(row, dict):
                yield Rejected(where, f"expected an object, got {type(row).__name__}")
                continue
            if spec.split is None or row.get("split") == spec.split:
                yield candidate(row, where)
