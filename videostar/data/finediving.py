"""FineDiving (Xu et al., CVPR 2022) as candidate manifest rows, one per trimmed dive clip.

    from pathlib import Path
    from videostar.data import finediving
    from videostar.data.source import SourceSpec

    spec = SourceSpec(Path("FineDiving/Annotations"), Path("FINADiving_MTL_256s"), split="train")
    for item in finediving.read(spec):  # Candidate or Rejected, lazily
        ...
    finediving.read(spec, templated=False)  # only the dive rows, no before/after questions
    finediving.vocabulary(spec)  # {task: {label name: the table's sub-action names}}, or {}

The layout is the one in ../shared/datasets.md §2. ``spec.annotations`` is the folder of the
pickles (or one of them); each file is looked for there, in its ``Annotations/`` and
``train_test_split/`` subfolders and in a sibling ``train_test_split/`` (the official README and
the download package place the split files differently). Every pickle is read with
``safepickle``, which refuses anything but numpy arrays and scalars.

- records: ``FineDiving_fine-grained_annotation.pkl`` (else ``fine-grained_annotation_aqa.pkl``,
  the same values as a 5-list), keyed ``(video_name, clip_idx)``; names such as ``'01'`` stay strings.
- ``FineDiving_coarse_annotation.pkl`` (optional) gives each clip's absolute frame range; without
  it the clip is taken to start at its folder's first frame, as the official loader does.
- ``Sub_action_Types_Table.pkl`` (optional) decodes sub-action ids, else each record's own
  ``sub-action_types``.
- ``train_split.pkl`` / ``test_split.pkl``: the ones the asked split needs must exist.
- frames: ``<videos>/<video_name>/<clip_idx>/<absolute frame number>.jpg``; the row's video is that
  folder, read as it is (no re-encoding); missing frames are tolerated.

Labels (the paper's FineDiving label types, and what Video-STaR's own conversion emits):
``final score`` (number, the official ``dive_score``, never recomputed from judge scores),
``difficulty`` (number) and ``sub-action sequence`` (sequence, in the order the steps occur in
``frames_labels``; the reference code sorted them by id). The steps with their spans as fractions
of the clip are kept in ``extra["steps"]`` for templated questions (before/after); with
``step_spans=True`` they are also labels (temporal_range), which every answer would then have to
state, since a sample passes only when all its labels pass. The dive row has no question: it
comes later from the task's question pool.

With ``templated`` (the default), each accepted dive also gives the paper's before/after question
as a row of its own (task ``finediving_order``, id ``<dive id>_after`` or ``<dive id>_before``,
same video, segment, fps and split as the dive): "What does the diver do right after the
{step}?" or "... right before the {step}?", with one ``category`` label ``sub-action``: the next
or previous step. Only steps whose name occurs once in the dive can be asked about or be the
answer, so "the {step}" names one step; the direction and the step are picked per dive id with
``videostar.core.seeding.pick`` (fixed seed, so prepare is reproducible). A dive without two such
steps next to each other (e.g. one step) has no such question; nothing is rejected, since no
record is lost.

``DESCRIPTIONS`` says what each task asks, for the question-generation prompt;
``vocabulary(spec)`` gives the sub-action names the table declares.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np

from videostar.core import seeding
from videostar.data import safepickle
from videostar.data.source import SPLITS, AnnotationError, Candidate, Rejected, SourceSpec

TASK = "finediving"
ORDER_TASK = "finediving_order"
# Task -> what it asks, for the question-generation prompt ("... for the task of {T}").
DESCRIPTIONS = {
    TASK: "diving action quality assessment (final score, difficulty and sub-action sequence)",
    ORDER_TASK: "ordering the sub-actions of a dive",
}
# Root seed of the before/after pick: fixed, not a param, so a dive's question never changes.
ORDER_SEED = 0
# No source states FineDiving's frame rate; 12 fps is what Video-STaR assumed when it turned the
# frame folders into mp4s (datasets.md §2.7, §2.9). Temporal labels are fractions, so it only sets
# the seconds of a segment and of a clip's duration.
FPS = 12.0

FINE = "FineDiving_fine-grained_annotation.pkl"
AQA = "fine-grained_annotation_aqa.pkl"
COARSE = "FineDiving_coarse_annotation.pkl"
TABLE = "Sub_action_Types_Table.pkl"
SPLIT_FILES = {"train": "train_split.pkl", "test": "test_split.pkl"}
# A table entry that is not a step of the dive (never used in the real frames_labels).
BACKGROUND = "Background"
FRAME_SUFFIXES = (".jpg", ".jpeg")

Key = tuple[str, int]


class _Bad(Exception):
    """One record cannot become a row; the message is its reject reason."""


def read(
    spec: SourceSpec, step_spans: bool = False, templated: bool = True
) -> Iterator[Candidate | Rejected]:
    """Yield a Candidate or a Rejected for every clip of the asked split (all clips when
    ``spec.split`` is None), each accepted dive followed by its before/after question row when
    ``templated`` and it has one, then a Rejected for each split entry the annotations lack.

    Raises AnnotationError when a needed file is missing or unreadable, or the split is unknown.
    """
    wanted = _wanted_split(spec.split)
    if not spec.annotations.exists():
        raise AnnotationError(f"FineDiving annotations {spec.annotations} not found")
    folder = spec.annotations if spec.annotations.is_dir() else spec.annotations.parent
    if not spec.videos.is_dir():
        raise AnnotationError(f"FineDiving frame folder root {spec.videos} not found")
    records_path = spec.annotations if spec.annotations.is_file() else _records_file(folder)
    records = safepickle.load(records_path)
    if not isinstance(records, dict):
        raise AnnotationError(
            f"{records_path}: expected a dict of (video_name, clip_idx) -> record, "
            f"got {type(records).__name__}"
        )
    coarse = _keyed(_optional(folder, COARSE))
    table = _table(folder)
    membership, split_rejects, both_read = _splits(folder, wanted)
    yield from split_rejects

    seen: set[Key] = set()
    for raw_key, value in records.items():
        key = _key(raw_key)
        if key is None:
            yield Rejected(repr(raw_key), "key is not a (video_name: str, clip_idx: int) pair")
            continue
        if key in seen:  # e.g. ('01', 3) next to ('01', np.int64(3))
            yield Rejected(repr(key), "key appears twice in the annotations")
            continue
        seen.add(key)
        splits = membership.get(key, set())
        if len(splits) > 1:
            yield Rejected(repr(key), "listed in both train_split.pkl and test_split.pkl")
            continue
        if not splits:
            if both_read:  # otherwise it belongs to the split file that was not read
                yield Rejected(repr(key), "listed in neither train_split.pkl nor test_split.pkl")
            continue
        (split,) = splits
        if wanted is not None and split != wanted:
            continue
        try:
            dive = _candidate(key, split, value, coarse.get(key), table, spec.videos, step_spans)
        except _Bad as e:
            yield Rejected(repr(key), str(e), video=f"{key[0]}/{key[1]}")
            continue
        yield dive
        if templated and (question := order_question(dive)) is not None:
            yield question
    for key, splits in membership.items():
        if key not in seen and (wanted is None or wanted in splits):
            yield Rejected(repr(key), f"listed in a split file but absent from {records_path.name}")


def vocabulary(spec: SourceSpec) -> dict[str, dict[str, list[str]]]:
    """Task -> label name -> the sub-action names of ``Sub_action_Types_Table.pkl`` (in id order,
    without ``Background``, which is never a step), or {} without the table. Reads only the table."""
    folder = spec.annotations if spec.annotations.is_dir() else spec.annotations.parent
    names = list(dict.fromkeys(n for n in _table(folder).values() if n != BACKGROUND))
    if not names:
        return {}
    return {TASK: {"sub-action sequence": names}, ORDER_TASK: {"sub-action": names}}


def order_question(dive: Candidate) -> Candidate | None:
    """The dive's before/after question row (see the module doc), or None when the dive has no
    two neighbouring steps whose names occur once."""
    names = [step["name"] for step in dive.extra["steps"]]
    once = {name for name in names if names.count(name) == 1}
    options = []
    for first, then in pairwise(names):
        if first in once and then in once:
            options += [("after", first, then), ("before", then, first)]
    if not options:
        return None
    direction, anchor, answer = options[seeding.pick(len(options), ORDER_SEED, ORDER_TASK, dive.id)]
    return dataclasses.replace(
        dive,
        id=f"{dive.id}_{direction}",
        task=ORDER_TASK,
        question=f"What does the diver do right {direction} the {anchor}?",
        labels=[{"name": "sub-action", "type": "category", "value": answer}],
        extra={"dive": dive.id},
    )


# ------------------------------------------------------------------------------------- files


def _wanted_split(split: str | None) -> str | None:
    if split is None:
        return None
    if split not in SPLITS:
        raise AnnotationError(f"unknown split {split!r}; FineDiving has train and test")
    return SPLITS[split]


def _find(folder: Path, filename: str) -> Path | None:
    for where in (folder, folder / "Annotations", folder / "train_test_split"):
        if (where / filename).is_file():
            return where / filename
    sibling = folder.parent / "train_test_split" / filename
    return sibling if sibling.is_file() else None


def _records_file(folder: Path) -> Path:
    path = _find(folder, FINE) or _find(folder, AQA)
    if path is None:
        raise AnnotationError(f"neither {FINE} nor {AQA} found in {folder}")
    return path


def _optional(folder: Path, filename: str) -> Any:
    path = _find(folder, filename)
    return None if path is None else safepickle.load(path)


def _keyed(mapping: Any) -> dict[Key, Any]:
    if not isinstance(mapping, dict):
        return {}
    return {key: v for k, v in mapping.items() if (key := _key(k)) is not None}


def _table(folder: Path) -> dict[int, str]:
    table = _optional(folder, TABLE)
    if table is None:
        return {}
    if not isinstance(table, dict):
        raise AnnotationError(f"{folder / TABLE}: expected a dict of id -> sub-action name")
    return {int(k): v for k, v in table.items() if _is_int(k) and isinstance(v, str)}


def _splits(folder: Path, wanted: str | None) -> tuple[dict[Key, set[str]], list[Rejected], bool]:
    """({key: the splits listing it}, rejects for malformed entries, whether both files were read)."""
    membership: dict[Key, set[str]] = {}
    rejects: list[Rejected] = []
    read_files = 0
    for split, filename in SPLIT_FILES.items():
        path = _find(folder, filename)
        if path is None:
            if wanted in (None, split):
                raise AnnotationError(
                    f"{filename} not found in {folder}, its Annotations/ or train_test_split/, "
                    f"or {folder.parent / 'train_test_split'}"
                )
            continue
        entries = safepickle.load(path)
        if not isinstance(entries, list | tuple):
            raise AnnotationError(
                f"{path}: expected a list of (video_name, clip_idx) pairs, "
                f"got {type(entries).__name__}"
            )
        read_files += 1
        for entry in entries:
            key = _key(entry)
            if key is None:
                rejects.append(
                    Rejected(
                        repr(entry), f"{filename}: not a (video_name: str, clip_idx: int) pair"
                    )
                )
            else:
                membership.setdefault(key, set()).add(split)
    return membership, rejects, read_files == len(SPLIT_FILES)


def _is_int(x: Any) -> bool:
    return isinstance(x, int | np.integer) and not isinstance(x, bool)


def _key(raw: Any) -> Key | None:
    """(video_name, clip_idx) with the name kept as written: '01' is not 1."""
    if isinstance(raw, tuple | list) and len(raw) == 2:
        name, idx = raw
        if isinstance(name, str) and _is_int(idx) and idx >= 0:
            return name, int(idx)
    return None


# ------------------------------------------------------------------------------------ records


def _number(value: Any, what: str) -> float:
    real = isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool)
    if real and math.isfinite(value):
        return float(value)
    raise _Bad(f"{what} is not a finite number: {value!r}")


def _fields(value: Any) -> tuple[Any, float, float, np.ndarray, dict[int, str]]:
    """(action_type, dive_score, difficulty, frames_labels, the record's own id -> name)."""
    if isinstance(value, dict):
        missing = [k for k in ("dive_score", "difficulty", "frames_labels") if k not in value]
        if missing:
            raise _Bad(f"record lacks {', '.join(missing)}")
        own = value.get("sub-action_types")
        names = {int(k): v for k, v in own.items() if _is_int(k)} if isinstance(own, dict) else {}
        action, score, difficulty, labels = (
            value.get("action_type"),
            value["dive_score"],
            value["difficulty"],
            value["frames_labels"],
        )
    elif isinstance(value, list | tuple) and len(value) == 5:  # the aqa pickle's 5-list
        action, score, difficulty, _, labels = value
        names = {}
    else:
        raise _Bad(f"record is neither a dict nor a 5-list: {type(value).__name__}")
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.size == 0 or not np.issubdtype(labels.dtype, np.integer):
        raise _Bad(
            f"frames_labels is not a non-empty 1-D integer array: {labels.dtype} {labels.shape}"
        )
    return action, _number(score, "dive_score"), _number(difficulty, "difficulty"), labels, names


def _steps(labels: np.ndarray, table: dict[int, str], own: dict[int, str]) -> list[dict[str, Any]]:
    """The runs of equal ids in frames_labels, in frame order, with their spans as fractions.

    steps_transit_frames is not used: it is derived from frames_labels and is malformed in 7 real
    records (-1 entries, unsorted, out of range), while frames_labels is exact.
    """
    n = len(labels)
    bounds = [0, *(np.flatnonzero(np.diff(labels)) + 1).tolist(), n]
    steps = []
    for start, end in pairwise(bounds):
        sub_id = int(labels[start])
        name = table.get(sub_id) or own.get(sub_id)
        if name is None:
            raise _Bad(f"sub-action id {sub_id} is in neither {TABLE} nor the record's table")
        if name != BACKGROUND:
            steps.append({"name": name, "span": [round(start / n, 6), round(end / n, 6)]})
    if not steps:
        raise _Bad("frames_labels holds no sub-action")
    return steps


def _frame_numbers(folder: Path) -> list[int]:
    """Absolute frame numbers of the folder's JPEGs, in numeric order (names need not be 5 digits)."""
    numbers = set()
    with os.scandir(folder) as entries:
        for entry in entries:
            stem, suffix = os.path.splitext(entry.name)
            if suffix.lower() in FRAME_SUFFIXES and stem.isascii() and stem.isdigit():
                numbers.add(int(stem))
    return sorted(numbers)


def _frame_range(coarse: Any, n: int, frames: list[int], rel: str) -> tuple[int, int]:
    if coarse is None:
        if not frames:
            raise _Bad(f"frame folder {rel} holds no numbered .jpg frames")
        return frames[0], frames[0] + n - 1
    start, end = (
        coarse.get(k) if isinstance(coarse, dict) else None for k in ("start_frame", "end_frame")
    )
    if not (_is_int(start) and _is_int(end) and 0 <= start <= end):
        raise _Bad(f"coarse start_frame/end_frame malformed: {start!r}, {end!r}")
    if end - start + 1 != n:
        raise _Bad(f"frames_labels has {n} entries but frames {start}..{end} are {end - start + 1}")
    return int(start), int(end)


def _candidate(
    key: Key,
    split: str,
    value: Any,
    coarse: Any,
    table: dict[int, str],
    videos: Path,
    step_spans: bool,
) -> Candidate:
    name, idx = key
    if name in ("", ".", "..") or "/" in name or "\\" in name:
        raise _Bad(f"video name {name!r} is not a plain folder name")
    action, score, difficulty, labels, own = _fields(value)
    steps = _steps(labels, table, own)
    rel = f"{name}/{idx}"
    folder = videos / name / str(idx)
    if not folder.is_dir():
        raise _Bad(f"frame folder {rel} not found")
    frames = _frame_numbers(folder)
    start, end = _frame_range(coarse, len(labels), frames, rel)
    present = [f for f in frames if start <= f <= end]
    if not present:
        raise _Bad(f"frame folder {rel} holds none of frames {start}..{end}")
    # The folder's timeline puts frame f at (f - its first frame) / FPS; frames outside the clip
    # (an extraction of more than the clip) make the clip a segment of it.
    segment = None
    if len(present) < len(frames):
        first = frames[0]
        segment = (round(max(0, start - first) / FPS, 6), round((end + 1 - first) / FPS, 6))
    out = [
        {"name": "final score", "type": "number", "value": score},
        {"name": "difficulty", "type": "number", "value": difficulty},
        {"name": "sub-action sequence", "type": "sequence", "value": [s["name"] for s in steps]},
    ]
    if step_spans:
        counts: dict[str, int] = {}
        for step in steps:
            counts[step["name"]] = counts.get(step["name"], 0) + 1
            suffix = f" {counts[step['name']]}" if counts[step["name"]] > 1 else ""
            out.append(
                {
                    "name": f"{step['name']} span{suffix}",
                    "type": "temporal_range",
                    "value": step["span"],
                }
            )
    extra: dict[str, Any] = {
        "frames": [start, end],
        "missing_frames": (end - start + 1) - len(present),
        "steps": steps,
    }
    if isinstance(action, str):
        extra["action_type"] = action
    return Candidate(
        id=f"{name}_{idx}",
        source=repr(key),
        video=rel,
        split=SPLITS[split],
        source_split=split,
        task=TASK,
        labels=out,
        segment=segment,
        fps=FPS,
        extra=extra,
    )
