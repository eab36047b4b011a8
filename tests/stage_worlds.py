"""Small worlds for running one real stage in a subprocess (resume, kill and multi-process tests):
a tiny model, random clips, the stage's input rows and a params.yaml with a few overrides."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from videostar.core.records import write_jsonl
from videostar.lmm import tiny
from videostar.lmm.config import TinyConfig
from videostar.video.clips import write_video

REPO = Path(__file__).resolve().parents[1]
WORDS = ["the red ball moves left. So the answer is left. Which way does the ball go?"] * 20
DIRECTION = {"name": "direction", "type": "category", "value": "left"}
# Tests need the tiny model's architecture, not the default's capacity: half its layers makes
# each forward pass cheaper (test_model.py keeps the default recipe itself under test).
TEST_TINY = TinyConfig(layers=2)


def _base(root: Path, videos: int, folder: str, seed: int, params: dict[str, dict]) -> None:
    tiny.build_tiny(TEST_TINY, WORDS, root / "model")
    rng = np.random.default_rng(seed)
    for i in range(videos):
        clip = rng.integers(0, 255, (8, 32, 32, 3), np.uint8)
        write_video(root / folder / f"v{i}.mp4", clip, fps=8)
    settings = yaml.safe_load((REPO / "params.yaml").read_text())
    for section, updates in params.items():
        target = settings
        for key in section.split("."):
            target = target[key]
        target.update(updates)
    (root / "params.yaml").write_text(yaml.safe_dump(settings))


def question_world(root: Path, videos: int, questions: int, answer: dict[str, Any]) -> Path:
    """``questions`` training questions on ``videos`` clips (``v<i>.mp4``) for `stages.generate`,
    with ``answer`` overriding ``sampling.answer``."""
    _base(root, videos, ".", 0, {"sampling.answer": answer})
    rows = [{"id": f"q{i:02d}", "video": f"v{i % videos}.mp4", "split": "train",
             "task": "direction", "question": f"Which way does the ball go? ({i})",
             "labels": [DIRECTION]} for i in range(questions)]  # fmt: skip
    write_jsonl(root / "questions.jsonl", rows)
    return root


def train_world(root: Path, videos: int, answers: int, params: dict[str, dict], seed: int) -> Path:
    """``answers`` verified answers on ``videos`` clips (``corpus/v<i>.mp4``), general data on
    the same clips and a pretraining corpus, for `stages.train` and `stages.base`; ``params``
    overrides sections (``train`` gets the general data's paths)."""
    train = {"general_data": "general.json", "general_videos": "corpus", **params.get("train", {})}
    _base(root, videos, "corpus", seed, {**params, "train": train})
    rows = [{"id": f"q{i:02d}", "video": f"corpus/v{i % videos}.mp4", "split": "train",
             "task": "direction", "question": "Which way does the ball go?",
             "text": f"the ball moves {'left' if i % 2 else 'right'}.", "ok": True}
            for i in range(answers)]  # fmt: skip
    write_jsonl(root / "verified/answers.jsonl", rows)
    conversation = [{"from": "human", "value": "<video>\nWhat colour is the ball?"},
                    {"from": "gpt", "value": "red"}]  # fmt: skip
    general = [{"id": f"g{i}", "video": f"v{i}.mp4", "conversations": conversation}
               for i in range(videos)]  # fmt: skip
    (root / "general.json").write_text(json.dumps(general))
    write_jsonl(root / "corpus/examples.jsonl",
                [{"split": "train", "video": f"v{i % videos}.mp4", "prompt": "Describe the video.",
                  "response": f"the ball moves {'up' if i % 3 else 'down'}."}
                 for i in range(answers)])  # fmt: skip
    return root
