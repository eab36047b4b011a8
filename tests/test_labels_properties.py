"""Property tests of the verifier's never-raise contract (videostar/labels).

    .venv/bin/python -m pytest tests/test_labels_properties.py -q

Whatever the generated text (arbitrary unicode, empty, 1 MB, "NaN", reversed spans, degenerate
boxes) verification returns one Verdict per label, with a bool ``ok`` and strict-JSON fields.
A hashing fake embedder stands in for the sentence model so that hundreds of examples run fast.
"""

from __future__ import annotations

import hashlib
import math

import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from videostar.core.config import from_dict
from videostar.core.records import dumps
from videostar.labels import (
    MAX_SENTENCES,
    Verifier,
    VerifyConfig,
    render_answer,
    render_hint,
    validate_label,
)

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def hashing_embedder(strings: list[str]) -> np.ndarray:
    """Deterministic unit vectors: equal strings get equal vectors, others are near-orthogonal."""
    rows = []
    for s in strings:
        seed = int.from_bytes(
            hashlib.blake2b(s.encode("utf-8", "surrogatepass")).digest()[:8], "little"
        )
        v = np.random.default_rng(seed).standard_normal(16)
        rows.append(v / np.linalg.norm(v))
    return np.array(rows)


VERIFIER = Verifier(embedder=hashing_embedder)
# Sequences by words (category rule, in order), lenient and exclusive over label classes.
WORDS_VERIFIER = Verifier(
    from_dict(VerifyConfig, {"sequence": {"match": "words"}}), embedder=hashing_embedder
)
WORDS_EXCLUSIVE_VERIFIER = Verifier(
    from_dict(VerifyConfig, {"sequence": {"match": "words", "exclusive": True}}),
    embedder=hashing_embedder,
)
ALL_VERIFIERS = st.sampled_from([VERIFIER, WORDS_VERIFIER, WORDS_EXCLUSIVE_VERIFIER])

# ------------------------------------------------------------------------------------ strategies

fraction = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)
wordy = st.text(min_size=1, max_size=30).filter(lambda s: any(c.isalnum() for c in s))
# Labels with punctuation around and inside their words.
punctuated = st.builds(
    lambda pre, word, post: f"{pre}{word}{post}",
    st.sampled_from(["", "(", "'", "-", "«"]),
    st.from_regex(r"[A-Za-z][a-z0-9]{0,8}( [a-z]{1,8}){0,3}", fullmatch=True),
    st.sampled_from(["", ")", "!", ".", "?", " (in game)", "'s"]),
)


@st.composite
def spans(draw) -> list[float]:
    a, b = draw(fraction), draw(fraction)
    if a == b:
        b = 1.0 if a < 1.0 else 0.0
    return sorted([a, b])


@st.composite
def boxes(draw) -> list[float]:
    x1, x2 = draw(spans())
    y1, y2 = draw(spans())
    # a gold box whose area underflows to 0 is invalid (validate_label rejects it)
    assume((x2 - x1) * (y2 - y1) > 0)
    return [x1, y1, x2, y2]


def _named(kind: str, value: st.SearchStrategy) -> st.SearchStrategy:
    name = st.one_of(st.none(), wordy, st.sampled_from(["final_score", "answer", "difficulty"]))
    return st.builds(
        lambda v, n: {"type": kind, "value": v, **({"name": n} if n else {})}, value, name
    )


labels_strategy = st.one_of(
    _named("category", st.one_of(wordy, punctuated)),
    st.builds(
        lambda v, classes: {"type": "category", "value": v, "classes": classes},
        punctuated,
        st.lists(punctuated, max_size=5),
    ),
    _named("sentence", st.one_of(wordy, st.lists(wordy, min_size=1, max_size=3))),
    _named("sequence", st.lists(wordy, min_size=1, max_size=4)),
    st.builds(
        lambda v, classes: {"type": "sequence", "value": v, "classes": classes},
        st.lists(
            st.one_of(punctuated, st.sampled_from(["left", "right", "up", "down"])),
            min_size=1,
            max_size=4,
        ),
        st.lists(
            st.one_of(punctuated, st.sampled_from(["left", "right", "up", "down"])), max_size=5
        ),
    ),
    _named("temporal_range", spans()),
    _named("bbox", boxes()),
    _named("number", st.floats(allow_nan=False, allow_infinity=False)),
    _named("timestamp", fraction),
)

# Fragments that steer texts into the parsers' corners.
fragments = st.one_of(
    st.text(max_size=20),
    st.sampled_from(
        [
            "nan",
            "NaN",
            "inf",
            "-inf",
            "Infinity",
            "1e999",
            "9" * 400,
            "0.",
            ".5",
            "-",
            "+",
            "1,234.5",
            "1,2345",
            "−3",
            "two",
            "twenty",
            "answer is",
            "Answer:",
            "score of",
            " = ",
            "final score:",
            "from",
            "to",
            "between",
            "and",
            "then",
            ", then",
            "left",
            "up",
            "cup",
            "Right",
            "down",
            ";",
            ". ",
            "\n",
            "[",
            "]",
            "(",
            ")",
            ", ",
            "s",
            " seconds",
            "00:",
            ":03",
            "1:02:03.5",
            "[0.1, 0.2, 0.1, 0.6]",
            "[1e9, 2, 3, 4]",
            "(0.9, 0.1)",
            "from 0.8 to 0.2",
            "between 5s and 1s",
            "00:04 to 00:02",
            "\u0000",
            "\ud7ff",
            "🙂",
            "İ",
            "ß",
        ]
    ),
    st.floats().map(str),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
)
texts = st.one_of(st.text(), st.lists(fragments, max_size=30).map("".join))
durations = st.one_of(st.none(), st.floats(), st.integers(min_value=-5, max_value=10**6))
frame_sizes = st.one_of(
    st.none(),
    st.tuples(st.floats(), st.floats()),
    st.tuples(st.integers(-10, 4000), st.integers(-10, 4000)),
)


def _check_verdicts(verdicts, labels) -> None:
    assert len(verdicts) == len(labels)
    for verdict, label in zip(verdicts, labels, strict=True):
        assert type(verdict.ok) is bool
        assert verdict.type == label["type"]
        assert verdict.score is None or math.isfinite(verdict.score)
        assert not (verdict.ok and verdict.score is None)
        dumps(verdict.to_dict())  # raises on NaN/inf or anything not JSON


# ------------------------------------------------------------------------------------ properties


@SETTINGS
@given(labels=st.lists(labels_strategy, min_size=1, max_size=4))
def test_generated_labels_are_valid(labels):
    for label in labels:
        validate_label(label)


@SETTINGS
@given(
    text=texts,
    labels=st.lists(labels_strategy, min_size=1, max_size=4),
    duration=durations,
    frame_size=frame_sizes,
    verifier=ALL_VERIFIERS,
)
def test_never_raises_one_verdict_per_label(text, labels, duration, frame_size, verifier):
    _check_verdicts(verifier.verify(text, labels, duration, frame_size), labels)


@SETTINGS
@given(
    items=st.lists(st.tuples(texts, st.lists(labels_strategy, min_size=1, max_size=3)), max_size=5),
    verifier=ALL_VERIFIERS,
)
def test_verify_many_matches_verify(items, verifier):
    batched = verifier.verify_many([(t, labels, 10.0, (320, 240)) for t, labels in items])
    for (text, labels), verdicts in zip(items, batched, strict=True):
        assert verdicts == verifier.verify(text, labels, 10.0, (320, 240))


@SETTINGS
@given(
    gold=spans(),
    form=st.sampled_from(["from {b} to {a}", "between {b} and {a}", "[{b}, {a}]", "({b}, {a})"]),
)
def test_reversed_span_of_the_gold_passes(gold, form):
    a, b = (np.format_float_positional(x, trim="-") for x in gold)
    label = {"type": "temporal_range", "value": gold}
    (verdict,) = VERIFIER.verify(f"It happens {form.format(a=a, b=b)}.", [label])
    assert verdict.ok and verdict.parsed == gold


@SETTINGS
@given(gold=boxes(), x=fraction, y1=fraction, y2=fraction)
def test_degenerate_box_never_passes(gold, x, y1, y2):
    x, y1, y2 = (np.format_float_positional(v, trim="-") for v in (x, y1, y2))
    (verdict,) = VERIFIER.verify(f"[{x}, {y1}, {x}, {y2}]", [{"type": "bbox", "value": gold}])
    assert not verdict.ok and verdict.score == 0.0


@SETTINGS
@given(
    labels=st.lists(labels_strategy, min_size=1, max_size=4),
    render=st.sampled_from([render_hint, render_answer]),
    verifier=ALL_VERIFIERS,
)
def test_rendered_labels_never_raise(labels, render, verifier):
    _check_verdicts(verifier.verify(render(labels), labels), labels)


@SETTINGS
@given(
    label=st.one_of(
        _named("number", st.floats(allow_nan=False, allow_infinity=False)),
        _named("temporal_range", spans()),
        _named("bbox", boxes()),
        _named("timestamp", fraction),
        _named("category", punctuated),
    ),
    render=st.sampled_from([render_hint, render_answer]),
)
def test_round_trip_without_embeddings(label, render):
    (verdict,) = VERIFIER.verify(render([label]), [label])
    assert verdict.ok, (render([label]), verdict)


@SETTINGS
@given(
    label=_named("sequence", st.lists(st.one_of(wordy, punctuated), min_size=1, max_size=4)),
    render=st.sampled_from([render_hint, render_answer]),
)
def test_sequence_words_round_trip(label, render):
    """Words mode needs no embeddings: any rendered sequence reads back as itself, in order."""
    (verdict,) = WORDS_VERIFIER.verify(render([label]), [label])
    assert verdict.ok, (render([label]), verdict)
    positions = [item["position"] for item in verdict.parsed["items"]]
    assert positions == sorted(positions)


@SETTINGS
@given(
    items=st.lists(
        st.sampled_from(["left", "right", "up", "down"]), min_size=2, max_size=4, unique=True
    ),
)
def test_sequence_words_reversed_order_fails(items):
    """A route of distinct moves read backwards fails. (Equal neighbours may share a word:
    positions only need to be non-decreasing, as in the paper's rule.)"""
    label = {"type": "sequence", "value": items}
    (verdict,) = WORDS_VERIFIER.verify("It moves " + ", then ".join(items[::-1]) + ".", [label])
    assert not verdict.ok, verdict


def test_very_long_text():
    chunk = "The ball moves left, then up; from 2.5s to 4s. [32, 48, 160, 144] score = 65.6 🙂 "
    text = chunk * (1_000_000 // len(chunk))
    embedded: list[int] = []

    def counting(strings: list[str]) -> np.ndarray:
        embedded.append(len(strings))
        return hashing_embedder(strings)

    labels = [
        {"type": "category", "value": "left"},
        {"type": "sentence", "value": "the ball moves"},
        {"type": "sequence", "value": ["left", "up"]},
        {"type": "temporal_range", "value": [0.25, 0.4]},
        {"type": "bbox", "value": [0.1, 0.2, 0.5, 0.6]},
        {"type": "number", "value": 65.6},
        {"type": "timestamp", "value": 0.4},  # reads the last number, 65.6: fails, must not raise
    ]
    verdicts = Verifier(embedder=counting).verify(text, labels, 10.0, (320, 240))
    _check_verdicts(verdicts, labels)
    assert [v.ok for v in verdicts][3:6] == [True, True, True]  # span, box, score
    # the text is cut to its last sentences before embedding
    assert embedded and embedded[0] <= 2 * MAX_SENTENCES + 4
    verdicts = WORDS_EXCLUSIVE_VERIFIER.verify(text, labels, 10.0, (320, 240))
    _check_verdicts(verdicts, labels)
    assert verdicts[2].ok and verdicts[2].parsed["items"][1]["position"] == 5


def test_empty_text():
    labels = [
        {"type": t, "value": v}
        for t, v in [
            ("category", "left"),
            ("sentence", "a"),
            ("sequence", ["a"]),
            ("temporal_range", [0, 1]),
            ("bbox", [0, 0, 1, 1]),
            ("number", 0),
            ("timestamp", 0),
        ]
    ]
    for verifier in (VERIFIER, WORDS_VERIFIER, WORDS_EXCLUSIVE_VERIFIER):
        verdicts = verifier.verify("", labels, 10.0, (320, 240))
        _check_verdicts(verdicts, labels)
        assert not any(v.ok for v in verdicts)
        assert all(v.parsed is None and v.score is None for v in verdicts)
