"""STAR adapter on small synthetic fixtures in the release format (shared/datasets.md 3.8)."""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path

import numpy as np
import pytest

from videostar.data import star
from videostar.data.source import AnnotationError, Candidate, Rejected, SourceSpec
from videostar.labels import validate_label
from videostar.video.clips import write_video

# 16 frames at 8 fps: every video is 2 s long, 64x48 pixels.
FPS, FRAMES, W, H = 8, 16, 64, 48
CLASSES = {
    "action_classes.txt": "a000 hold some clothes\na001 put clothes somewhere\na002 tidy a closet",
    "object_classes.txt": "o000 person\no001 closet/cabinet\no002 clothes\no003 table",
    "relationship_classes.txt": "r000 on\nr001 in_front_of",
    "verb_classes.txt": "v000 hold\nv001 tidy",
}
BOX = [16.0, 12.0, 32.0, 36.0]  # pixels -> [0.25, 0.25, 0.5, 0.75]


def choices(*texts: str) -> list[dict]:
    # Shuffled as released: list order differs from choice_id order.
    ids = [2, 0, 3, 1]
    return [
        {"choice_id": i, "choice": t, "choice_program": []} for i, t in zip(ids, texts, strict=True)
    ]


def situations() -> dict:
    person = [40.0, 2.0, 60.0, 46.0]
    return {
        "000004": {
            "rel_pairs": [["o000", "o002"]],
            "rel_labels": ["r000"],
            "actions": ["a000"],
            "bbox": [person, BOX],
            "bbox_labels": ["o000", "o002"],
        },
        "000008": {
            "rel_pairs": [],
            "rel_labels": [],
            "actions": ["a000", "a001"],
            "bbox": [],
            "bbox_labels": [],
        },
        "000010": {
            "rel_pairs": [["o000", "o001"]],
            "rel_labels": ["r001"],
            "actions": ["a001"],
            "bbox": [person],
            "bbox_labels": ["o000"],
        },
        "000012": {
            "rel_pairs": [],
            "rel_labels": [],
            "actions": [],
            "bbox": None,
            "bbox_labels": [],
        },
    }


def record(
    qid: str, video: str, start: float, end: float, answer: str | None = "The clothes.", **kw
) -> dict:
    rec = {
        "question_id": qid,
        "question": "Which object was tidied up by the person?",
        "video_id": video,
        "start": start,
        "end": end,
        "answer": answer,
        "question_program": [{"function": "Situations", "value_input": []}],
        "choices": choices("The clothes.", "The closet/cabinet.", "The table.", "The blanket."),
        "situations": situations(),
    }
    if answer is None:
        del rec["answer"]
    return {**rec, **kw}


@pytest.fixture
def data(tmp_path: Path) -> Path:
    root = tmp_path / "STAR"
    classes = root / "annotations" / "STAR_classes"
    classes.mkdir(parents=True)
    for name, text in CLASSES.items():
        (classes / name).write_text(text)  # no trailing newline, as released
    # CD34E is missing from the table: its probed rate stands in.
    (classes / "video_fps").write_bytes(pickle.dumps({"AB12C.mp4": 8.0}, protocol=3))
    videos = root / "Charades_v1_480"
    rng = np.random.default_rng(0)
    for vid in ("AB12C", "CD34E"):
        write_video(videos / f"{vid}.mp4", rng.integers(0, 255, (FRAMES, H, W, 3), np.uint8), FPS)
    train = [
        record("Interaction_T1_1", "AB12C", 0.25, 1.75),
        record("Sequence_T2_5", "CD34E", 0.5, 1.5),
        record("Prediction_T3_9", "AB12C", 0.5, 9.6),  # ends past the 2 s video
        record("Feasibility_T6_12", "ZZ99Z", 0.5, 1.5),  # no such video
        record("Interaction_T1_2", "AB12C", 0.5, 1.5, answer="The sofa."),
        record("Sequence_T1_3", "AB12C", 3.0, 9.0),  # starts after the video ends
        record(
            "Interaction_T2_4",
            "AB12C",
            0.5,
            1.5,
            situations={"000004": {"actions": ["a000"], "bbox": [BOX], "bbox_labels": ["o099"]}},
        ),
    ]
    (root / "STAR_train.json").write_text(json.dumps(train))
    (root / "STAR_val.json").write_text(json.dumps([record("Sequence_T3_7", "CD34E", 0.0, 2.0)]))
    test = [
        record("Interaction_T1_8", "AB12C", 0.25, 1.75, answer=None),
        record("Feasibility_T6_9", "CD34E", 0.5, 1.5, answer=None),
    ]
    del test[1]["situations"]
    (root / "STAR_test.json").write_text(json.dumps(test))
    return root


def spec(annotations: Path, split: str | None = "train") -> SourceSpec:
    """The fixture's folders for an annotation file or folder inside its STAR root."""
    root = annotations if annotations.is_dir() else annotations.parent
    return SourceSpec(
        annotations, root / "Charades_v1_480", split, root / "annotations/STAR_classes"
    )


def rows(s: SourceSpec, **kw) -> tuple[dict[str, Candidate], dict[str, Rejected]]:
    out = list(star.read(s, **kw))
    cands = {c.id: c for c in out if isinstance(c, Candidate)}
    rejects = {r.source: r for r in out if isinstance(r, Rejected)}
    return cands, rejects


def test_own_question_rows(data: Path) -> None:
    cands, rejects = rows(spec(data), templated=False)
    assert set(cands) == {"Interaction_T1_1", "Sequence_T2_5", "Prediction_T3_9"}
    c = cands["Interaction_T1_1"]
    assert (c.task, c.split, c.source_split, c.video) == ("star", "train", "train", "AB12C.mp4")
    assert c.source == "STAR_train.json[0]"
    assert c.question == "Which object was tidied up by the person?"
    assert c.segment == (0.25, 1.75)
    assert c.labels == [{"name": "answer", "type": "sentence", "value": "The clothes."}]
    # Choices ordered by choice_id: ids were 2, 0, 3, 1 in list order.
    assert c.extra["choices"] == [
        "The closet/cabinet.",
        "The blanket.",
        "The clothes.",
        "The table.",
    ]
    assert c.extra["answer_index"] == 2 and c.extra["question_type"] == "Interaction"
    assert cands["Prediction_T3_9"].segment == pytest.approx((0.5, 2.0))  # clamped to the video
    for label in c.labels:
        validate_label(label)


def test_rejects_with_reasons(data: Path) -> None:
    _, rejects = rows(spec(data), templated=False)
    reasons = {k: r.reason for k, r in rejects.items()}
    assert reasons["STAR_train.json[3]"] == "missing video: ZZ99Z.mp4"
    assert rejects["STAR_train.json[3]"].video == "ZZ99Z.mp4"
    assert reasons["STAR_train.json[4]"] == "answer not among choices: 'The sofa.'"
    assert reasons["STAR_train.json[5]"].startswith("end <= start")
    assert reasons["STAR_train.json[6]"] == "unknown class code 'o099' in situation 000004"
    assert len(rejects) == 4


def test_templated_rows(data: Path) -> None:
    cands, _ = rows(spec(data))
    assert {i for i in cands if i.startswith("Interaction_T1_1")} == {
        "Interaction_T1_1",
        *(f"Interaction_T1_1_{s}" for s in ("t", "rt", "tqa", "st", "b")),
    }
    for c in cands.values():
        for label in c.labels:
            validate_label(label)
    # Whole video, frames 4..12 at 8 fps from the fps table = 0.5 s..1.5 s of 2 s.
    rt = cands["Interaction_T1_1_rt"]
    assert (rt.task, rt.segment) == ("star_temporal", None)
    assert rt.labels[0]["value"] == pytest.approx([0.25, 0.75])
    assert cands["Interaction_T1_1_tqa"].labels == rt.labels
    assert "The clothes." in cands["Interaction_T1_1_tqa"].question
    assert cands["Interaction_T1_1_t"].labels[0]["value"] == [
        "hold some clothes",
        "put clothes somewhere",
    ]
    # The first non-person box: clothes at frame 4 = 0.5 s, i.e. 1/6 of the 0.25..1.75 s clip.
    st, b = cands["Interaction_T1_1_st"], cands["Interaction_T1_1_b"]
    assert st.segment == b.segment == (0.25, 1.75)
    assert st.labels == [{"name": "object", "type": "category", "value": "clothes"}]
    assert "[0.25, 0.25, 0.50, 0.75]" in st.question and "0.17" in st.question
    assert b.labels[0]["type"] == "bbox"
    assert b.labels[0]["value"] == pytest.approx([0.25, 0.25, 0.5, 0.75])


def test_fps_falls_back_to_probe_and_boxes_off_frame(data: Path, tmp_path: Path) -> None:
    # CD34E is not in video_fps: its probed 8 fps gives the same times.
    cands, _ = rows(spec(data))
    assert cands["Sequence_T2_5_rt"].labels[0]["value"] == pytest.approx([0.25, 0.75])
    # A table rate of 4 fps doubles every time: frames 4..12 -> 1 s..3 s, clamped to the 2 s video.
    fps_file = data / "annotations" / "STAR_classes" / "video_fps"
    fps_file.write_text(json.dumps({"AB12C.mp4": 4.0}))
    cands, _ = rows(spec(data))
    assert cands["Interaction_T1_1_rt"].labels[0]["value"] == pytest.approx([0.5, 1.0])
    # Boxes drawn on a bigger frame than the file's are not used.
    big = [
        record(
            "Interaction_T1_1",
            "AB12C",
            0.25,
            1.75,
            situations={
                k: {**v, "bbox": [[200.0, 100.0, 300.0, 400.0]] * len(v["bbox"] or [])}
                for k, v in situations().items()
            },
        )
    ]
    path = data / "STAR_val.json"
    path.write_text(json.dumps(big))
    cands, _ = rows(spec(path, split=None))
    assert "Interaction_T1_1_st" not in cands and "Interaction_T1_1_rt" in cands


def test_test_split_without_answers(data: Path) -> None:
    cands, rejects = rows(spec(data, split="test"))
    assert {r.reason for r in rejects.values()} == {"test split: no answer"}
    assert len(rejects) == 2
    # Rows that need no answer are kept; the record without situations has none.
    assert set(cands) == {f"Interaction_T1_8_{s}" for s in ("t", "rt", "st", "b")}
    assert {c.split for c in cands.values()} == {"test"}


def test_splits(data: Path) -> None:
    everything = list(star.read(spec(data, split=None), templated=False))
    val = [c for c in everything if isinstance(c, Candidate) and c.source_split == "val"]
    assert [(c.id, c.split) for c in val] == [("Sequence_T3_7", "test")]
    assert len(everything) == 7 + 1 + 2
    # A file given directly: the split comes from its name.
    cands, _ = rows(spec(data / "STAR_val.json", split=None), templated=False)
    assert [c.source_split for c in cands.values()] == ["val"]
    with pytest.raises(AnnotationError, match="unknown split"):
        list(star.read(spec(data, split="dev")))


def test_not_star_files(data: Path, tmp_path: Path) -> None:
    for name, content in [
        ("kinetics.json", {"abc": {"annotations": {"label": "x"}}}),
        ("other_list.json", [{"youtube_id": "x", "label": "y"}]),
    ]:
        path = tmp_path / name
        path.write_text(json.dumps(content))
        with pytest.raises(AnnotationError, match=name):
            list(star.read(SourceSpec(path, data, "train", data / "annotations/STAR_classes")))
    broken = tmp_path / "STAR_train.json"
    broken.write_text("[{")
    with pytest.raises(AnnotationError, match="STAR_train.json"):
        list(star.read(SourceSpec(broken, data, "train", data / "annotations/STAR_classes")))
    with pytest.raises(AnnotationError, match="class files"):
        list(star.read(SourceSpec(broken, data, "train")))


class Evil:
    def __reduce__(self):
        return (os.system, (f"touch {Evil.marker}",))


def test_fps_pickle_that_runs_code_is_refused(tmp_path: Path) -> None:
    Evil.marker = tmp_path / "ran"
    path = tmp_path / "video_fps"
    path.write_bytes(pickle.dumps({"AB12C.mp4": Evil()}, protocol=3))
    with pytest.raises(AnnotationError, match="refused global"):
        star.read_fps(path)
    assert not Evil.marker.exists()


def test_fps_table_forms(tmp_path: Path) -> None:
    path = tmp_path / "video_fps"
    for data in (
        pickle.dumps({"AB12C.mp4": 29.97}, protocol=0),
        pickle.dumps({"AB12C.mp4": 29.97}, protocol=4),
        b'{"AB12C.mp4": 29.97}',
        b"AB12C.mp4 29.97\n",
    ):
        path.write_bytes(data)
        assert star.read_fps(path) == {"AB12C": 29.97}
    path.write_bytes(pickle.dumps({"AB12C.mp4": "fast"}))
    with pytest.raises(AnnotationError, match="video_fps"):
        star.read_fps(path)


# ------------------------------------------------------------------------------ streamed JSON


def many(n: int) -> list[dict]:
    return [record(f"Interaction_T1_{k}", "AB12C", 0.25, 1.75) for k in range(n)]


def test_annotations_are_streamed_not_loaded(data: Path, monkeypatch) -> None:
    (data / "STAR_train.json").write_text(json.dumps(many(3000)))

    def no_whole_file(*args, **kwargs):
        raise AssertionError("the annotation file must be streamed, not loaded whole")

    monkeypatch.setattr(json, "load", no_whole_file)
    monkeypatch.setattr(json, "loads", no_whole_file)  # video_fps is a pickle: not read as JSON
    cands, rejects = rows(spec(data), templated=False)
    assert len(cands) == 3000 and not rejects
    assert cands["Interaction_T1_2999"].source == "STAR_train.json[2999]"


def test_file_broken_mid_way_keeps_what_came_before(data: Path) -> None:
    text = json.dumps(many(500))
    path = data / "STAR_train.json"
    path.write_text(text[: len(text) // 2])  # a truncated download
    items = star.read(spec(data), templated=False)
    first = next(items)  # before the parser has reached the break
    assert first.id == "Interaction_T1_0"
    got = [first]
    with pytest.raises(
        AnnotationError, match=r"STAR_train\.json: JSON breaks off after (\d+) entries"
    ):
        got.extend(items)
    assert 0 < len(got) < 500
    assert [c.id for c in got] == [f"Interaction_T1_{k}" for k in range(len(got))]
    # Not a list at all, or a list of something else: not a STAR file.
    path.write_text(json.dumps({"Interaction_T1_1": record("Interaction_T1_1", "AB12C", 0, 1)}))
    with pytest.raises(AnnotationError, match=r"not a STAR annotation file: found a JSON object"):
        list(star.read(spec(data)))


def test_numbers_stay_float_not_decimal(data: Path) -> None:
    cands, _ = rows(spec(data))
    c = cands["Interaction_T1_1"]
    assert [type(t) for t in c.segment] == [float, float]
    for suffix in ("rt", "tqa", "b"):
        value = cands[f"Interaction_T1_1_{suffix}"].labels[0]["value"]
        assert [type(v) for v in value] == [float] * len(value), suffix
    # Integer seconds in the file are read as numbers too, and the segment is float seconds.
    (data / "STAR_val.json").write_text(json.dumps([record("Sequence_T3_7", "CD34E", 0, 1)]))
    cands, _ = rows(spec(data / "STAR_val.json", split=None), templated=False)
    assert [type(t) for t in cands["Sequence_T3_7"].segment] == [float, float]


# ------------------------------------------------------------------ descriptions, vocabulary


def test_descriptions_cover_every_task(data: Path) -> None:
    tasks = {c.task for c in rows(spec(data))[0].values()}
    assert tasks == {"star", "star_actions", "star_temporal", "star_object", "star_box"}
    assert set(star.DESCRIPTIONS) == tasks
    assert all(d.strip() for d in star.DESCRIPTIONS.values())


def test_vocabulary_from_the_class_files(data: Path, tmp_path: Path) -> None:
    # Object names but the person (never asked, and a rival in every answer mentioning them).
    expected = {"star_object": {"object": ["closet/cabinet", "clothes", "table"]}}
    assert star.vocabulary(spec(data)) == expected
    found = SourceSpec(data, data / "Charades_v1_480", "train")  # class folder found, not given
    assert star.vocabulary(found) == expected
    objects = {
        c.labels[0]["value"] for c in rows(spec(data))[0].values() if c.task == "star_object"
    }
    assert objects and objects <= set(expected["star_object"]["object"])
    # No class files anywhere: nothing declared, and no error.
    bare = tmp_path / "bare"
    bare.mkdir()
    (bare / "STAR_train.json").write_text("[]")
    assert star.vocabulary(SourceSpec(bare, bare, "train")) == {}
