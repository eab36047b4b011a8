"""Step 2 on whole files of generated rows: each row gains ``ok`` and per-label ``verdicts``.

Class vocabularies (for the exclusive modes of category and sequence labels) are stored once per
task, in the prepared dataset's ``tasks.json`` (``{task: {"classes": {label name: [...]}}}``),
not on every row; ``verify_rows`` lends them to the labels it checks. A label that carries its own
``classes`` (e.g. a transfer set's) keeps them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from videostar.labels.registry import passed, validate_label
from videostar.labels.text import has_word, is_real, is_reals
from videostar.labels.verifier import Verifier

Vocabularies = Mapping[str, Mapping[str, Sequence[str]]]


def question_problem(row: Any) -> str | None:
    """Why ``row`` cannot be asked as a question about a video, or None: it needs a string id,
    video, task and question, valid labels (the registry's rules), and a well-formed segment and fps
    when it has them."""
    if not isinstance(row, dict):
        return f"expected an object, got {type(row).__name__}"
    for key in ("id", "video", "task"):
        if not (isinstance(row.get(key), str) and row[key].strip()):
            return f"{key!r} must be a non-empty string"
    if not has_word(row.get("question")):
        return "'question' must be a string with a word in it"
    labels = row.get("labels")
    if not isinstance(labels, list):
        return "'labels' must be a list"
    for label in labels:
        try:
            validate_label(label)
        except ValueError as e:
            return f"label: {e}"
    segment, fps = row.get("segment"), row.get("fps")
    if segment is not None and not (is_reals(segment, 2) and 0 <= segment[0] < segment[1]):
        return f"'segment' must be [start, end] seconds with 0 <= start < end, got {segment!r}"
    if fps is not None and not (is_real(fps) and fps > 0):
        return f"'fps' must be a positive number, got {fps!r}"
    return None


def with_classes(row: dict[str, Any], vocabularies: Vocabularies) -> list[dict[str, Any]]:
    """The row's labels, each lent its task's class vocabulary when it has none of its own."""
    task = vocabularies.get(row.get("task", ""), {})
    return [
        {**label, "classes": list(task[label["name"]])}
        if label.get("name") in task and "classes" not in label
        else label
        for label in row["labels"]
    ]


def verify_rows(
    rows: list[dict[str, Any]], verifier: Verifier, vocabularies: Vocabularies | None = None
) -> list[dict[str, Any]]:
    """Every row with ``ok`` and ``verdicts``. A row whose video could not be decoded keeps its
    ``error`` and fails with no verdicts."""
    vocabularies = vocabularies or {}
    todo = [i for i, r in enumerate(rows) if not r.get("error")]
    results = verifier.verify_many(
        [
            (rows[i]["text"], with_classes(rows[i], vocabularies), rows[i].get("duration"),
             rows[i].get("frame_size"))
            for i in todo
        ]
    )  # fmt: skip
    verdicts = dict(zip(todo, results, strict=True))
    return [
        {
            **row,
            "ok": passed(verdicts.get(i, [])),
            "verdicts": [v.to_dict() for v in verdicts.get(i, [])],
        }
        for i, row in enumerate(rows)
    ]


def read_vocabularies(tasks: Mapping[str, Any]) -> dict[str, dict[str, list[str]]]:
    """The ``classes`` of each task of a ``tasks.json`` mapping."""
    return {task: dict(entry.get("classes") or {}) for task, entry in tasks.items()}
