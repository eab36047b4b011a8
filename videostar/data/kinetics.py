"""Kinetics-400/600/700/700-2020 adapter: annotation CSV/JSON files and a clip folder -> candidates.

Reads the files the DeepMind tarballs and the CVDF downloads leave (``../shared/datasets.md`` §1):
``{train,validate,val,test}.{csv,json}`` (legacy ``kinetics-400_val.csv`` style names too), CSV
headers ``label,youtube_id,time_start,time_end,split[,is_cc]`` with or without quotes and with the
label absent in test files, and clips ``{youtube_id}_{start:06d}_{end:06d}.<ext>`` anywhere below
the video folder (per-label folders under any renaming, or flat).

    from videostar.data.kinetics import classes, read, vocabulary
    from videostar.data.source import SourceSpec

    spec = SourceSpec(annotations=Path("k700-2020/annotations"), videos=Path("k700-2020"), split="val")
    for item in read(spec):      # lazily, one Candidate or Rejected per annotation record
        ...
    names = classes(spec)        # sorted class names (from spec.classes, else the annotations)
    vocabulary(spec)             # {"kinetics": {"action": names}} from spec.classes only, else {}

The label always comes from the annotation file, never from the folder a clip lies in. Rows
without a label (test files) are rejected: a manifest row needs labels to be verified. JSON
files are streamed (``videostar.data.jsonstream``), one record at a time.
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from videostar.data import jsonstream
from videostar.data.source import SPLITS, AnnotationError, Candidate, Rejected, SourceSpec

TASK = "kinetics"
# Task -> what it asks, for the question-generation prompt ("... for the task of {T}").
DESCRIPTIONS = {TASK: "human action recognition"}
VIDEO_EXTENSIONS = frozenset(
    {".mp4", ".mkv", ".webm", ".avi", ".mov", ".m4v", ".flv", ".mpg", ".mpeg", ".ogv", ".3gp"}
)
CSV_COLUMNS = "label,youtube_id,time_start,time_end[,split[,is_cc]] (label absent in test files)"
JSON_RECORD = '{"<youtube_id>": {"annotations": {"label": ..., "segment": [start, end]}, ...}}'
_REQUIRED = ("youtube_id", "time_start", "time_end")
_YOUTUBE_ID = re.compile(r"[A-Za-z0-9_-]+")
_CLIP = re.compile(r"(.+)_(\d+)_(\d+)", re.ASCII)
_ORDER = {"train": 0, "val": 1, "test": 2}


def clip_name(youtube_id: str, start: int, end: int) -> str:
    """The canonical clip name, e.g. ``-aB3_xY9zQ0_000059_000069``."""
    return f"{youtube_id}_{start:06d}_{end:06d}"


def parse_clip_name(stem: str) -> tuple[str, int, int] | None:
    """``(youtube_id, start, end)`` of a clip file stem, or None. Splits from the right only: ids
    may start with ``-`` and contain ``_``."""
    match = _CLIP.fullmatch(stem)
    return (match[1], int(match[2]), int(match[3])) if match else None


def read(spec: SourceSpec) -> Iterator[Candidate | Rejected]:
    """Yield one Candidate or Rejected per annotation record of ``spec`` (see the module doc)."""
    files = _annotation_files(spec)
    # Check every CSV header before the first row, so a wrong file fails at once rather than
    # after the whole train split has been read.
    for path in files:
        if path.suffix.lower() == ".csv":
            _csv_header(path)
    label_map = _vocabulary(spec.classes) if spec.classes is not None else None
    videos = _VideoIndex(spec.videos)
    seen: set[str] = set()
    for item in _records(files, spec.split):
        yield item if isinstance(item, Rejected) else _candidate(item, videos, seen, label_map)


def classes(spec: SourceSpec) -> list[str]:
    """The sorted class vocabulary: the label-map file ``spec.classes`` (one class per line; or a
    folder holding one ``.txt``) when given, else every label in the annotation files read."""
    if spec.classes is not None:
        return sorted(set(_vocabulary(spec.classes).values()))
    records = _records(_annotation_files(spec), spec.split)
    return sorted({r.label for r in records if isinstance(r, _Record) and r.label})


def vocabulary(spec: SourceSpec) -> dict[str, dict[str, list[str]]]:
    """Task -> label name -> the classes the dataset declares: the label map ``spec.classes``
    when given, else {} (no pass over the annotations here: the prepare core collects the labels
    it sees itself). A label map that is named but unreadable raises, as ``read`` would."""
    return {TASK: {"action": classes(spec)}} if spec.classes is not None else {}


# ------------------------------------------------------------------------------ annotation files


@dataclass(frozen=True)
class _Record:
    """One well-formed annotation record, before its clip is looked up."""

    source: str
    split: str
    youtube_id: str
    start: int
    end: int
    label: str | None


def _alias(split: str) -> str:
    return "val" if split in ("val", "validate", "valid") else split


def _name_split(name: str) -> str | None:
    """The split a file or folder name spells (``validate.csv``, ``kinetics-400_val.csv``)."""
    tokens = re.split(r"[^a-z0-9]+", name.lower())
    return next((t for t in reversed(tokens) if t in SPLITS), None)


def _annotation_files(spec: SourceSpec) -> list[Path]:
    path, want = Path(spec.annotations), spec.split.lower() if spec.split else None
    if want is not None and want not in SPLITS:
        raise AnnotationError(f"unknown split {spec.split!r}; expected one of {sorted(SPLITS)}")
    if path.is_file():
        split = _name_split(path.stem)
        if split and want and _alias(split) != _alias(want):
            raise AnnotationError(f"{path} holds the {split!r} split, not {spec.split!r}")
        return [path]
    if not path.is_dir():
        raise AnnotationError(f"{path}: Kinetics annotation file or folder not found")
    chosen: dict[str, Path] = {}
    for p in sorted(path.iterdir()):
        split = _name_split(p.stem)
        if not (p.is_file() and p.suffix.lower() in (".csv", ".json") and split):
            continue
        if want is not None and _alias(split) != _alias(want):
            continue
        # The DeepMind tarball holds train.csv and train.json with the same rows: read one, the
        # CSV (keyed by clip rather than by YouTube id, datasets.md §1.3).
        if p.stem not in chosen or p.suffix.lower() == ".csv":
            chosen[p.stem] = p
    if not chosen:
        which = f"split {spec.split!r}" if want else "any split"
        raise AnnotationError(
            f"{path}: no Kinetics annotation file for {which} "
            "(expected {train,validate,val,test}.csv or .json)"
        )
    return sorted(chosen.values(), key=lambda p: (_ORDER[_alias(_name_split(p.stem))], p))


def _records(files: list[Path], split: str | None) -> Iterator[_Record | Rejected]:
    for path in files:
        # The file name names the split; the split column is not reliable (datasets.md §1.2).
        file_split = _name_split(path.stem) or (split.lower() if split else None)
        if path.suffix.lower() == ".json":
            yield from _json_records(path, file_split)
        else:
            yield from _csv_records(path, file_split)


def _csv_header(path: Path, reader: Any = None) -> list[str]:
    if reader is None:
        with path.open(newline="", encoding="utf-8-sig") as f:
            return _csv_header(path, csv.reader(f))
    try:
        header = next((row for row in reader if any(v.strip() for v in row)), [])
    except (csv.Error, UnicodeDecodeError) as e:
        raise AnnotationError(
            f"{path}: not a Kinetics annotation CSV ({e}); expected {CSV_COLUMNS}"
        ) from e
    header = [v.strip().lower() for v in header]
    missing = [c for c in _REQUIRED if c not in header]
    if missing:
        raise AnnotationError(
            f"{path}: not a Kinetics annotation CSV: header {','.join(header)!r} lacks "
            f"{', '.join(missing)}; expected {CSV_COLUMNS}"
        )
    return header


def _csv_records(path: Path, split: str | None) -> Iterator[_Record | Rejected]:
    with path.open(newline="", encoding="utf-8-sig") as f:
        # A real CSV parser: legacy K400 files quote labels with spaces, newer ones do not.
        reader = csv.reader(f)
        header = _csv_header(path, reader)
        try:
            for row in reader:
                values = [v.strip() for v in row]
                if not any(values):
                    continue
                source = f"{path.name}:{reader.line_num}"
                # Trailing empty fields are harmless; missing or extra values are not.
                if len(values) < len(header) or any(values[len(header) :]):
                    yield Rejected(
                        source,
                        f"expected {len(header)} fields ({','.join(header)}), got {len(values)}",
                    )
                    continue
                rec = dict(zip(header, values, strict=False))
                yield _record(
                    source,
                    split or rec.get("split"),
                    rec["youtube_id"],
                    rec["time_start"],
                    rec["time_end"],
                    rec.get("label"),
                )
        except (csv.Error, UnicodeDecodeError) as e:
            raise AnnotationError(f"{path}: unreadable CSV near line {reader.line_num}: {e}") from e


def _is_json_record(value: Any) -> bool:
    return isinstance(value, dict) and isinstance(value.get("annotations"), dict)


def _json_records(path: Path, split: str | None) -> Iterator[_Record | Rejected]:
    # Streamed (a DeepMind train.json is hundreds of MB); a break mid-file raises after the
    # records before it.
    stream = jsonstream.entries(
        path, "object", "a Kinetics annotation JSON", JSON_RECORD, fits=_is_json_record
    )
    for key, value in stream:
        source = f"{path.name}:{key}"
        if not _is_json_record(value):
            yield Rejected(source, f"not a Kinetics record; expected {JSON_RECORD}")
            continue
        annotations = value["annotations"]
        segment = annotations.get("segment")
        if not (isinstance(segment, list) and len(segment) == 2):
            yield Rejected(source, f"bad segment {segment!r}: expected [time_start, time_end]")
            continue
        subset = value.get("subset")
        yield _record(source, split or subset, key, *segment, annotations.get("label"))


def _seconds(name: str, value: Any) -> int:
    try:
        number = float(value)  # CSV "59", JSON 59.0
    except (TypeError, ValueError):
        raise ValueError(f"bad {name} {value!r}: not a number") from None
    if isinstance(value, bool) or not number.is_integer():
        raise ValueError(f"bad {name} {value!r}: not a whole number of seconds")
    if number < 0:
        raise ValueError(f"bad {name} {value!r}: negative")
    return int(number)


def _record(
    source: str, split: Any, youtube_id: Any, start: Any, end: Any, label: Any
) -> _Record | Rejected:
    split = split.lower() if isinstance(split, str) else None
    if split not in SPLITS:
        return Rejected(source, "unknown split: name it in the file name, --split or the row")
    if not youtube_id:
        return Rejected(source, "missing youtube_id")
    if not (isinstance(youtube_id, str) and _YOUTUBE_ID.fullmatch(youtube_id)):
        return Rejected(source, f"bad youtube_id {youtube_id!r}: letters, digits, - and _ only")
    try:
        start, end = _seconds("time_start", start), _seconds("time_end", end)
    except ValueError as e:
        return Rejected(source, str(e))
    if end <= start:
        return Rejected(source, f"bad times: time_end {end} is not after time_start {start}")
    if label is not None and not isinstance(label, str):
        return Rejected(source, f"bad label {label!r}: not text")
    return _Record(source, split, youtube_id, start, end, (label or "").strip() or None)


# ------------------------------------------------------------------------------ classes and clips


def _norm(name: str) -> str:
    """Folds the label renamings tools apply (spaces -> _, torchvision drops ' ( ))."""
    return re.sub(r"[^0-9a-z]", "", name.lower())


def _vocabulary(path: Path) -> dict[str, str]:
    """Label-map file -> {name or folded name: name as the file spells it}."""
    path = Path(path)
    if path.is_dir():
        found = sorted(path.glob("*.txt"))
        if len(found) != 1:
            raise AnnotationError(f"{path}: expected one class-list .txt file, found {len(found)}")
        path = found[0]
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise AnnotationError(
            f"{path}: cannot read the class list ({e}); expected one per line"
        ) from e
    names = sorted({line.strip().strip('"').strip() for line in lines} - {""})
    vocabulary = {_norm(n): n for n in reversed(names)}
    vocabulary.update((n, n) for n in names)
    return vocabulary


class _VideoIndex:
    """Every video file below ``root``, from one directory walk: clip name -> relative path(s)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise AnnotationError(f"{self.root}: video folder not found")
        self.first: dict[str, str] = {}
        self.more: dict[str, list[str]] = {}  # the same clip in several places (rare)
        visited = set()
        # Symlinks are followed (DVC caches, class folders of links); visited dirs stop loops.
        for top, dirs, files in os.walk(self.root, followlinks=True):
            st = os.stat(top)
            if (st.st_dev, st.st_ino) in visited:
                dirs[:] = []
                continue
            visited.add((st.st_dev, st.st_ino))
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            rel_top = os.path.relpath(top, self.root)
            for name in sorted(files):
                stem, ext = os.path.splitext(name)
                if name.startswith(".") or ext.lower() not in VIDEO_EXTENSIONS:
                    continue
                rel = Path(rel_top, name).as_posix()
                parsed = parse_clip_name(stem)
                key = clip_name(*parsed) if parsed else stem
                if key in self.first:
                    self.more.setdefault(key, []).append(rel)
                else:
                    self.first[key] = rel

    def find(self, clip: str, label: str, split: str) -> str | None:
        if clip not in self.first:
            return None
        paths = [self.first[clip], *self.more.get(clip, [])]
        return max(paths, key=lambda p: _preference(p, label, split))


def _preference(path: str, label: str, split: str) -> tuple[bool, bool, bool]:
    # K400's CVDF replacement folder holds good copies of corrupt clips; then the clip in its
    # label's folder; then one below a folder of its split.
    folders = path.split("/")[:-1]
    return (
        any(f.lower().startswith("replacement") for f in folders),
        bool(folders) and _norm(folders[-1]) == _norm(label),
        any(_alias(_name_split(f) or "") == _alias(split) for f in folders),
    )


def _candidate(
    record: _Record, videos: _VideoIndex, seen: set[str], vocabulary: dict[str, str] | None
) -> Candidate | Rejected:
    clip = clip_name(record.youtube_id, record.start, record.end)
    if clip in seen:
        return Rejected(record.source, f"duplicate clip {clip}: same key as an earlier record")
    seen.add(clip)
    if record.label is None:
        if record.split == "test":
            return Rejected(record.source, "no label (test split without answers)")
        return Rejected(record.source, "no label")
    label = record.label
    if vocabulary is not None:
        label = vocabulary.get(label) or vocabulary.get(_norm(label))
        if label is None:
            return Rejected(record.source, f"label {record.label!r} is not in the class list")
    video = videos.find(clip, label, record.split)
    if video is None:
        return Rejected(record.source, f"missing file: no video {clip}.* under {videos.root}")
    return Candidate(
        id=clip,
        source=record.source,
        video=video,
        split=SPLITS[record.split],
        source_split=record.split,
        task=TASK,
        labels=[{"name": "action", "type": "category", "value": label}],
        extra={"youtube_id": record.youtube_id, "time_start": record.start, "time_end": record.end},
    )
