"""What a dataset adapter yields: one candidate manifest row, or one recorded rejection.

An adapter reads a dataset in the layout its download tools leave and yields, lazily (annotation
files can hold hundreds of thousands of records), for every annotation record either a
``Candidate`` (checked afterwards: labels against the label-type registry, the video path inside
the video folder, the video decodable) or a ``Rejected`` with its reason. Nothing is dropped
silently.

    def read(source: SourceSpec) -> Iterator[Candidate | Rejected]: ...
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Source split names as the datasets spell them -> the manifest's split.
SPLITS = {"train": "train", "val": "test", "validate": "test", "valid": "test", "test": "test"}


@dataclass(frozen=True)
class SourceSpec:
    """Where a dataset lies. ``annotations``: the annotation file or folder; ``videos``: the video
    folder (every row's video path is relative to it); ``split``: the source split to read, as the
    dataset spells it (None: all the adapter finds); ``classes``: an optional class-list file or
    folder (e.g. STAR's class files)."""

    annotations: Path
    videos: Path
    split: str | None = None
    classes: Path | None = None


@dataclass(frozen=True)
class Candidate:
    """One labeled video (or clip of one), before its video is checked.

    id: unique in the dataset; source: the record's key in the annotation file (for messages);
    video: path relative to ``SourceSpec.videos`` — a video file or a folder of frame images;
    split: the manifest split ("train" or "test"; see SPLITS); source_split: as the dataset spells
    it; task: the task key; labels: ``[{"name", "type", "value"}]`` (types of videostar.labels);
    segment: [start, end] seconds inside the video, or None for the whole video (temporal labels
    are fractions of the segment); question: the dataset's own question, if it has one; fps: the
    frame rate of a frame folder (None for video files, whose rate is read from the file);
    extra: further per-row fields to keep (e.g. STAR's choices).
    """

    id: str
    source: str
    video: str
    split: str
    source_split: str
    task: str
    labels: list[dict[str, Any]]
    segment: tuple[float, float] | None = None
    question: str | None = None
    fps: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Rejected:
    """A record that cannot become a manifest row: its key in the annotation file and why."""

    source: str
    reason: str
    video: str | None = None


class AnnotationError(ValueError):
    """The annotation file as a whole cannot be read (wrong format, missing file); the message
    names the file and what was expected."""
