"""Conformance table of the label verifier (videostar/labels): each type's pass/fail edges.

    .venv/bin/python -m pytest tests/test_labels.py -q

Non-embedding types run without any model; sentence and sequence cases use the real offline
all-MiniLM-L6-v2 (loaded once for the module) and a fake embedder for exact-threshold edges.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np
import pytest

import videostar.labels.verifier as labels_mod
from videostar.core.config import ConfigError, from_dict
from videostar.core.records import dumps
from videostar.labels import (
    LABEL_TYPES,
    REGISTRY,
    LabelType,
    NumberConfig,
    Sample,
    SentenceConfig,
    SequenceConfig,
    Verdict,
    Verifier,
    VerifyConfig,
    passed,
    register,
    render_answer,
    render_hint,
    validate_label,
)
from videostar.labels.registry import compose_config, verdict
from videostar.labels.text import Text


def _no_embedder(strings: list[str]) -> np.ndarray:
    raise AssertionError(f"no embedding expected for these labels, asked for {strings!r}")


def cat(value: str, **extra: object) -> dict:
    return {"type": "category", "value": value, **extra}


def num(value: float, name: str | None = None) -> dict:
    return {"type": "number", "value": value, **({"name": name} if name else {})}


def span(start: float, end: float) -> dict:
    return {"type": "temporal_range", "value": [start, end]}


def box(*xyxy: float) -> dict:
    return {"type": "bbox", "value": list(xyxy)}


def ts(value: float) -> dict:
    return {"type": "timestamp", "value": value}


def seq(*items: str, **extra: object) -> dict:
    return {"name": "route", "type": "sequence", "value": list(items), **extra}


LEFT_RIGHT = ["left", "right", "up", "down"]
WORDS = {"sequence": {"match": "words", "exclusive": False}}
WORDS_EXCLUSIVE = {"sequence": {"match": "words", "exclusive": True}}
# The paper's sequence rule; the project default (params.yaml) is exclusive "words" mode.
PAPER_SEQUENCE = {
    "category": {"exclusive": True},
    "sequence": {"match": "embedding", "exclusive": False},
}

# (text, labels, verify kwargs, config overrides, expected ok per label)
TABLE = [
    # ---- category
    pytest.param("The answer is left.", [cat("left")], {}, {}, [True], id="cat-exact"),
    pytest.param("the ball moves down", [cat("up")], {}, {}, [False], id="cat-short-word-absent"),
    pytest.param("the ball moves up", [cat("up")], {}, {}, [True], id="cat-short-word-present"),
    pytest.param(
        "he drinks from a cup", [cat("up")], {}, {}, [False], id="cat-short-word-not-fuzzy"
    ),
    pytest.param(
        "He is playing American football in a game.",
        [cat("playing american football (in game)")],
        {},
        {},
        [True],
        id="cat-punctuation-stopwords",
    ),
    pytest.param(
        "He is playing soccer in a game.",
        [cat("playing american football (in game)")],
        {},
        {},
        [False],
        id="cat-missing-word",
    ),
    pytest.param(
        "hallo",
        [cat("hello")],
        {},
        {"category": {"threshold": 80}},
        [True],
        id="cat-ratio-80-at-80",
    ),
    pytest.param(
        "hallo",
        [cat("hello")],
        {},
        {"category": {"threshold": 80.01}},
        [False],
        id="cat-ratio-80-above",
    ),
    pytest.param(
        "a footbal match",
        [cat("football")],
        {},
        {"category": {"threshold": 85}},
        [True],
        id="cat-typo",
    ),
    pytest.param("", [cat("left")], {}, {}, [False], id="cat-empty-text"),
    pytest.param(
        "It moves left and then right.",
        [cat("left", classes=LEFT_RIGHT)],
        {},
        {"category": {"exclusive": False}},
        [True],
        id="cat-two-classes-lenient",
    ),
    pytest.param(
        "It moves left and then right.",
        [cat("left", classes=LEFT_RIGHT)],
        {},
        {"category": {"exclusive": True}},
        [False],
        id="cat-two-classes-exclusive",
    ),
    pytest.param(
        "It moves to the left.",
        [cat("left", classes=LEFT_RIGHT)],
        {},
        {"category": {"exclusive": True}},
        [True],
        id="cat-one-class-exclusive",
    ),
    pytest.param(
        "She is dancing ballet on stage.",
        [cat("dancing ballet", classes=["dancing", "dancing ballet", "tap dancing"])],
        {},
        {"category": {"exclusive": True}},
        [True],
        id="cat-exclusive-implied-class-is-no-rival",
    ),
    # ---- sequence, "words" mode (no embeddings; "embedding" mode is tested with the model below)
    pytest.param(
        "The ball moves left, then up.", [seq("left", "up")], {}, WORDS, [True], id="seqw-in-order"
    ),
    pytest.param(
        "The ball moves up, then left.",
        [seq("left", "up")],
        {},
        WORDS,
        [False],
        id="seqw-wrong-order",
    ),
    pytest.param(
        "the answer is right, then down",
        [seq("left", "up")],
        {},
        WORDS,
        [False],
        id="seqw-wrong-direction",
    ),
    pytest.param(
        "The ball moves left, then up.",
        [seq("left", "down")],
        {},
        WORDS,
        [False],
        id="seqw-one-wrong-direction",
    ),
    pytest.param(
        "It goes left and lands in a cup.",
        [seq("left", "up")],
        {},
        WORDS,
        [False],
        id="seqw-short-word-not-fuzzy",
    ),
    pytest.param(
        "It goes left, then it goes up into a cup.",
        [seq("left", "up")],
        {},
        WORDS,
        [True],
        id="seqw-short-word-exact",
    ),
    pytest.param(
        "First left, then up, then left again.",
        [seq("left", "up", "left")],
        {},
        WORDS,
        [True],
        id="seqw-repeated-item",
    ),
    pytest.param(
        "It moves up.",
        [seq("up", "up")],
        {},
        WORDS,
        [True],
        id="seqw-equal-neighbours-may-share-a-word",  # non-decreasing, as the paper's rule
    ),
    pytest.param(
        "First left, then up.",
        [seq("left", "up", "left")],
        {},
        WORDS,
        [False],
        id="seqw-repeated-item-missing",
    ),
    pytest.param(
        "The diver takes off forwrd, does 2.5 somersaults in pike, then the entry.",
        [seq("forward", "2.5 somersaults pike", "entry")],
        {},
        WORDS,
        [True],
        id="seqw-multi-word-items-and-typo",
    ),
    pytest.param(
        "The diver does 2.5 somersaults in pike, then the entry, taking off forward.",
        [seq("forward", "2.5 somersaults pike", "entry")],
        {},
        WORDS,
        [False],
        id="seqw-multi-word-items-wrong-order",
    ),
    pytest.param(
        "left then up",
        [seq("left", "up")],
        {},
        {**WORDS, "category": {"threshold": 100}},
        [True],
        id="seqw-uses-category-threshold",
    ),
    pytest.param("", [seq("left", "up")], {}, WORDS, [False], id="seqw-empty-text"),
    pytest.param(
        "It moves left, right, up, down.",
        [seq("left", "up", classes=LEFT_RIGHT)],
        {},
        WORDS,
        [True],
        id="seqw-all-classes-lenient",
    ),
    pytest.param(
        "It moves left, right, up, down.",
        [seq("left", "up", classes=LEFT_RIGHT)],
        {},
        WORDS_EXCLUSIVE,
        [False],
        id="seqw-all-classes-exclusive",
    ),
    pytest.param(
        "It moves left, then up, then left again.",
        [seq("left", "up", classes=LEFT_RIGHT)],
        {},
        WORDS_EXCLUSIVE,
        [True],
        id="seqw-only-gold-classes-exclusive",
    ),
    pytest.param(
        "It moves left, right, up, down.",
        [seq("left", "up")],
        {},
        WORDS_EXCLUSIVE,
        [True],
        id="seqw-exclusive-without-classes",
    ),
    # ---- number
    pytest.param("I saw 3 balls, the answer is 5", [num(3)], {}, {}, [False], id="num-answer-mode"),
    pytest.param(
        "I saw 3 balls, the answer is 5",
        [num(3)],
        {},
        {"number": {"mode": "any"}},
        [True],
        id="num-any-mode",
    ),
    pytest.param("The answer is 110.", [num(100)], {}, {}, [True], id="num-rel-10pct-exact"),
    pytest.param("The answer is 90.", [num(100)], {}, {}, [True], id="num-rel-10pct-below"),
    pytest.param("The answer is 110.1.", [num(100)], {}, {}, [False], id="num-rel-over-10pct"),
    pytest.param("The answer is 72.16.", [num(65.6)], {}, {}, [True], id="num-rel-10pct-decimal"),
    pytest.param(
        "The answer is 104.", [num(100)], {}, {"number": {"rel_tol": 0.05}}, [True], id="num-5pct"
    ),
    pytest.param("The total is 1,234.5 points.", [num(1234.5)], {}, {}, [True], id="num-thousands"),
    pytest.param("The answer is -3.", [num(-3)], {}, {}, [True], id="num-negative"),
    pytest.param("The answer is +2.5", [num(2.5)], {}, {}, [True], id="num-plus-sign"),
    pytest.param("The answer is two.", [num(2)], {}, {}, [True], id="num-word"),
    pytest.param("score = 3.2 * 20.5 = 65.6", [num(65.6)], {}, {}, [True], id="num-equals-cue"),
    pytest.param(
        "The final score of 65.6 comes from a difficulty of 3.2.",
        [num(65.6, "final_score")],
        {},
        {},
        [True],
        id="num-score-of-cue",
    ),
    pytest.param(
        "difficulty: 3.2. final score: 65.6",
        [num(3.2, "difficulty"), num(65.6, "final_score")],
        {},
        {},
        [True, True],
        id="num-name-anchors",
    ),
    pytest.param(
        "There are 4 people and one dog.",
        [num(4)],
        {},
        {},
        [True],
        id="num-fallback-prefers-numeral",
    ),
    pytest.param("The answer is 0.", [num(0)], {}, {}, [True], id="num-zero"),
    pytest.param("The answer is 0.1.", [num(0)], {}, {}, [True], id="num-zero-abs-tol-edge"),
    pytest.param("The answer is 0.2.", [num(0)], {}, {}, [False], id="num-zero-abs-tol-over"),
    pytest.param("I have no idea.", [num(3)], {}, {}, [False], id="num-none"),
    pytest.param("The answer is NaN, or inf.", [num(3)], {}, {}, [False], id="num-nan-text"),
    # ---- temporal range
    pytest.param(
        "from 2.5s to 4s", [span(0.25, 0.4)], {"duration": 10}, {}, [True], id="tr-seconds-units"
    ),
    pytest.param(
        "from 2.5 to 4 seconds",
        [span(0.25, 0.4)],
        {"duration": 10},
        {},
        [True],
        id="tr-trailing-unit",
    ),
    pytest.param(
        "from 2.5s to 4s", [span(0.25, 0.4)], {}, {}, [False], id="tr-seconds-no-duration"
    ),
    pytest.param("between 0.20 and 0.45", [span(0.2, 0.45)], {}, {}, [True], id="tr-between"),
    pytest.param(
        "It happens in [0.20, 0.45].", [span(0.2, 0.45)], {}, {}, [True], id="tr-brackets"
    ),
    pytest.param("It happens in (0.45, 0.2).", [span(0.2, 0.45)], {}, {}, [True], id="tr-reversed"),
    pytest.param("It happens at 0.20-0.45.", [span(0.2, 0.45)], {}, {}, [True], id="tr-dash"),
    pytest.param("00:02 to 00:04", [span(0.2, 0.4)], {"duration": 10}, {}, [True], id="tr-mmss"),
    pytest.param(
        "It happens from <2.0 seconds> to <4.0 seconds>.",
        [span(0.2, 0.4)],
        {"duration": 10},
        {},
        [True],
        id="tr-qwen3-angle-brackets",
    ),
    pytest.param(
        "between <2.0 seconds> and <4.0 seconds>",
        [span(0.2, 0.4)],
        {"duration": 10},
        {},
        [True],
        id="tr-qwen3-between",
    ),
    pytest.param(
        "0:00:30 to 0:01:00", [span(0.25, 0.5)], {"duration": 120}, {}, [True], id="tr-hmmss"
    ),
    pytest.param(
        "from 2 to 5", [span(0.2, 0.5)], {"duration": 10}, {}, [True], id="tr-unitless-seconds"
    ),
    pytest.param("from 2 to 5", [span(0.2, 0.5)], {}, {}, [False], id="tr-unitless-no-duration"),
    pytest.param("from 0 to 0.25", [span(0, 0.5)], {}, {}, [False], id="tr-iou-exactly-half"),
    pytest.param("from 0 to 0.3", [span(0, 0.5)], {}, {}, [True], id="tr-iou-over-half"),
    pytest.param(
        "Not from 0.6 to 0.9 but from 0.1 to 0.3.",
        [span(0.1, 0.3)],
        {},
        {},
        [True],
        id="tr-last-span",
    ),
    pytest.param("from nan to inf", [span(0.1, 0.3)], {}, {}, [False], id="tr-nan"),
    pytest.param("no time given", [span(0.1, 0.3)], {}, {}, [False], id="tr-none"),
    # ---- bbox
    pytest.param(
        "It is at [0.10, 0.20, 0.50, 0.60].",
        [box(0.1, 0.2, 0.5, 0.6)],
        {},
        {},
        [True],
        id="bb-fractions",
    ),
    pytest.param(
        "It is at [32, 48, 160, 144].",
        [box(0.1, 0.2, 0.5, 0.6)],
        {"frame_size": (320, 240)},
        {},
        [True],
        id="bb-pixels",
    ),
    pytest.param(
        "It is at [32, 48, 160, 144].",
        [box(0.1, 0.2, 0.5, 0.6)],
        {},
        {},
        [False],
        id="bb-pixels-no-size",
    ),
    pytest.param(
        "It is at (0.5, 0.6, 0.1, 0.2).",
        [box(0.1, 0.2, 0.5, 0.6)],
        {},
        {},
        [True],
        id="bb-reversed",
    ),
    pytest.param(
        "It is at [0.1, 0.2, 0.1, 0.6].",
        [box(0.1, 0.2, 0.5, 0.6)],
        {},
        {},
        [False],
        id="bb-zero-area",
    ),
    pytest.param(
        "The cup is at <|box_start|>(100,200),(500,600)<|box_end|>.",
        [box(0.1, 0.2, 0.5, 0.6)],
        {},
        {"bbox": {"coordinates": "thousandths"}},
        [True],
        id="bb-qwen2-vl-corner-pair-thousandths",
    ),
    pytest.param(
        "(100, 200) to (500, 600)",
        [box(0.1, 0.2, 0.5, 0.6)],
        {"frame_size": [1000, 1000]},
        {},
        [True],
        id="bb-corner-pair-pixels",
    ),
    pytest.param(
        '{"bbox_2d": [64, 96, 320, 288]}',
        [box(0.1, 0.2, 0.5, 0.6)],
        {"frame_size": [640, 480]},
        {},
        [True],
        id="bb-qwen2-5-vl-absolute-pixels",
    ),
    pytest.param(
        "[0.1, 0.2, 0.5, 0.6]",
        [box(0.1, 0.2, 0.5, 0.6)],
        {},
        {"bbox": {"coordinates": "thousandths"}},
        [False],
        id="bb-thousandths-refuses-fractions",
    ),
    pytest.param("[0, 0, 0.25, 1]", [box(0, 0, 0.5, 1)], {}, {}, [False], id="bb-iou-exactly-half"),
    pytest.param("[0, 0, 0.3, 1]", [box(0, 0, 0.5, 1)], {}, {}, [True], id="bb-iou-over-half"),
    pytest.param(
        "centre (0.3, 0.4) size (0.4, 0.4): [0.3, 0.4, 0.4, 0.4]",
        [box(0.1, 0.2, 0.5, 0.6)],
        {},
        {},
        [False],
        id="bb-centre-format-is-not-corners",
    ),
    pytest.param(
        "First [0.6, 0.6, 0.9, 0.9], finally [0.1, 0.2, 0.5, 0.6]",
        [box(0.1, 0.2, 0.5, 0.6)],
        {},
        {},
        [True],
        id="bb-last-box",
    ),
    # ---- timestamp
    pytest.param("It happens at 0.3 of the clip.", [ts(0.3)], {}, {}, [True], id="ts-fraction"),
    pytest.param("It happens at 0.4.", [ts(0.3)], {}, {}, [True], id="ts-abs-tol-edge"),
    pytest.param("It happens at 0.41.", [ts(0.3)], {}, {}, [False], id="ts-over-tol"),
    pytest.param(
        "It happens at <3.0 seconds>.", [ts(0.3)], {"duration": 10}, {}, [True], id="ts-qwen3"
    ),
    pytest.param(
        "It happens at 3 seconds.", [ts(0.3)], {"duration": 10}, {}, [True], id="ts-seconds"
    ),
    pytest.param(
        "It happens at 3 seconds.", [ts(0.3)], {}, {}, [False], id="ts-seconds-no-duration"
    ),
    pytest.param("It happens at 00:03.", [ts(0.3)], {"duration": 10}, {}, [True], id="ts-mmss"),
    pytest.param(
        "It happens at 3.", [ts(0.3)], {"duration": 10}, {}, [True], id="ts-unitless-seconds"
    ),
    # ---- multi-label samples
    pytest.param(
        "The action is playing football and the answer is 7.",
        [cat("playing football"), num(3)],
        {},
        {},
        [True, False],
        id="multi-one-fails",
    ),
    pytest.param(
        "The answer is left, from 0.2 to 0.4, at [0.10, 0.20, 0.50, 0.60].",
        [cat("left"), span(0.2, 0.4), box(0.1, 0.2, 0.5, 0.6)],
        {},
        {},
        [True, True, True],
        id="multi-all-pass",
    ),
]


@pytest.mark.parametrize(("text", "labels", "kwargs", "overrides", "expected"), TABLE)
def test_conformance(text, labels, kwargs, overrides, expected):
    verifier = Verifier(from_dict(VerifyConfig, overrides), embedder=_no_embedder)
    verdicts = verifier.verify(text, labels, **kwargs)
    assert [v.ok for v in verdicts] == expected, verdicts
    assert passed(verdicts) == all(expected)
    for v in verdicts:
        dumps(v.to_dict())  # strict JSON: no NaN anywhere


def test_unit_conversions_are_reported():
    verifier = Verifier(embedder=_no_embedder)
    (v,) = verifier.verify("from 2.5s to 4s", [span(0.25, 0.4)])
    assert v.parsed == {"seconds": [2.5, 4.0]} and v.score is None
    (v,) = verifier.verify("from 2.5s to 4s", [span(0.25, 0.4)], duration=10)
    assert v.parsed == [0.25, 0.4] and v.score == pytest.approx(1.0)
    (v,) = verifier.verify("[32, 48, 160, 144]", [box(0.1, 0.2, 0.5, 0.6)])
    assert v.parsed == {"pixels": [32.0, 48.0, 160.0, 144.0]}
    (v,) = verifier.verify("at 3 s", [ts(0.3)])
    assert v.parsed == {"seconds": 3.0}


def test_verdict_fields():
    verifier = Verifier(embedder=_no_embedder)
    (v,) = verifier.verify("The final score is 70.", [num(65.6, "final_score")])
    assert isinstance(v, Verdict)
    assert v.to_dict() == {
        "name": "final_score",
        "type": "number",
        "ok": True,
        "score": pytest.approx(abs(70 - 65.6) / 65.6),
        "parsed": 70.0,
    }
    (v,) = verifier.verify("left", [cat("left")])
    assert v.name == "category"  # name defaults to the type


def test_passed_needs_labels():
    assert passed([]) is False


def test_sequence_words_verdict_fields():
    cfg = from_dict(VerifyConfig, WORDS_EXCLUSIVE)
    verifier = Verifier(cfg, embedder=_no_embedder)
    (v,) = verifier.verify(
        "Left, then UP, then lefft.", [seq("left", "up", "left", classes=LEFT_RIGHT)]
    )
    assert v.ok and v.score == pytest.approx(100 * 2 * 4 / 9)  # fuzz.ratio("left", "lefft")
    assert v.parsed == {
        "items": [
            {"position": 0, "word": "left"},
            {"position": 2, "word": "up"},
            {"position": 4, "word": "lefft"},
        ],
        "rivals": [],
    }
    (v,) = verifier.verify("up then left", [seq("left", "up")])
    assert not v.ok and v.score == 0.0
    assert v.parsed == {
        "items": [{"position": 2, "word": "left"}, {"position": None, "word": None}]
    }
    (v,) = verifier.verify("left, right, up", [seq("left", "up", classes=LEFT_RIGHT)])
    assert not v.ok and v.score == 100.0 and v.parsed["rivals"] == ["right"]


# ----------------------------------------------------------------------------- validation, config

BAD_LABELS = [
    {"type": "colour", "value": "red"},
    {"type": "category"},
    {"type": "category", "value": "()"},
    {"type": "category", "value": 3},
    {"type": "category", "value": "left", "classes": "left right"},
    {"type": "sentence", "value": []},
    {"type": "sentence", "value": ["ok", ""]},
    {"type": "sequence", "value": "not a list"},
    {"type": "sequence", "value": ["left"], "classes": "left right"},
    {"type": "sequence", "value": ["left"], "classes": ["left", ""]},
    {"type": "temporal_range", "value": [0.5, 0.2]},
    {"type": "temporal_range", "value": [0.2, 1.5]},
    {"type": "temporal_range", "value": [0.2]},
    {"type": "bbox", "value": [0.5, 0.2, 0.1, 0.6]},
    {"type": "bbox", "value": [0.1, 0.2, 0.5]},
    {"type": "bbox", "value": [10, 20, 50, 60]},
    {"type": "bbox", "value": [0.0, 0.0, 0.5, 5e-324]},
    {"type": "number", "value": math.nan},
    {"type": "number", "value": True},
    {"type": "number", "value": "3"},
    {"type": "timestamp", "value": 1.5},
    {"type": "number", "value": 3, "name": ""},
    "category: left",
]


@pytest.mark.parametrize("label", BAD_LABELS, ids=[str(i) for i in range(len(BAD_LABELS))])
def test_bad_gold_labels_raise(label):
    with pytest.raises(ValueError):
        validate_label(label)
    with pytest.raises(ValueError):
        Verifier(embedder=_no_embedder).verify("text", [label])


def test_sequence_classes_are_valid():
    validate_label(seq("left", "up", classes=LEFT_RIGHT))
    validate_label(seq("left", "up", classes=[]))


def test_label_types_registry():
    assert LABEL_TYPES == (
        "category",
        "sentence",
        "sequence",
        "temporal_range",
        "bbox",
        "number",
        "timestamp",
    )


@dataclass(frozen=True)
class _ShadeConfig:
    threshold: float = 0.5


class _Shade(LabelType):
    """A throwaway type: its value must be a word, checked by cosine with the text's sentences."""

    name = "shade"
    config = _ShadeConfig

    def validate(self, value: object) -> None:
        if value not in ("red", "blue"):
            raise ValueError(f"shade value must be red or blue, got {value!r}")

    def to_embed(self, label: dict, text: Text, config: object) -> list[str]:
        return [*text.sentences, label["value"]]

    def check(self, label: dict, sample: Sample, config: object) -> Verdict:
        score = float(sample.similarities([label["value"]], sample.text.sentences).max())
        return verdict(label, score >= config.shade.threshold, score, None)

    def render(self, value: object) -> str:
        return f"{value}ish"


def test_registry_is_the_one_place_that_knows_a_type():
    assert [f.name for f in fields(VerifyConfig)] == list(REGISTRY) == list(LABEL_TYPES)
    label = {"type": "shade", "value": "red"}
    with pytest.raises(ValueError, match="unknown label type 'shade'"):
        validate_label(label)
    register(_Shade)
    try:
        config_class = compose_config(__name__)
        assert [f.name for f in fields(config_class)] == [*LABEL_TYPES, "shade"]
        config = from_dict(config_class, {"shade": {"threshold": 0.9}})
        validate_label(label)
        with pytest.raises(ValueError, match="shade value must be red or blue"):
            validate_label({"type": "shade", "value": "green"})
        assert render_hint([label, num(2)]) == "shade: redish. number: 2"
        embedded = []

        def embedder(strings: list[str]) -> np.ndarray:
            embedded.append(strings)
            return np.array([[1.0, 0.0] if "red" in s else [0.0, 1.0] for s in strings])

        verifier = Verifier(config, embedder=embedder)
        items = [(text, [label, cat("left")], None, None) for text in ("Left, red.", "Left.")]
        results = verifier.verify_many(items)
        assert embedded == [["Left, red.", "red", "Left."]]
        assert [[v.ok for v in vs] for vs in results] == [[True, True], [False, True]]
    finally:
        del REGISTRY["shade"]
    with pytest.raises(ValueError, match="unknown label type 'shade'"):
        validate_label(label)


def test_config_from_params_section():
    cfg = from_dict(VerifyConfig, {"category": {"threshold": 85}, "number": {"mode": "any"}})
    assert cfg.category.threshold == 85.0 and cfg.number == NumberConfig(rel_tol=0.1, mode="any")
    assert from_dict(VerifyConfig, {}) == VerifyConfig()
    with pytest.raises(ConfigError):
        from_dict(VerifyConfig, {"category": {"treshold": 85}})
    with pytest.raises(ValueError):
        from_dict(VerifyConfig, {"number": {"mode": "closest"}})


def test_sequence_config():
    # The project's defaults (= params.yaml): items matched as words, other classes refused.
    assert SequenceConfig() == SequenceConfig(threshold=0.25, match="words", exclusive=True)
    cfg = from_dict(VerifyConfig, WORDS_EXCLUSIVE)
    assert cfg.sequence.match == "words" and cfg.sequence.exclusive is True
    with pytest.raises(ValueError, match="sequence.match"):
        from_dict(VerifyConfig, {"sequence": {"match": "regex"}})
    with pytest.raises(ValueError, match="sequence.exclusive"):
        from_dict(VerifyConfig, {"sequence": {"match": "embedding", "exclusive": True}})


# -------------------------------------------------------------------------------------- rendering


def test_render_hint_format():
    hint = render_hint(
        [
            num(65.6, "final_score"),
            num(2.0, "count"),
            span(0.25, 0.75),
            box(0.1, 0.2, 0.5, 0.6),
            {"name": "sub_actions", "type": "sequence", "value": ["forward", "entry"]},
        ]
    )
    assert hint == (
        "final score: 65.6. count: 2. temporal range: from 0.25 to 0.75. "
        "bbox: [0.10, 0.20, 0.50, 0.60]. sub actions: forward, then entry"
    )


def test_render_answer_format():
    assert render_answer([cat("left")]) == "The answer is left."
    assert render_answer([num(65.6, "final_score"), num(3.2, "difficulty")]) == (
        "The final score is 65.6. The difficulty is 3.2."
    )


def test_a_sentence_label_ends_its_sentence_once():
    # The templates end each label's sentence themselves ("Answer: {answer}.").
    event = {"name": "event", "type": "sentence", "value": "It arrives late."}
    steps = {"name": "steps", "type": "sentence", "value": ["It rises.", "It falls."]}
    assert render_answer([event]) == "The answer is It arrives late."
    assert render_hint([event, steps]) == "event: It arrives late. steps: It rises. It falls"


ROUND_TRIP = [
    cat("playing american football (in game)"),
    cat("left", classes=LEFT_RIGHT),
    cat("up"),
    {"name": "answer", "type": "sentence", "value": "The person opened the door."},
    {"type": "sentence", "value": ["he opens the door", "he sits down on a chair"]},
    {
        "name": "sub_actions",
        "type": "sequence",
        "value": ["forward", "2.5 somersaults pike", "entry"],
    },
    span(0.25, 0.75),
    span(0.0, 1.0),
    box(0.1, 0.2, 0.5, 0.6),
    box(0.123, 0.2, 0.125, 0.6),
    num(65.6, "final_score"),
    num(2.0),
    num(-3),
    num(0),
    num(1234567.25),
    ts(0.3),
    ts(0.0),
]


ROUND_TRIP += [
    seq("left", "up", classes=LEFT_RIGHT),
    seq("up", "up", "left"),
    seq("down"),
]


@pytest.fixture(scope="module")
def minilm():
    """all-MiniLM-L6-v2 from the offline package, loaded once for the module."""
    return labels_mod._load_embedder(SentenceConfig())


@pytest.fixture(scope="module")
def real_verifier(minilm):
    """The paper's rules (sequence "embedding" mode, nothing exclusive) with the real model."""
    return Verifier(from_dict(VerifyConfig, PAPER_SEQUENCE), embedder=minilm)


@pytest.fixture(scope="module")
def words_verifier(minilm):
    """The real model for sentences, sequences in exclusive "words" mode."""
    cfg = from_dict(VerifyConfig, {"category": {"exclusive": True}, **WORDS_EXCLUSIVE})
    return Verifier(cfg, embedder=minilm)


@pytest.fixture(params=["embedding", "words"])
def mode_verifier(request, real_verifier, words_verifier):
    return real_verifier if request.param == "embedding" else words_verifier


@pytest.mark.parametrize("render", [render_hint, render_answer])
@pytest.mark.parametrize("label", ROUND_TRIP, ids=lambda label: f"{label['type']}:{label['value']}")
def test_round_trip_single(mode_verifier, render, label):
    verdicts = mode_verifier.verify(render([label]), [label])
    assert passed(verdicts), (render([label]), verdicts)


@pytest.mark.parametrize("render", [render_hint, render_answer])
def test_round_trip_all_types_together(mode_verifier, render):
    labels = [
        {"name": "answer", "type": "sentence", "value": "The person opened the door."},
        {
            "name": "sub_actions",
            "type": "sequence",
            "value": ["forward", "2.5 somersaults pike", "entry"],
        },
        span(0.25, 0.75),
        box(0.1, 0.2, 0.5, 0.6),
        num(65.6, "final_score"),
        num(3.2, "difficulty"),
        ts(0.3),
        cat("left", name="direction", classes=LEFT_RIGHT),
    ]
    verdicts = mode_verifier.verify(render(labels), labels)
    assert [v.ok for v in verdicts] == [True] * len(labels), (render(labels), verdicts)


# -------------------------------------------------------------------- sentence and sequence (real)

SENTENCE_TABLE = [
    ("A person is running.", {"type": "sentence", "value": "a man runs"}, True),
    ("The cat sleeps on the sofa.", {"type": "sentence", "value": "a man runs"}, False),
    (
        "He opens the door. After that he sits down on a chair.",
        {"type": "sentence", "value": ["he opens the door", "he sits down on a chair"]},
        True,
    ),
    (
        "He opens the door. Then he walks away.",
        {"type": "sentence", "value": ["he opens the door", "he sits down on a chair"]},
        False,
    ),
    ("", {"type": "sentence", "value": "a man runs"}, False),
    (
        "First the ball moves left, then it moves up.",
        {"type": "sequence", "value": ["the ball moves left", "the ball moves up"]},
        True,
    ),
    (
        "The ball moves up. Then the ball moves left.",
        {"type": "sequence", "value": ["the ball moves left", "the ball moves up"]},
        False,
    ),
    (
        "The diver takes off forward; he performs 2.5 somersaults in pike position, then enters the water.",
        {"type": "sequence", "value": ["forward", "2.5 somersaults pike", "entry"]},
        True,
    ),
]


@pytest.mark.parametrize(("text", "label", "expected"), SENTENCE_TABLE)
def test_sentence_and_sequence_real_model(real_verifier, text, label, expected):
    (v,) = real_verifier.verify(text, [label])
    assert v.ok is expected, v


# (text, gold items, embedding-mode ok, words-mode ok): "embedding" stays the paper's rule, whose
# cosine cannot tell single direction words apart; "words" can.
MODE_TABLE = [
    ("The answer is left, then up.", ["left", "up"], True, True),
    ("the answer is right, then down", ["left", "up"], True, False),
    ("It moves up. Then it moves left.", ["left", "up"], False, False),
    (
        "The diver takes off forward; he performs 2.5 somersaults in pike position, then enters the water.",
        ["forward", "2.5 somersaults pike", "entry"],
        True,
        False,  # "enters" is not "entry" at ratio 80: words mode is for word-valued items
    ),
]


@pytest.mark.parametrize(("text", "items", "embedding_ok", "words_ok"), MODE_TABLE)
def test_sequence_modes_real_model(
    real_verifier, words_verifier, text, items, embedding_ok, words_ok
):
    label = {"type": "sequence", "value": items}
    (v,) = real_verifier.verify(text, [label])
    assert v.ok is embedding_ok and isinstance(v.parsed, list), v  # the paper's verdict shape
    assert all(set(p) == {"position", "text"} for p in v.parsed)
    (w,) = words_verifier.verify(text, [label])
    assert w.ok is words_ok, w


def test_real_model_verify_many_matches_verify(real_verifier):
    items = [(text, [label], None, None) for text, label, _ in SENTENCE_TABLE]
    batched = real_verifier.verify_many(items)
    assert [[v.ok for v in vs] for vs in batched] == [[e] for _, _, e in SENTENCE_TABLE]
    for (text, label, _), verdicts in zip(SENTENCE_TABLE, batched, strict=True):
        assert verdicts[0].score == pytest.approx(
            real_verifier.verify(text, [label])[0].score, abs=1e-5
        )


# -------------------------------------------------------------- sentence and sequence (fake model)


def _table_embedder(table: dict[str, list[float]], calls: list[list[str]] | None = None):
    def embed(strings: list[str]) -> np.ndarray:
        if calls is not None:
            calls.append(list(strings))
        return np.array([table[s] for s in strings], dtype=np.float64)

    return embed


def _unit(cos: float) -> list[float]:
    return [cos, math.sqrt(1 - cos * cos)]


@pytest.mark.parametrize(
    ("cosine", "threshold", "expected"),
    [(0.6, 0.6, True), (0.59, 0.6, False), (0.25, 0.25, True), (0.2499, 0.25, False)],
)
def test_sentence_threshold_edges(cosine, threshold, expected):
    embed = _table_embedder({"gold": [1.0, 0.0], "Said so.": _unit(cosine)})
    cfg = from_dict(VerifyConfig, {"sentence": {"threshold": threshold}})
    (v,) = Verifier(cfg, embedder=embed).verify("Said so.", [{"type": "sentence", "value": "gold"}])
    assert v.ok is expected and v.score == pytest.approx(cosine)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("A then B.", True), ("B; A.", False), ("A, then A; B.", True), ("B then A.", False)],
)
def test_sequence_order_fake(text, expected):
    table = {"a": [1.0, 0.0], "b": [0.0, 1.0], "A": [1.0, 0.0], "A.": [1.0, 0.0], "B": [0.0, 1.0]}
    table["B."] = [0.0, 1.0]
    (v,) = Verifier(embedder=_table_embedder(table)).verify(
        text, [{"type": "sequence", "value": ["a", "b"]}]
    )
    assert v.ok is expected, v


def test_sequence_threshold_edge():
    table = {"a": [1.0, 0.0], "b": [0.0, 1.0], "x": _unit(0.25), "y": [0.0, 1.0]}
    paper = from_dict(VerifyConfig, PAPER_SEQUENCE)
    (v,) = Verifier(paper, embedder=_table_embedder(table)).verify(
        "x; y", [{"type": "sequence", "value": ["a", "b"]}]
    )
    assert v.ok and v.score == pytest.approx(0.25)


def test_verify_many_embeds_once_deduplicated():
    calls: list[list[str]] = []
    table = {"gold": [1.0, 0.0], "Same text.": [1.0, 0.0], "Other text.": [0.0, 1.0]}
    verifier = Verifier(embedder=_table_embedder(table, calls))
    sentence = {"type": "sentence", "value": "gold"}
    items = [
        ("Same text.", [sentence], None, None),
        ("Same text.", [sentence, cat("same")], None, None),
        ("Other text.", [sentence], None, None),
        ("left", [cat("left")], None, None),
    ]
    results = verifier.verify_many(items)
    assert len(calls) == 1 and sorted(calls[0]) == sorted(set(calls[0]))
    assert set(calls[0]) == {"gold", "Same text.", "Other text."}
    assert [[v.ok for v in vs] for vs in results] == [[True], [True, True], [False], [True]]


def test_default_model_loads_once_and_only_when_needed(monkeypatch):
    loads = []

    def fake_load(cfg):
        loads.append(cfg.model)
        return lambda strings: np.tile([1.0, 0.0], (len(strings), 1))

    monkeypatch.setattr(labels_mod, "_load_embedder", fake_load)
    verifier = Verifier()
    verifier.verify("left", [cat("left")])
    assert loads == []
    for _ in range(3):
        verifier.verify("A sentence.", [{"type": "sentence", "value": "a sentence"}])
    assert loads == ["all-MiniLM-L6-v2"]


def test_verify_rows_lends_each_task_its_vocabulary():
    """Exclusive mode sees a task's classes from tasks.json when the label carries none; a
    label's own classes win; rows are matched by position (rows need no id)."""
    from videostar.labels.rows import verify_rows

    verifier = Verifier(from_dict(VerifyConfig, {"category": {"exclusive": True}}),
                        embedder=_no_embedder)  # fmt: skip
    text = "It moves left and then right."
    rows = [
        {"task": "direction", "text": text, "labels": [cat("left", name="direction")]},
        {
            "task": "direction",
            "text": text,
            "labels": [cat("left", name="direction", classes=["left", "up"])],
        },
        {"task": "other", "text": text, "labels": [cat("left", name="direction")]},
        {
            "task": "direction",
            "text": text,
            "labels": [cat("left", name="direction")],
            "error": "undecodable",
        },
    ]
    vocabularies = {"direction": {"direction": ["left", "right"]}}
    assert [r["ok"] for r in verify_rows(rows, verifier, vocabularies)] == [
        False, True, True, False]  # fmt: skip
    assert [r["ok"] for r in verify_rows(rows, verifier)] == [True, True, True, False]
    assert "classes" not in rows[0]["labels"][0]  # the caller's rows are not changed


def test_an_unavailable_sentence_model_says_what_to_do():
    from videostar.labels.types import SentenceConfig
    from videostar.labels.verifier import _load_embedder

    with pytest.raises(OSError, match="not available offline.*huggingface-cli download"):
        _load_embedder(SentenceConfig(model="no-such-owner/no-such-model"))
