"""STAR (Situated Reasoning in Real-World Videos) adapter: ``STAR_{train,val,test}.json`` -> rows.

    from videostar.data.source import SourceSpec
    from videostar.data import star
    spec = SourceSpec(Path("STAR/STAR_val.json"), Path("STAR/Charades_v1_480"), split="val",
                      classes=Path("STAR/annotations/STAR_classes"))
    for item in star.read(spec):            # Candidate or Rejected, one record at a time
        ...
    star.read(spec, templated=False)        # only the dataset's own questions
    star.vocabulary(spec)                   # {"star_object": {"object": [...]}} from class files

Format facts are in ``shared/datasets.md`` section 3. Per record:

- The dataset's own question becomes a row with task "star", id = question_id, the question's
  clip as its segment ([start, end] seconds, end clamped to the probed video length) and one
  ``sentence`` label: the answer text. STAR shuffles choices, so the answer is the choice whose
  text equals ``answer``; ``extra`` keeps the choices ordered by ``choice_id``, the answer's index
  and the question type (Interaction/Sequence/Prediction/Feasibility). One task for all four
  types because the paper reports one STAR-QA accuracy; the type stays in ``extra`` for breakdowns.
- With ``templated`` (the default), the paper's derived questions (Video-STaR's STAR conversion,
  datasets.md 3.6; our own wording) each become a row of their own, since a sample passes only
  when every label is found in the answer and a QA answer never states a time span or a box:
  ``<id>_t`` actions between two times (sentence list, task star_actions), ``<id>_rt`` when those
  actions happen and ``<id>_tqa`` when the question's situation happens (temporal_range, task
  star_temporal; both over the whole video, as in the paper: the situation frames span the QA
  clip itself), ``<id>_st`` which object is in a box at a time of the clip (category, task
  star_object) and ``<id>_b`` where that object is (bbox, task star_box; the paper lists boxes
  among STAR's labels, its code only asks the object).

Situation keys are Charades frame numbers: seconds = frame / fps, fps from the ``video_fps`` file
(a pickle in the release, read with videostar.data.safepickle, which refuses any code in it;
JSON or "name fps" text lines are read too), else the probed rate. Boxes are pixels of the
480p Charades frame and become fractions of the probed frame size; a box outside that frame means
the file is not the one the boxes were drawn on, and the box is not used.

The annotation files are streamed (``videostar.data.jsonstream``), one record at a time; a file
that breaks off mid-way raises after the records before the break. ``DESCRIPTIONS`` says what
each task asks, for the question-generation prompt.

The test split has no answers: its QA rows are Rejected ("test split: no answer") since a row
needs a label to verify, while its derived rows that need no answer (_t, _rt, _st, _b) are kept.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from videostar.data import jsonstream, safepickle
from videostar.data.source import SPLITS, AnnotationError, Candidate, Rejected, SourceSpec
from videostar.video import clips

CLASS_FILES = {
    "a": "action_classes.txt",
    "o": "object_classes.txt",
    "r": "relationship_classes.txt",
    "v": "verb_classes.txt",
}
QUESTION_TYPES = ("Interaction", "Sequence", "Prediction", "Feasibility")
VIDEO_EXTS = (".mp4", ".MP4", ".webm", ".mkv", ".avi", ".mov")
PERSON = "o000"
# Action Genome boxes may overhang the frame by a pixel or two; more means another frame size.
BOX_SLACK_PX = 2.0
_SPLIT_IN_NAME = re.compile(r"STAR_(train|val|test)\b", re.IGNORECASE)
# Task -> what it asks, for the question-generation prompt ("... for the task of {T}").
DESCRIPTIONS = {
    "star": (
        "situated reasoning: answering questions about a person's interactions, action "
        "sequences, predicted and feasible actions in a video clip"
    ),
    "star_actions": "recognising the actions a person performs between two times of a video",
    "star_temporal": "localising in time a person's actions or the situation a question asks about",
    "star_object": "recognising the object inside a given box of a video frame",
    "star_box": "localising an object with a bounding box in a video frame",
}


def read(spec: SourceSpec, templated: bool = True) -> Iterator[Candidate | Rejected]:
    """Yield a Candidate or a Rejected per STAR record (and per derived question if templated)."""
    files = _annotation_files(spec)
    classes = _read_classes(spec, required=templated)
    fps_table = _read_fps(spec)
    videos = _Videos(spec.videos)
    for path, split in files:
        for index, record in _records(path):
            yield from _rows(
                record, f"{path.name}[{index}]", split, classes, fps_table, videos, templated
            )


def vocabulary(spec: SourceSpec) -> dict[str, dict[str, list[str]]]:
    """Task -> label name -> the classes STAR declares: star_object's ``object`` names from
    object_classes.txt, {} when the class files are not found. The person is left out: the box
    question never asks it, and as a rival class it would fail every answer that mentions the
    person. The other tasks' labels are sentences, time ranges or boxes, which take no classes.
    Class files that are named but missing or malformed raise, as ``read`` would."""
    classes = _read_classes(spec, required=False)
    if classes is None:
        return {}
    objects = [name for code, name in classes.items() if code[0] == "o" and code != PERSON]
    return {"star_object": {"object": list(dict.fromkeys(objects))}}


# ------------------------------------------------------------------------------------ files


def _annotation_files(spec: SourceSpec) -> list[tuple[Path, str]]:
    """(file, source split) pairs: the given file, or STAR_<split>.json in the given folder."""
    if spec.split is not None and spec.split not in SPLITS:
        raise AnnotationError(f"{spec.annotations}: unknown split {spec.split!r}")
    if spec.annotations.is_file():
        found = _SPLIT_IN_NAME.search(spec.annotations.name)
        split = spec.split or (found.group(1).lower() if found else None)
        if split is None:
            raise AnnotationError(
                f"{spec.annotations}: cannot tell the split from the name; pass the split"
            )
        return [(spec.annotations, split)]
    if not spec.annotations.is_dir():
        raise AnnotationError(f"{spec.annotations}: no such STAR annotation file or folder")
    splits = [spec.split] if spec.split else ["train", "val", "test"]
    files = [(spec.annotations / f"STAR_{s}.json", s) for s in splits]
    files = [(p, s) for p, s in files if p.is_file()]
    if not files:
        names = ", ".join(f"STAR_{s}.json" for s in splits)
        raise AnnotationError(f"{spec.annotations}: none of {names} found")
    return files


def _is_record(value: Any) -> bool:
    return isinstance(value, dict) and "question_id" in value and "video_id" in value


def _records(path: Path) -> Iterator[tuple[int | str, Any]]:
    """(index, record) of a STAR file, streamed (STAR_train.json holds ~46k records); a file
    that breaks off mid-way raises after the records before the break."""
    return jsonstream.entries(
        path,
        "list",
        "a STAR annotation file",
        "a JSON list of records with question_id, video_id, question, start, end, choices",
        fits=_is_record,
    )


def _class_dir(spec: SourceSpec) -> Path | None:
    if spec.classes is not None:
        return spec.classes.parent if spec.classes.is_file() else spec.classes
    base = spec.annotations if spec.annotations.is_dir() else spec.annotations.parent
    for folder in (
        base,
        base / "classes",
        base / "STAR_classes",
        base / "annotations/STAR_classes",
    ):
        if (folder / CLASS_FILES["o"]).is_file():
            return folder
    return None


def _read_classes(spec: SourceSpec, required: bool) -> dict[str, str] | None:
    """code -> name from the class files (``code name`` lines, split on the first space)."""
    folder = _class_dir(spec)
    if folder is None:
        if required or spec.classes is not None:
            raise AnnotationError(
                f"{spec.classes or spec.annotations}: STAR class files "
                f"({', '.join(CLASS_FILES.values())}) not found; pass the STAR_classes folder"
            )
        return None
    names: dict[str, str] = {}
    for prefix, file in CLASS_FILES.items():
        path = folder / file
        if not path.is_file():
            if prefix == "v":  # verbs only name the optional ``verbs`` lists
                continue
            raise AnnotationError(f"{path}: STAR class file missing")
        for line in path.read_text(encoding="utf-8").splitlines():
            code, _, name = line.strip().partition(" ")
            if not (code.startswith(prefix) and name.strip()):
                if line.strip():
                    raise AnnotationError(f"{path}: not a STAR class file: line {line!r}")
                continue
            names[code] = name.strip()
    return names


# ------------------------------------------------------------------------------------ fps


def read_fps(path: Path) -> dict[str, float]:
    """``video_fps``: {"<video_id>.mp4": fps} from a pickle, a JSON object or "name fps" lines."""
    data = path.read_bytes()
    table: Any = None
    if data[:1] != b"\x80":  # protocol >= 2 pickles start with PROTO; try the text forms first
        try:
            table = json.loads(data)
        except (UnicodeDecodeError, json.JSONDecodeError):
            try:
                lines = [ln.replace(",", " ").split() for ln in data.decode().splitlines()]
                table = {k: float(v) for k, v in (ln for ln in lines if ln)}
            except (UnicodeDecodeError, ValueError):
                table = None
    if table is None:
        table = safepickle.load(path)  # refuses any global without running it
    if not (
        isinstance(table, dict)
        and all(
            isinstance(k, str) and isinstance(v, int | float) and not isinstance(v, bool) and v > 0
            for k, v in table.items()
        )
    ):
        raise AnnotationError(f"{path}: not a STAR video_fps table (name -> positive fps)")
    return {k.removesuffix(".mp4"): float(v) for k, v in table.items()}


def _read_fps(spec: SourceSpec) -> dict[str, float]:
    folders = [
        _class_dir(spec),
        spec.annotations if spec.annotations.is_dir() else spec.annotations.parent,
    ]
    for folder in folders:
        if folder is not None and (folder / "video_fps").is_file():
            return read_fps(folder / "video_fps")
    return {}  # no table: the probed frame rate stands in


# ------------------------------------------------------------------------------------ videos


class _Videos:
    """Finds and probes each video once: video_id -> (relative path, VideoInfo) or a reason."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.cache: dict[str, tuple[str, clips.VideoInfo] | str] = {}

    def get(self, video_id: str) -> tuple[str, clips.VideoInfo] | str:
        if video_id not in self.cache:
            self.cache[video_id] = self._find(video_id)
        return self.cache[video_id]

    def _find(self, video_id: str) -> tuple[str, clips.VideoInfo] | str:
        for folder in ("", "Charades_v1_480/"):
            for ext in VIDEO_EXTS:
                rel = f"{folder}{video_id}{ext}"
                if (self.root / rel).is_file():
                    try:
                        return rel, clips.probe(self.root / rel)
                    except clips.VideoError as e:
                        return str(e)
        return f"missing video: {video_id}.mp4"


# ------------------------------------------------------------------------------------ records


class _Bad(Exception):
    """A record that cannot become a row; the message is the reject reason."""


def _rows(
    record: Any,
    source: str,
    split: str,
    classes: dict[str, str] | None,
    fps_table: dict[str, float],
    videos: _Videos,
    templated: bool,
) -> Iterator[Candidate | Rejected]:
    video_id = record.get("video_id") if isinstance(record, dict) else None
    try:
        qid, question, video_id, start, end = _fields(record)
        choices, answer_index = _choices(record, split)
        found = videos.get(video_id)
        if isinstance(found, str):
            raise _Bad(found)
        video, info = found
        end = min(end, info.duration)  # STAR ends may run past the video (Video-STaR clamps too)
        if end <= start:
            raise _Bad(f"end <= start: [{start}, {end}] (video is {info.duration:.2f} s)")
        fps = fps_table.get(video_id) or info.fps
        frames = _situations(record, classes, fps)
    except _Bad as e:
        yield Rejected(source, str(e), f"{video_id}.mp4" if isinstance(video_id, str) else None)
        return

    qtype = qid.split("_")[0]
    extra: dict[str, Any] = {"choices": choices, "question_type": qtype}
    base = dict(video=video, split=SPLITS[split], source_split=split)
    if answer_index is None:
        yield Rejected(source, "test split: no answer" if split == "test" else "no answer", video)
    else:
        answer = choices[answer_index]
        extra["answer_index"] = answer_index
        yield Candidate(
            id=qid,
            source=source,
            task="star",
            segment=(start, end),
            question=question,
            labels=[{"name": "answer", "type": "sentence", "value": answer}],
            extra=extra,
            **base,
        )
    if templated and classes is not None:
        answer = None if answer_index is None else choices[answer_index]
        for suffix, task, segment, q, labels in _derived(
            question, answer, frames, classes, info, start, end
        ):
            yield Candidate(
                id=f"{qid}_{suffix}",
                source=source,
                task=task,
                segment=segment,
                question=q,
                labels=labels,
                extra={"question_type": qtype, "star_question": qid},
                **base,
            )


def _fields(record: Any) -> tuple[str, str, str, float, float]:
    if not isinstance(record, dict):
        raise _Bad("record is not an object")
    for key in ("question_id", "question", "video_id"):
        if not isinstance(record.get(key), str) or not record[key].strip():
            raise _Bad(f"missing field {key!r}")
    if record["question_id"].split("_")[0] not in QUESTION_TYPES:
        raise _Bad(f"unknown question type in id {record['question_id']!r}")
    start, end = record.get("start"), record.get("end")
    if not all(isinstance(t, int | float) and not isinstance(t, bool) for t in (start, end)):
        raise _Bad(f"start/end must be seconds, got {start!r}, {end!r}")
    start, end = max(0.0, float(start)), float(end)
    return record["question_id"], record["question"].strip(), record["video_id"], start, end


def _choices(record: dict[str, Any], split: str) -> tuple[list[str], int | None]:
    """Choice texts ordered by choice_id, and the answer's index (None without an answer)."""
    raw = record.get("choices")
    if not (
        isinstance(raw, list)
        and raw
        and all(
            isinstance(c, dict)
            and isinstance(c.get("choice"), str)
            and isinstance(c.get("choice_id"), int)
            for c in raw
        )
    ):
        raise _Bad("choices must be a list of {choice_id, choice}")
    choices = [c["choice"] for c in sorted(raw, key=lambda c: c["choice_id"])]
    answer = record.get("answer")
    if answer is None or answer == "":
        return choices, None
    if not isinstance(answer, str):
        raise _Bad(f"answer must be the text of a choice, got {answer!r}")
    # Exact match first, as STAR's loaders do; then ignoring surrounding blanks.
    for texts in (choices, [c.strip() for c in choices]):
        if answer in texts or answer.strip() in texts:
            return choices, texts.index(answer if answer in texts else answer.strip())
    raise _Bad(f"answer not among choices: {answer!r}")


def _situations(
    record: dict[str, Any], classes: dict[str, str] | None, fps: float
) -> list[tuple[float, dict[str, Any]]]:
    """(seconds, situation) in frame order; every code checked against the class files."""
    raw = record.get("situations")
    if raw is None:
        return []
    if not isinstance(raw, dict):
        raise _Bad("situations must be an object keyed by frame number")
    frames = []
    for key in sorted(raw):  # zero-padded frame numbers sort as strings
        sit = raw[key]
        if not (key.isdigit() and isinstance(sit, dict)):
            raise _Bad(f"bad situation {key!r}: expected a frame number and an object")
        if classes is not None:
            keys = ("actions", "bbox_labels", "rel_labels", "verbs")
            codes = [c for k in keys for c in sit.get(k) or []]
            codes += [c for pair in sit.get("rel_pairs") or [] for c in _as_list(pair)]
            for code in codes:
                if not isinstance(code, str) or code not in classes:
                    raise _Bad(f"unknown class code {code!r} in situation {key}")
        frames.append((int(key) / fps, sit))
    return frames


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


# ------------------------------------------------------------------------------------ templated


def _f(x: float) -> str:
    return f"{x:.2f}"


def _derived(
    question: str,
    answer: str | None,
    frames: list[tuple[float, dict[str, Any]]],
    classes: dict[str, str],
    info: clips.VideoInfo,
    start: float,
    end: float,
) -> Iterator[tuple[str, str, tuple[float, float] | None, str, list[dict[str, Any]]]]:
    """(suffix, task, segment, question, labels) of the paper's derived STAR questions."""
    if len(frames) < 2:
        return
    # Span of the situation frames as fractions of the whole video (the paper: min/max frame).
    span = [round(min(1.0, max(0.0, frames[i][0] / info.duration)), 4) for i in (0, -1)]
    t1, t2 = span
    actions = list(dict.fromkeys(classes[a] for _, s in frames for a in s.get("actions") or []))
    if t1 < t2:
        if actions:
            yield (
                "t",
                "star_actions",
                None,
                (
                    f"What does the person do between {_f(t1)} and {_f(t2)} of the video "
                    "(fractions of its length)?"
                ),
                [{"name": "actions", "type": "sentence", "value": actions}],
            )
            yield (
                "rt",
                "star_temporal",
                None,
                (
                    f"When does the person {'; '.join(actions)}? Give the start and end as "
                    "fractions of the video's length."
                ),
                [{"name": "temporal_range", "type": "temporal_range", "value": span}],
            )
        if answer is not None:
            yield (
                "tqa",
                "star_temporal",
                None,
                (
                    f"Which part of the video shows the situation of the question '{question}' "
                    f"with the answer '{answer}'? Give the start and end as fractions of the "
                    "video's length."
                ),
                [{"name": "temporal_range", "type": "temporal_range", "value": span}],
            )
    box = _pick_box(frames, info, start, end)
    if box is not None:
        when, code, xyxy = box
        name = classes[code]
        coords = "[" + ", ".join(_f(x) for x in xyxy) + "]"
        yield (
            "st",
            "star_object",
            (start, end),
            (
                f"Which object is inside the box {coords} (x1, y1, x2, y2 as fractions of the frame) "
                f"at {_f(when)} of the clip's length?"
            ),
            [{"name": "object", "type": "category", "value": name}],
        )
        yield (
            "b",
            "star_box",
            (start, end),
            (
                f"Where is the {name} at {_f(when)} of the clip's length? Give its box as "
                "[x1, y1, x2, y2], fractions of the frame."
            ),
            [{"name": "box", "type": "bbox", "value": [round(x, 4) for x in xyxy]}],
        )


def _pick_box(
    frames: list[tuple[float, dict[str, Any]]],
    info: clips.VideoInfo,
    start: float,
    end: float,
) -> tuple[float, str, list[float]] | None:
    """The first non-person box inside the clip (the paper picks one at random; a fixed choice
    keeps prepare reproducible): (time as a fraction of the clip, object code, box fractions)."""
    w, h = info.width, info.height
    for seconds, sit in frames:
        if not start <= seconds <= end:
            continue
        for code, b in zip(sit.get("bbox_labels") or [], sit.get("bbox") or [], strict=False):
            if code == PERSON or not (isinstance(b, list) and len(b) == 4):
                continue
            x1, y1, x2, y2 = (float(v) for v in b)
            if min(x1, y1) < -BOX_SLACK_PX or x2 > w + BOX_SLACK_PX or y2 > h + BOX_SLACK_PX:
                continue  # drawn on a larger frame than this file's
            xyxy = [min(1.0, max(0.0, v)) for v in (x1 / w, y1 / h, x2 / w, y2 / h)]
            if xyxy[0] < xyxy[2] and xyxy[1] < xyxy[3]:
                return (seconds - start) / (end - start), code, xyxy
    return None
