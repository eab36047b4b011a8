"""Parsing primitives shared by the label types: words, sentences, numbers, times, word similarity."""

from __future__ import annotations

import math
import re
from collections import deque
from collections.abc import Sequence
from functools import cached_property, lru_cache
from typing import Any

import numpy as np
from rapidfuzz import fuzz, process

# Threshold comparisons allow this much float slack so that decimal edges behave as written.
EPS = 1e-9
# A 1 MB answer must not cost minutes of embedding: the conclusion of a step-by-step answer is at
# its end, so only the last sentences are embedded, each cut to about what the model reads anyway.
MAX_SENTENCES = 128
MAX_SENTENCE_CHARS = 2000

WORD = re.compile(r"[^\W_]+")
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
NUM = r"(?<![\w.])[-+\u2212]?(?:(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?!\d)|\.\d+)"
NUM_WORD = r"\b(?:" + "|".join(_NUMBER_WORDS) + r")\b"
_NUMBER = re.compile(rf"(?P<num>{NUM})|(?P<word>{NUM_WORD})", re.IGNORECASE)
# A few words without digits or sentence ends between a cue and its number.
FILLER = r"[^\d.!?;\n]{0,40}?"

_UNIT = r"(?:\s*(?:seconds?|secs?|s)\b)"
# Qwen3-VL writes (and its answers echo) times as "<2.0 seconds>": the brackets are optional.
TIME = rf"<?\s*(?:(?:\d+:)?\d{{1,2}}:\d{{2}}(?:\.\d+)?(?!\d)|\d+(?:\.\d+)?|\.\d+){_UNIT}?(?:\s*>)?"
_TIME_TOKEN = re.compile(
    rf"(?:(?P<h>\d+):)?(?P<m>\d{{1,2}}):(?P<s>\d{{2}}(?:\.\d+)?)|(?P<n>\d+(?:\.\d+)?|\.\d+)(?P<unit>{_UNIT})?",
    re.IGNORECASE,
)


def is_real(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


def is_reals(value: Any, n: int) -> bool:
    """Whether ``value`` is a list or tuple of ``n`` finite numbers."""
    return isinstance(value, list | tuple) and len(value) == n and all(is_real(x) for x in value)


def has_word(s: Any) -> bool:
    return isinstance(s, str) and bool(WORD.search(s))


def to_float(token: str) -> float | None:
    token = token.replace(",", "").replace("\u2212", "-")
    word = _NUMBER_WORD_VALUE.get(token.lower())
    value = word if word is not None else float(token)
    # A 400-digit numeral overflows to inf: that is no number anyone meant.
    return value if math.isfinite(value) else None


def fmt_number(v: float) -> str:
    """65.6 -> "65.6", 2.0 -> "2", 1e-05 -> "0.00001": always readable back by the parser."""
    return np.format_float_positional(float(v), trim="-")


def name_pattern(name: str) -> str:
    """The label name as a whole phrase; "final_score" also matches "final score"."""
    words = [re.escape(w) for w in re.split(r"[\s_]+", name.strip()) if w]
    return r"(?<!\w)" + r"[\s_]+".join(words) + r"(?!\w)"


def last_match(pattern: re.Pattern[str], text: str) -> re.Match[str] | None:
    last = deque(pattern.finditer(text), maxlen=1)
    return last[0] if last else None


def time_token(token: str) -> tuple[float, bool] | None:
    """(value, is_seconds) for "2.5", "2.5s", "4 seconds", "<4.0 seconds>", "00:02", "1:02:03.5"."""
    m = _TIME_TOKEN.match(token.strip("<> \t\n"))
    if m is None:
        return None
    if m["s"] is not None:
        value = int(m["h"] or 0) * 3600 + int(m["m"]) * 60 + float(m["s"])
        return (value, True) if math.isfinite(value) else None
    value = float(m["n"])
    return (value, m["unit"] is not None) if math.isfinite(value) else None


def gold_texts(label: dict) -> list[str]:
    value = label["value"]
    return [value] if isinstance(value, str) else list(value)


def _split_sentences(text: str) -> list[str]:
    sentences = [s.strip() for s in _SENTENCE_BREAK.split(text)]
    return [s[:MAX_SENTENCE_CHARS] for s in sentences if WORD.search(s)][-MAX_SENTENCES:]


class Text:
    """One generated text, parsed lazily and at most once whatever number of labels read it."""

    def __init__(self, text: str) -> None:
        self.text = text

    @cached_property
    def tokens(self) -> list[str]:
        """Every word of the text, lower-cased, in order (positions for sequence matching)."""
        return [w.lower() for w in WORD.findall(self.text)]

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
            steps.extend(p.strip() for p in _STEP_BREAK.split(sentence) if WORD.search(p))
        return steps[-MAX_SENTENCES:]

    @cached_property
    def numbers(self) -> list[tuple[float, bool]]:
        """(value, is_word) for every number in the text, in order."""
        found = []
        for m in _NUMBER.finditer(self.text):
            value = to_float(m[0])
            if value is not None:
                found.append((value, m["word"] is not None))
        return found


@lru_cache(maxsize=65536)
def key_words(phrase: str) -> tuple[str, ...]:
    words = [w.lower() for w in WORD.findall(phrase)]
    significant = [w for w in words if len(w) > 2 and w not in _STOP_WORDS]
    # A label like "up" has no long word: checking nothing would pass it on any text.
    return tuple(dict.fromkeys(significant or words))


def word_matrix(words: Sequence[str], text: Text) -> np.ndarray:
    """Similarity (0-100) of each word to each distinct word of the text (``text.words``)."""
    sims = process.cdist(list(words), text.words, scorer=fuzz.ratio, dtype=np.float64, workers=1)
    for i, w in enumerate(words):
        # One edit is 50% of a two-letter word: "up" would match "cup" at 80. Short words are exact.
        if len(w) <= 2:
            sims[i] = 0.0
            if (j := text.word_index.get(w)) is not None:
                sims[i, j] = 100.0
    return sims


def word_similarity(words: Sequence[str], text: Text) -> tuple[np.ndarray, list[str | None]]:
    """Best similarity (0-100) of each word to a word of the text, and that text word."""
    if not text.words:
        return np.zeros(len(words)), [None] * len(words)
    sims = word_matrix(words, text)
    best = sims.argmax(axis=1)
    scores = sims[np.arange(len(words)), best]
    matched: list[str | None] = [
        text.words[j] if s > 0 or len(w) > 2 else None
        for w, j, s in zip(words, best, scores, strict=True)
    ]
    return scores, matched


def rival_classes(
    classes: Sequence[str], gold_words: set[str], text: Text, threshold: float
) -> list[str]:
    """The classes named by the text (every word matched) that the gold label does not imply.

    A class whose words all belong to the gold label is implied by it, not a rival: "dancing" vs
    "dancing ballet".
    """
    others = {c: key_words(c) for c in classes if not set(key_words(c)) <= gold_words}
    vocab = list(dict.fromkeys(w for ws in others.values() for w in ws))
    best = dict(zip(vocab, word_similarity(vocab, text)[0], strict=True))
    return [c for c, ws in others.items() if min(best[w] for w in ws) >= threshold - EPS]
