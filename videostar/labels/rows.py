"""Step 2 on whole files of generated rows: each row gains ``ok`` and per-label ``verdicts``."""

from __future__ import annotations

from typing import Any

from videostar.labels import Verifier, passed


def verify_rows(rows: list[dict[str, Any]], verifier: Verifier) -> list[dict[str, Any]]:
    """A row whose video could not be decoded keeps its ``error`` and fails with no verdicts."""
    todo = [r for r in rows if not r.get("error")]
    results = verifier.verify_many(
        [(r["text"], r["labels"], r.get("duration"), r.get("frame_size")) for r in todo]
    )
    verdicts = {r["id"]: v for r, v in zip(todo, results, strict=True)}
    return [
        {
            **row,
            "ok": passed(verdicts.get(row["id"], [])),
            "verdicts": [v.to_dict() for v in verdicts.get(row["id"], [])],
        }
        for row in rows
    ]
