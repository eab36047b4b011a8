"""Kinetics adapter: synthetic fixtures in the real on-disk formats (../shared/datasets.md §1.7)."""

from __future__ import annotations

import inspect
import json
import os
from pathlib import Path

import pytest

from videostar.data import jsonstream, kinetics
from videostar.data.kinetics import classes, clip_name, parse_clip_name, read
from videostar.data.source import AnnotationError, Candidate, Rejected, SourceSpec

HEADER5 = "label,youtube_id,time_start,time_end,split\n"
HEADER6 = "label,youtube_id,time_start,time_end,split,is_cc\n"

TRAIN_CSV = HEADER5 + (
    "abseiling,-aB3_xY9zQ0,59,69,train\n"
    "air drumming,__Zz9yX8wV7,0,10,train\n"
    "massaging person's head,q1W2e3R4t5Y,1989,1999,train\n"
    "passing American football (in game),Ab-Cd_Ef-Gh,12,22,train\n"
    "abseiling,Mm1_Nn2-Oo3,5,15,train\n"  # line 6: no file on disk (downloads are incomplete)
    "abseiling,Bad0Times00,20,10,train\n"  # line 7: end before start
    "abseiling,,3,13,train\n"  # line 8: no youtube id
    "abseiling,-aB3_xY9zQ0,59,69,train\n"  # line 9: duplicate of line 2
    "abseiling,Short1Row00,1\n"  # line 10: too few fields
    "abseiling,NotNumber00,abc,10,train\n"  # line 11
)
VALIDATE_CSV = HEADER5 + "washing feet,--GkrdYZ9Tc,0,10,validate\n"
TEST_CSV = "youtube_id,time_start,time_end,split\nXy0_Zz1-Ab2,7,17,test\n"

# A file of the DeepMind tarball's JSON twin of train.csv; ignored while the CSV is there.
TRAIN_JSON = {
    "-aB3_xY9zQ0": {
        "annotations": {"label": "abseiling", "segment": [59.0, 69.0]},
        "duration": 10.0,
        "subset": "train",
        "url": "https://www.youtube.com/watch?v=-aB3_xY9zQ0",
    }
}


def touch(path: Path, data: bytes = b"\0placeholder") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture
def deepmind(tmp_path):
    """kinetics700_2020/{train,validate,test}.{csv,json} + per-label folders under 3 renamings."""
    ann = tmp_path / "kinetics700_2020"
    write(ann / "train.csv", TRAIN_CSV)
    write(ann / "validate.csv", VALIDATE_CSV)
    write(ann / "test.csv", TEST_CSV)
    write(ann / "train.json", json.dumps(TRAIN_JSON))
    write(ann / "readme.txt", "not an annotation file")
    videos = tmp_path / "k700-2020"
    touch(videos / "train/abseiling/-aB3_xY9zQ0_000059_000069.mp4")  # raw label
    touch(videos / "train/air drumming/__Zz9yX8wV7_000000_000010.mp4")  # raw, with a space
    touch(videos / "train/massaging_persons_head/q1W2e3R4t5Y_001989_001999.mkv")  # torchvision
    touch(videos / "train/passing_American_football_(in_game)/Ab-Cd_Ef-Gh_000012_000022.webm")
    touch(videos / "train/abseiling/Mm1_Nn2-Oo3_000005_000015.mp4.part")  # unfinished download
    touch(videos / "val/washing_feet/--GkrdYZ9Tc_000000_000010.mp4")  # mmaction rename
    touch(videos / "test/Xy0_Zz1-Ab2_000007_000017.mp4")  # flat
    return ann, videos


def by_source(items):
    return {item.source: item for item in items}


def test_reader_is_lazy(tmp_path):
    items = read(SourceSpec(tmp_path / "nowhere", tmp_path))
    assert inspect.isgenerator(items)  # nothing read yet: the missing folder raises on first use
    with pytest.raises(AnnotationError, match="nowhere"):
        next(items)


def test_clip_names_with_dashes_and_underscores():
    assert clip_name("-aB3_xY9zQ0", 59, 69) == "-aB3_xY9zQ0_000059_000069"
    assert parse_clip_name("__NrybzYzUg_000415_000425") == ("__NrybzYzUg", 415, 425)
    assert parse_clip_name("a_b_c_1_2") == ("a_b_c", 1, 2)
    assert parse_clip_name("no-times") is None


def test_deepmind_folder_all_splits(deepmind):
    ann, videos = deepmind
    items = by_source(read(SourceSpec(ann, videos)))
    assert not any(s.startswith("train.json") for s in items)  # the CSV twin is read instead

    abseil = items["train.csv:2"]
    assert abseil == Candidate(
        id="-aB3_xY9zQ0_000059_000069",
        source="train.csv:2",
        video="train/abseiling/-aB3_xY9zQ0_000059_000069.mp4",
        split="train",
        source_split="train",
        task="kinetics",
        labels=[{"name": "action", "type": "category", "value": "abseiling"}],
        extra={"youtube_id": "-aB3_xY9zQ0", "time_start": 59, "time_end": 69},
    )
    assert abseil.segment is None
    # The label is the CSV's, whatever the folder is called.
    expected = {
        "train.csv:3": ("air drumming", "train/air drumming/__Zz9yX8wV7_000000_000010.mp4"),
        "train.csv:4": (
            "massaging person's head",
            "train/massaging_persons_head/q1W2e3R4t5Y_001989_001999.mkv",
        ),
        "train.csv:5": (
            "passing American football (in game)",
            "train/passing_American_football_(in_game)/Ab-Cd_Ef-Gh_000012_000022.webm",
        ),
        "validate.csv:2": ("washing feet", "val/washing_feet/--GkrdYZ9Tc_000000_000010.mp4"),
    }
    for source, (label, video) in expected.items():
        item = items[source]
        assert isinstance(item, Candidate), item
        assert (item.labels[0]["value"], item.video) == (label, video)

    val = items["validate.csv:2"]
    assert (val.split, val.source_split) == ("test", "validate")

    reasons = {s: i.reason for s, i in items.items() if isinstance(i, Rejected)}
    assert reasons == {
        "train.csv:6": f"missing file: no video Mm1_Nn2-Oo3_000005_000015.* under {videos}",
        "train.csv:7": "bad times: time_end 10 is not after time_start 20",
        "train.csv:8": "missing youtube_id",
        "train.csv:9": "duplicate clip -aB3_xY9zQ0_000059_000069: same key as an earlier record",
        "train.csv:10": ("expected 5 fields (label,youtube_id,time_start,time_end,split), got 3"),
        "train.csv:11": "bad time_start 'abc': not a number",
        "test.csv:2": "no label (test split without answers)",
    }
    # Splits in order: train, then validate, then test.
    assert [s.split(":")[0] for s in items] == ["train.csv"] * 10 + ["validate.csv", "test.csv"]


@pytest.mark.parametrize("split", ["val", "validate", "VAL"])
def test_split_selection_val_or_validate(deepmind, split):
    ann, videos = deepmind
    items = list(read(SourceSpec(ann, videos, split=split)))
    assert [i.source for i in items] == ["validate.csv:2"]


def test_cvdf_legacy_quoted_six_columns(tmp_path):
    ann = write(
        tmp_path / "annotations/val.csv",
        HEADER6 + '"air drumming",__Zz9yX8wV7,0,10,val,0\n'
        "abseiling,-aB3_xY9zQ0,59,69,val,1\n"
        '"massaging person\'s head",-huT_p-r_zA,1989,1999,val,0\n',
    )
    videos = tmp_path / "videos"  # flat folder
    for clip in [
        "__Zz9yX8wV7_000000_000010",
        "-aB3_xY9zQ0_000059_000069",
        "-huT_p-r_zA_001989_001999",
    ]:
        touch(videos / f"{clip}.mp4")
    items = list(read(SourceSpec(ann.parent, videos)))
    assert all(isinstance(i, Candidate) for i in items)
    assert [i.labels[0]["value"] for i in items] == [
        "air drumming",
        "abseiling",
        "massaging person's head",
    ]
    assert [i.video for i in items] == [
        "__Zz9yX8wV7_000000_000010.mp4",
        "-aB3_xY9zQ0_000059_000069.mp4",
        "-huT_p-r_zA_001989_001999.mp4",
    ]
    assert {(i.split, i.source_split) for i in items} == {("test", "val")}


def test_single_file_legacy_name_and_empty_test_label(tmp_path):
    ann = write(
        tmp_path / "kinetics-600_test.csv", HEADER5 + ",Xy0_Zz1-Ab2,7,17,test\n\n"
    )  # trailing blank line: not a record
    touch(tmp_path / "v/test/Xy0_Zz1-Ab2_000007_000017.mp4")
    items = list(read(SourceSpec(ann, tmp_path / "v")))
    assert items == [Rejected("kinetics-600_test.csv:2", "no label (test split without answers)")]


def test_json_file(tmp_path):
    data = {
        "-aB3_xY9zQ0": {
            "annotations": {"label": "abseiling", "segment": [59.0, 69.0]},
            "duration": 10.0,
            "subset": "validate",
            "url": "https://www.youtube.com/watch?v=-aB3_xY9zQ0",
        },
        "Xy0_Zz1-Ab2": {"annotations": {"label": "", "segment": [7.0, 17.0]}, "subset": "test"},
        "Half_Second": {"annotations": {"label": "abseiling", "segment": [1.5, 11.0]}},
        "NoSegment00": {"annotations": {"label": "abseiling"}},
    }
    ann = write(tmp_path / "validate.json", json.dumps(data))
    touch(tmp_path / "v/abseiling/-aB3_xY9zQ0_000059_000069.mp4")
    items = by_source(read(SourceSpec(ann, tmp_path / "v")))
    good = items["validate.json:-aB3_xY9zQ0"]
    assert (good.id, good.video, good.split, good.source_split) == (
        "-aB3_xY9zQ0_000059_000069",
        "abseiling/-aB3_xY9zQ0_000059_000069.mp4",
        "test",
        "validate",
    )
    assert items["validate.json:Xy0_Zz1-Ab2"].reason == "no label"  # a validate row, not test
    assert items["validate.json:Half_Second"].reason == (
        "bad time_start 1.5: not a whole number of seconds"
    )
    assert items["validate.json:NoSegment00"].reason.startswith("bad segment None")


def test_test_json_without_labels_in_a_folder(tmp_path):
    data = {"Xy0_Zz1-Ab2": {"annotations": {"label": None, "segment": [7.0, 17.0]}}}
    write(tmp_path / "ann/test.json", json.dumps(data))
    (tmp_path / "v").mkdir()
    items = list(read(SourceSpec(tmp_path / "ann", tmp_path / "v", split="test")))
    assert items == [Rejected("test.json:Xy0_Zz1-Ab2", "no label (test split without answers)")]


def test_split_from_the_row_when_the_file_name_has_none(tmp_path):
    ann = write(tmp_path / "clips.csv", HEADER5 + "abseiling,-aB3_xY9zQ0,59,69,train\n")
    touch(tmp_path / "v/-aB3_xY9zQ0_000059_000069.mp4")
    (item,) = read(SourceSpec(ann, tmp_path / "v"))
    assert (item.split, item.source_split) == ("train", "train")
    # --split names it when given (the column is not trusted over it).
    (item,) = read(SourceSpec(ann, tmp_path / "v", split="val"))
    assert (item.split, item.source_split) == ("test", "val")


def test_not_kinetics_files_raise(tmp_path):
    (tmp_path / "v").mkdir()
    other = write(tmp_path / "train.csv", "id,video,caption\n1,a.mp4,hello\n")
    with pytest.raises(AnnotationError, match=r"train\.csv.*youtube_id.*expected label,youtube_id"):
        list(read(SourceSpec(other, tmp_path / "v")))
    star = write(tmp_path / "j/train.json", json.dumps([{"question_id": "q1"}]))
    with pytest.raises(AnnotationError, match=r"train\.json.*annotations"):
        list(read(SourceSpec(star, tmp_path / "v")))
    with pytest.raises(AnnotationError, match="no Kinetics annotation file for split 'test'"):
        list(read(SourceSpec(tmp_path / "j", tmp_path / "v", split="test")))
    with pytest.raises(AnnotationError, match="holds the 'train' split"):
        list(read(SourceSpec(other, tmp_path / "v", split="test")))


def test_bad_file_fails_before_any_row(deepmind):
    ann, videos = deepmind
    write(ann / "test.csv", "something,else\n1,2\n")
    items = read(SourceSpec(ann, videos))
    with pytest.raises(AnnotationError, match="test.csv"):
        next(items)  # train.csv is fine, but nothing is yielded before the bad header is found


def test_video_folder_walked_once(deepmind, monkeypatch):
    ann, videos = deepmind
    tops = []
    real_walk = os.walk

    def spy(top, *args, **kwargs):
        tops.append(top)
        return real_walk(top, *args, **kwargs)

    monkeypatch.setattr(kinetics.os, "walk", spy)
    list(read(SourceSpec(ann, videos)))
    assert [Path(t) for t in tops if Path(t) == videos] == [videos]


def test_symlinks_followed_and_duplicates_resolved(tmp_path):
    ann = write(
        tmp_path / "train.csv",
        HEADER5 + "air drumming,__Zz9yX8wV7,0,10,train\nabseiling,-aB3_xY9zQ0,59,69,train\n",
    )
    store = tmp_path / "store"
    touch(store / "__Zz9yX8wV7_000000_000010.mp4")
    videos = tmp_path / "videos"
    (videos / "train").mkdir(parents=True)
    (videos / "train/air_drumming").symlink_to(store, target_is_directory=True)
    (videos / "train/loop").symlink_to(videos, target_is_directory=True)  # must not hang
    # The same clip twice: the copy in its label's folder wins over a stray one.
    touch(videos / "train/aaa_misc/-aB3_xY9zQ0_000059_000069.mp4")
    touch(videos / "train/abseiling/-aB3_xY9zQ0_000059_000069.mp4")
    drum, abseil = read(SourceSpec(ann, videos))
    assert drum.video == "train/air_drumming/__Zz9yX8wV7_000000_000010.mp4"
    assert abseil.video == "train/abseiling/-aB3_xY9zQ0_000059_000069.mp4"


def test_classes_from_annotations_and_label_map(deepmind, tmp_path):
    ann, videos = deepmind
    assert classes(SourceSpec(ann, videos)) == sorted(
        [
            "abseiling",
            "air drumming",
            "massaging person's head",
            "passing American football (in game)",
            "washing feet",
        ]
    )
    label_map = write(tmp_path / "label_map_k700.txt", "abseiling\nair drumming\n\nwashing feet\n")
    spec = SourceSpec(ann, videos, classes=label_map)
    assert classes(spec) == ["abseiling", "air drumming", "washing feet"]
    items = by_source(read(spec))
    assert items["train.csv:2"].labels[0]["value"] == "abseiling"
    assert items["train.csv:4"].reason == (
        'label "massaging person\'s head" is not in the class list'
    )


# ------------------------------------------------------------------------------ streamed JSON


def json_entry(start: float = 0.0) -> dict:
    return {
        "annotations": {"label": "abseiling", "segment": [start, start + 10.0]},
        "subset": "train",
    }


def ids(n: int) -> list[str]:
    return [f"Id{k:09d}" for k in range(n)]


def test_json_is_streamed_not_loaded(tmp_path, monkeypatch):
    data = {i: json_entry() for i in ids(5000)}
    ann = write(tmp_path / "train.json", json.dumps(data))
    touch(tmp_path / "v/abseiling/Id000000000_000000_000010.mp4")

    def no_whole_file(*args, **kwargs):
        raise AssertionError("the annotation file must be streamed, not loaded whole")

    monkeypatch.setattr(json, "load", no_whole_file)
    monkeypatch.setattr(json, "loads", no_whole_file)
    items = list(read(SourceSpec(ann, tmp_path / "v")))
    assert len(items) == 5000
    assert isinstance(items[0], Candidate) and items[0].extra["time_start"] == 0
    assert {i.reason.split(":")[0] for i in items[1:]} == {"missing file"}


def test_json_broken_mid_file_keeps_what_came_before(tmp_path):
    text = json.dumps({i: json_entry() for i in ids(3000)})
    ann = write(tmp_path / "train.json", text[: len(text) - 40])  # a truncated download
    (tmp_path / "v").mkdir()
    items = read(SourceSpec(ann, tmp_path / "v"))
    first = next(items)  # before the parser has reached the break at the end
    assert first.source == "train.json:Id000000000"
    got = [first]
    with pytest.raises(AnnotationError, match=r"train\.json: JSON breaks off after 2999 entries"):
        got.extend(items)
    assert len(got) == 2999
    # The error places the break in the file.
    with pytest.raises(AnnotationError, match=rf"at byte {len(text) - 40}\b"):
        list(read(SourceSpec(ann, tmp_path / "v")))


def test_json_numbers_are_int_or_float_never_decimal(tmp_path):
    path = write(
        tmp_path / "x.json", '\ufeff{"a": {"annotations": {"segment": [59.0, 69], "x": 1.5}}}'
    )
    ((key, value),) = jsonstream.entries(path, "object", "x", "y", fits=lambda v: True)
    assert key == "a"
    segment = value["annotations"]["segment"]
    assert [type(v) for v in segment] == [float, int] and type(value["annotations"]["x"]) is float


def test_json_first_entries_decide_the_kind_of_file(tmp_path):
    # A malformed first entry in a real file is a reject, as before; no record at all is an error.
    data = {"BadRecord00": {"label": "x"}, "-aB3_xY9zQ0": json_entry(59.0)}
    ann = write(tmp_path / "train.json", "\ufeff" + json.dumps(data))  # a BOM is fine
    (tmp_path / "v").mkdir()
    items = by_source(read(SourceSpec(ann, tmp_path / "v")))
    assert items["train.json:BadRecord00"].reason.startswith("not a Kinetics record")
    assert items["train.json:-aB3_xY9zQ0"].reason.startswith("missing file")
    other = write(
        tmp_path / "o/train.json", json.dumps({f"k{n}": {"label": "x"} for n in range(150)})
    )
    with pytest.raises(AnnotationError, match=r"none of its first 100 entries is a record"):
        list(read(SourceSpec(other, tmp_path / "v")))
    for text, found in [("", "an empty file"), ("42", "no JSON list or object")]:
        bad = write(tmp_path / "b/train.json", text)
        with pytest.raises(AnnotationError, match=rf"train\.json: not a Kinetics .*found {found}"):
            list(read(SourceSpec(bad, tmp_path / "v")))


# ------------------------------------------------------------------ descriptions, vocabulary


def test_descriptions_and_vocabulary(deepmind, tmp_path):
    ann, videos = deepmind
    spec = SourceSpec(ann, videos)
    assert {i.task for i in read(spec) if isinstance(i, Candidate)} <= set(kinetics.DESCRIPTIONS)
    assert kinetics.DESCRIPTIONS["kinetics"] == "human action recognition"
    assert kinetics.vocabulary(spec) == {}  # nothing declared: the prepare core collects labels
    label_map = write(tmp_path / "label_map_k700.txt", "air drumming\nabseiling\n\nwashing feet\n")
    assert kinetics.vocabulary(SourceSpec(ann, videos, classes=label_map)) == {
        "kinetics": {"action": ["abseiling", "air drumming", "washing feet"]}
    }
