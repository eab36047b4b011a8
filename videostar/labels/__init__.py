"""Label types: schema, parsing, verification and rendering, one registry entry per type."""

from videostar.labels.verifier import (
    LABEL_TYPES,
    Verdict,
    Verifier,
    VerifyConfig,
    passed,
    render_answer,
    render_hint,
    validate_label,
)

__all__ = [
    "LABEL_TYPES",
    "Verdict",
    "Verifier",
    "VerifyConfig",
    "passed",
    "render_answer",
    "render_hint",
    "validate_label",
]
