"""The registry of label types: each type is one LabelType subclass, the only place that knows it.

A label is ``{"name": str, "type": str, "value": ...}`` (``name`` defaults to the type). Validation,
the embeddings a check needs, the check itself, the rendering of hints and answers and the
``verify`` params section are all looked up here by the label's ``type``.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field, make_dataclass
from typing import Any, ClassVar

import numpy as np

from videostar.labels.text import Text, has_word


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


def verdict(label: dict, ok: bool, score: float | None, parsed: Any) -> Verdict:
    """A verdict that cannot pass without a score and always serializes as strict JSON."""
    score = _json_safe(None if score is None else float(score))
    return Verdict(
        name=label.get("name") or label["type"],
        type=label["type"],
        ok=bool(ok) and score is not None,
        score=score,
        parsed=_json_safe(parsed),
    )


def check_range(name: str, value: float, low: float, high: float) -> None:
    if not (isinstance(value, int | float) and low <= value <= high):
        raise ValueError(f"{name} must be a number in [{low}, {high}], got {value!r}")


@dataclass(frozen=True)
class Sample:
    """One generated text with what its labels may need: the clip and the batch's embeddings."""

    text: Text
    duration: float | None
    frame_size: tuple[float, float] | None
    vectors: np.ndarray
    row: dict[str, int]

    def similarities(self, golds: list[str], candidates: list[str]) -> np.ndarray:
        """Cosine of each gold string to each candidate; both were asked for by ``to_embed``."""
        g = self.vectors[[self.row[s] for s in golds]]
        c = self.vectors[[self.row[s] for s in candidates]]
        return g @ c.T


class LabelType(ABC):
    """One label type. ``config`` is the frozen dataclass of its ``verify`` params section, whose
    defaults are the paper's. Methods that take ``config`` get the whole VerifyConfig, because a
    type may reuse another's thresholds (sequence "words" mode uses category's).
    """

    name: ClassVar[str]
    config: ClassVar[type]
    # Whether a label may carry a ``classes`` vocabulary (for exclusive modes).
    takes_classes: ClassVar[bool] = False

    @abstractmethod
    def validate(self, value: Any) -> None:
        """Raise ValueError if a gold ``value`` is not one this type can verify."""

    def to_embed(self, label: dict, text: Text, config: Any) -> list[str]:
        """The strings whose embeddings ``check`` reads through ``Sample.similarities``."""
        return []

    @abstractmethod
    def check(self, label: dict, sample: Sample, config: Any) -> Verdict:
        """The verdict on a generated text; never raises, whatever the text."""

    @abstractmethod
    def render(self, value: Any) -> str:
        """The value as text that ``check`` reads back as passing."""


REGISTRY: dict[str, LabelType] = {}


def register(cls: type[LabelType]) -> type[LabelType]:
    """Class decorator: make ``cls`` the handler of labels whose type is ``cls.name``."""
    REGISTRY[cls.name] = cls()
    return cls


def compose_config(module: str) -> type:
    """The dataclass of the ``verify`` params section, one field per registered type, whose
    defaults are each type's config defaults; ``module`` is where it is bound (for pickle).
    """
    fields = [(n, t.config, field(default_factory=t.config)) for n, t in REGISTRY.items()]
    namespace = {
        "__module__": module,
        "__doc__": "The ``verify`` section of params.yaml: one sub-section per label type.",
    }
    return make_dataclass("VerifyConfig", fields, frozen=True, namespace=namespace)


def validate_label(label: dict) -> None:
    """Raise ValueError if ``label`` has an unknown type or a value that its type cannot verify."""
    if not isinstance(label, dict):
        raise ValueError(f"label must be an object, got {type(label).__name__}")
    kind = label.get("type")
    if not (isinstance(kind, str) and kind in REGISTRY):
        raise ValueError(f"unknown label type {kind!r}; known: {', '.join(REGISTRY)}")
    if "value" not in label:
        raise ValueError(f"{kind} label has no 'value'")
    name = label.get("name", kind)
    if not (isinstance(name, str) and name.strip()):
        raise ValueError(f"{kind} label name must be a non-empty string, got {name!r}")
    entry = REGISTRY[kind]
    classes = label.get("classes")
    if entry.takes_classes and not (
        classes is None or (isinstance(classes, list) and all(has_word(c) for c in classes))
    ):
        raise ValueError(f"{kind} classes must be a list of strings with a word in each")
    entry.validate(label["value"])


def _key(label: dict) -> str:
    return (label.get("name") or label["type"]).replace("_", " ")


def _render(label: dict) -> str:
    return REGISTRY[label["type"]].render(label["value"])


def render_hint(labels: list[dict]) -> str:
    """The rationalization hint: "key: value" pairs joined by ". " (e.g. "final score: 65.6")."""
    for label in labels:
        validate_label(label)
    return ". ".join(f"{_key(label)}: {_render(label)}" for label in labels)


def render_answer(labels: list[dict]) -> str:
    """The bare-label answer of the label-template SFT baseline: "The answer is left."

    Several labels give one sentence each, named after the label: "The final score is 65.6."
    """
    for label in labels:
        validate_label(label)
    if len(labels) == 1:
        return f"The answer is {_render(labels[0])}."
    return " ".join(f"The {_key(label)} is {_render(label)}." for label in labels)
