"""Turn a labeled dataset on disk into the project's manifest, recording every rejection.

    from videostar.data.prepare import PrepareConfig, prepare_dataset
    counts = prepare_dataset("kinetics", SourceSpec(Path("k700/annotations"), Path("k700/videos"),
                             split="train"), Path("data/prepared"), num_frames=8, workers=4)

The format's adapter (``FORMATS``) yields candidate rows; each is checked here — labels against
the label-type registry, the video path inside the video folder (lexically: ``..`` and absolute
paths are refused, symlinks inside are followed, as DVC's cache and dataset farms use them), the
video probed and its sampled frames decoded — in worker processes, a bounded batch at a time, so
memory does not grow with the number of rows. Writes OUT/manifest.jsonl (accepted rows, in the
adapter's order, video paths relative to the working directory), OUT/rejects.jsonl (one row
per rejected record: its id or source key, video, reason) and OUT/tasks.json (per task: its
description, class vocabularies and row counts; see ``TaskCatalog``), and returns the counts.
"""

from __future__ import annotations

import dataclasses
import itertools
import multiprocessing
import os
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from tqdm import tqdm

from videostar.core.records import RecordError, check_manifest_row, dumps, inside, write_json
from videostar.data.source import Candidate, Rejected, SourceSpec
from videostar.labels import REGISTRY, validate_label
from videostar.video import clips, frames
from videostar.video.cache import FrameCache

FORMATS = ("manifest", "kinetics", "finediving", "star")
BATCH = 256  # candidates per worker round: bounds memory, keeps every worker busy


@dataclass(frozen=True)
class PrepareConfig:
    """format: one of FORMATS; annotations, videos: where the dataset lies (videos: the folder
    every row's video path is relative to; both are the stage's tracked deps); split: the source
    split to read, or a list of them, as the dataset spells them (null: all the adapter finds;
    e.g. [train, validate] leaves out Kinetics' unlabeled test file); classes: a class-list file
    or folder, if the format takes one;
    num_frames: a video must decode this many sampled frames; max_reject_fraction: fail past
    this share of rejects."""

    format: str
    annotations: str
    videos: str
    split: str | tuple[str, ...] | None
    classes: str | None
    num_frames: int
    max_reject_fraction: float

    def __post_init__(self) -> None:
        if self.format not in FORMATS:
            raise ValueError(f"prepare.format must be one of {FORMATS}, got {self.format!r}")
        split = self.split
        if isinstance(split, list | tuple):
            if not split or not all(isinstance(s, str) for s in split):
                raise ValueError(f"prepare.split must be a name or a list of names, got {split!r}")
            object.__setattr__(self, "split", tuple(split))
        elif not (split is None or isinstance(split, str)):
            raise ValueError(f"prepare.split must be a name or a list of names, got {split!r}")

    def spec(self) -> SourceSpec:
        """The source; its ``split`` is the first of ``splits()``."""
        return SourceSpec(
            annotations=Path(self.annotations),
            videos=Path(self.videos),
            split=self.splits()[0],
            classes=Path(self.classes) if self.classes else None,
        )

    def splits(self) -> tuple[str | None, ...]:
        return (self.split,) if self.split is None or isinstance(self.split, str) else self.split


class TooManyRejects(RuntimeError):
    """More records were rejected than ``max_reject_fraction`` allows."""


class SplitLeak(RuntimeError):
    """A video is in both the training and the held-out split."""


def adapter(name: str) -> ModuleType:
    """The format's adapter module: ``read(spec)`` yields candidates; optional ``DESCRIPTIONS``
    (task -> description) and ``vocabulary(spec)`` (task -> label name -> declared classes)."""
    # Imported here, plainly, so the stage's code deps (derived from imports) see every adapter.
    from videostar.data import finediving, kinetics, manifest, star

    modules = {"manifest": manifest, "kinetics": kinetics, "finediving": finediving, "star": star}
    if name not in modules:
        raise ValueError(f"unknown format {name!r}; known: {', '.join(FORMATS)}")
    return modules[name]


class TaskCatalog:
    """What is stored once per task rather than on every row (OUT/tasks.json): a description
    (for the question-generation prompt's ``{T}``), the class vocabulary of every category and
    sequence label (for the verifier's exclusive modes) and the row counts per split.

    A label's vocabulary is the union of what the dataset declares (a label map, a class table),
    the ``classes`` carried by rows (removed from them here) and the values seen.
    """

    def __init__(self, descriptions: dict[str, str], declared: dict[str, dict[str, list[str]]]):
        self.descriptions = descriptions
        self.classes: dict[str, dict[str, set[str]]] = {
            task: {name: set(names) for name, names in labels.items()}
            for task, labels in declared.items()
        }
        self.rows: dict[str, Counter] = {}

    def add(self, row: dict[str, Any]) -> None:
        """Record the row's task, label values and vocabularies; strip ``classes`` off its labels."""
        task = row["task"]
        self.rows.setdefault(task, Counter())[row["split"]] += 1
        for label in row["labels"]:
            if not REGISTRY[label["type"]].takes_classes:
                continue
            names = self.classes.setdefault(task, {}).setdefault(label["name"], set())
            names.update(label.pop("classes", None) or [])
            value = label["value"]
            names.update([value] if isinstance(value, str) else value)

    def to_dict(self) -> dict[str, Any]:
        return {
            task: {
                "description": self.descriptions.get(task) or task.replace("_", " "),
                "classes": {
                    name: sorted(v) for name, v in sorted(self.classes.get(task, {}).items())
                },
                "rows": dict(sorted(counts.items())),
            }
            for task, counts in sorted(self.rows.items())
        }


def check(candidate: Candidate, root: Path, num_frames: int) -> dict[str, Any]:
    """The accepted manifest row; raises RecordError, VideoError or ValueError if unusable."""
    row: dict[str, Any] = {
        **candidate.extra,
        "id": candidate.id,
        "video": candidate.video,
        "split": candidate.split,
        "task": candidate.task,
        "labels": candidate.labels,
    }
    check_manifest_row(row)
    for label in candidate.labels:
        validate_label(label)
    path = inside(root, candidate.video)
    try:
        info = clips.probe(path, fps=candidate.fps)
    except OSError as e:  # the filesystem refuses the path itself, e.g. a name too long
        raise clips.VideoError(f"cannot read {candidate.video[:200]!r}: {e.strerror}") from e
    segment = clips.clamp_segment(candidate.segment, info)
    # Decoded once here for the check, and kept in the frame cache for every later stage.
    frames.decode((str(path), segment, candidate.fps), num_frames, FrameCache.from_env(), info)
    row["video"] = os.path.relpath(path, Path.cwd())
    row["duration"] = (
        row.get("duration") or info.duration if segment is None else segment[1] - segment[0]
    )
    row["frame_size"] = [info.width, info.height]
    optional = {"segment": list(segment) if segment else None, "question": candidate.question,
                "fps": candidate.fps}  # fmt: skip
    row.update({k: v for k, v in optional.items() if v is not None})
    if candidate.source_split != candidate.split:
        row["source_split"] = candidate.source_split
    return row


def _check_one(job: tuple[Candidate | Rejected, Path, int]) -> tuple[str, dict[str, Any]]:
    item, root, num_frames = job
    if isinstance(item, Rejected):
        return "reject", reject_row(item.source, item.source, item.video, item.reason)
    try:
        return "row", check(item, root, num_frames)
    except (RecordError, clips.VideoError, ValueError) as e:
        return "reject", reject_row(item.id, item.source, item.video, str(e))


def reject_row(row_id: str, source: str, video: str | None, reason: str) -> dict[str, Any]:
    row = {"id": row_id, "video": video, "stage": "prepare", "reason": reason}
    if source != row_id:
        row["source"] = source
    return row


def _batches(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    iterator = iter(items)
    while batch := list(itertools.islice(iterator, size)):
        yield batch


def checked(
    items: Iterable[Candidate | Rejected], root: Path, num_frames: int, workers: int
) -> Iterator[tuple[str, dict[str, Any]]]:
    """("row", manifest row) or ("reject", reject row) per item, in input order."""
    jobs = ((item, root, num_frames) for item in items)
    if workers <= 1:
        yield from map(_check_one, jobs)
        return
    # fork starts workers in milliseconds (spawn re-imports the decoders in each: measured 1.3x
    # instead of 2.0x for 2 workers on 3,000 small clips); the parent holds no decoder or thread
    # pool yet when the pool starts. Where fork is unavailable, spawn.
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    with multiprocessing.get_context(method).Pool(workers) as pool:
        for batch in _batches(jobs, BATCH * workers):
            yield from pool.map(_check_one, batch, chunksize=64)


def prepare_dataset(
    format: str,
    spec: SourceSpec,
    out: Path,
    num_frames: int,
    workers: int | None = None,
    progress: bool = True,
    splits: Sequence[str | None] | None = None,
) -> dict[str, Any]:
    """Write OUT/manifest.jsonl, OUT/rejects.jsonl and OUT/tasks.json; return the counts (see
    ``summary``). ``splits``: read these source splits in turn instead of ``spec.split``."""
    out.mkdir(parents=True, exist_ok=True)
    workers = frames.default_workers() if workers is None else workers
    counts: Counter = Counter()
    seen: set[str] = set()
    video_split: dict[str, str] = {}
    leaks: list[str] = []
    module = adapter(format)
    catalog = TaskCatalog(
        getattr(module, "DESCRIPTIONS", {}),
        module.vocabulary(spec) if hasattr(module, "vocabulary") else {},
    )
    sources = [dataclasses.replace(spec, split=s) for s in splits] if splits else [spec]
    candidates = itertools.chain.from_iterable(module.read(source) for source in sources)
    results = checked(candidates, spec.videos, num_frames, workers)
    partial = {name: out / f".{name}.partial" for name in ("manifest.jsonl", "rejects.jsonl")}
    with (
        open(partial["manifest.jsonl"], "w", encoding="utf-8") as rows_file,
        open(partial["rejects.jsonl"], "w", encoding="utf-8") as rejects_file,
    ):
        for kind, row in tqdm(results, desc=f"prepare {format}", unit="row", disable=not progress):
            if kind == "row" and row["id"] in seen:
                kind, row = (
                    "reject",
                    reject_row(row["id"], row["id"], row["video"], f"duplicate id {row['id']!r}"),
                )
            if kind == "reject":
                rejects_file.write(dumps(row) + "\n")
                counts["rejected"] += 1
                continue
            seen.add(row["id"])
            other = video_split.setdefault(row["video"], row["split"])
            if other != row["split"] and len(leaks) < 5:
                leaks.append(f"{row['video']} ({other} and {row['split']})")
            catalog.add(row)
            rows_file.write(dumps(row) + "\n")
            counts["accepted"] += 1
            counts[f"{row['split']}/{row['task']}"] += 1
    write_json(out / "tasks.json", catalog.to_dict())
    for name, path in partial.items():  # both files appear together, or neither
        os.replace(path, out / name)
    if leaks:
        raise SplitLeak(
            f"videos in both the training and the held-out split, e.g. {'; '.join(leaks)}: "
            "evaluation would measure training; fix the split files"
        )
    return summary(counts)


def summary(counts: Counter) -> dict[str, Any]:
    accepted, rejected = counts["accepted"], counts["rejected"]
    total = accepted + rejected
    return {
        "videos": total,
        "accepted": accepted,
        "rejected": rejected,
        "reject_fraction": round(rejected / total, 6) if total else 0.0,
        "per_split_task": {
            key: n for key, n in sorted(counts.items()) if key not in ("accepted", "rejected")
        },
    }


def check_reject_fraction(stats: dict[str, Any], max_fraction: float, rejects: Path) -> None:
    if not stats["accepted"] or stats["reject_fraction"] > max_fraction:
        raise TooManyRejects(
            f"{stats['rejected']} of {stats['videos']} records rejected "
            f"({stats['reject_fraction']:.1%} > max_reject_fraction {max_fraction:.1%}); "
            f"reasons in {rejects}"
        )
