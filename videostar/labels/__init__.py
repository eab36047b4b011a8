"""Label types: schema, parsing, verification and rendering, one registry entry per type.

A new label type is one LabelType subclass decorated with ``@register`` in types.py: its name, its
config dataclass (which becomes a field of VerifyConfig), and how it validates, embeds, checks and
renders a value.
"""

from videostar.labels.registry import (
    REGISTRY,
    LabelType,
    Sample,
    Verdict,
    passed,
    register,
    render_answer,
    render_hint,
    validate_label,
)
from videostar.labels.text import MAX_SENTENCES
from videostar.labels.types import (
    BoxConfig,
    CategoryConfig,
    NumberConfig,
    RangeConfig,
    SentenceConfig,
    SequenceConfig,
    TimestampConfig,
)
from videostar.labels.verifier import LABEL_TYPES, Verifier, VerifyConfig

__all__ = [
    "LABEL_TYPES",
    "MAX_SENTENCES",
    "REGISTRY",
    "BoxConfig",
    "CategoryConfig",
    "LabelType",
    "NumberConfig",
    "RangeConfig",
    "Sample",
    "SentenceConfig",
    "SequenceConfig",
    "TimestampConfig",
    "Verdict",
    "Verifier",
    "VerifyConfig",
    "passed",
    "register",
    "render_answer",
    "render_hint",
    "validate_label",
]
