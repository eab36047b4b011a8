"""One real STaR cycle per video LMM family, through `dvc repro`, selected only by params.

For each family a tiny random-weight checkpoint is built offline (videostar/lmm/builders); the
family's preset (`family=<model_type>`) names it in `model.name_or_path`, and the pipeline runs answer -> verify ->
rationalize -> reverify -> LoRA train -> evaluate on a small toy world. Test ids are the family's
`model_type`: `pytest -k video_llava` runs one family.
"""

from __future__ import annotations

import pytest

from tests.test_pipeline_e2e import SMALL, compose, make_clone, ran_stages, run
from videostar.core.records import read_json, read_jsonl
from videostar.lmm import builders

pytestmark = pytest.mark.e2e

SMALL_ONE_CYCLE = {
    **SMALL,
    "iter": 1,
    "loop": {"no_rationalization": False},
    "world": {"tasks": ["direction", "blinks"], "train_per_task": 6, "test_per_task": 3},
}  # fmt: skip
# The tokenizer's training text: the words of the toy world's questions and answers.
TEXTS = [
    f"the {c} ball moves {d}. So the answer is {d}. Which way does the ball go? How many times?"
    for c in ("red", "green", "blue", "yellow") for d in ("left", "right", "up", "down")
] * 8  # fmt: skip
# evaluate@cycle_1 reruns only when the greedy answers changed: two random tiny models can both
# answer every held-out question with the same string.
CYCLE = ("base", "answer@cycle_1", "verify@cycle_1", "rationalize@cycle_1", "reverify@cycle_1",
         "train@cycle_1", "evalgen@cycle_1")  # fmt: skip


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    dest = tmp_path_factory.mktemp("families") / "repo"
    env = make_clone(dest, SMALL_ONE_CYCLE)
    return dest, env


@pytest.mark.parametrize("model_type", sorted(builders.BUILDERS))
def test_one_lora_cycle_per_family(repo, model_type):
    root, env = repo
    checkpoint = f"data/pretrained/{model_type}"
    builders.build(model_type, root / checkpoint, TEXTS)
    # The family's preset (conf/family/), pointed at the tiny checkpoint and scaled to it.
    compose(root, env, f"family={model_type}", f"model.name_or_path={checkpoint}",
            "train.lr=0.005", "train.min_steps=4", "train.max_steps=8",
            *(f"sampling.{kind}.max_new_tokens=24" for kind in ("answer", "rationale", "eval")))  # fmt: skip
    output = run(["dvc", "repro", "train@cycle_1", "evaluate@cycle_1"], root, env)
    assert set(CYCLE) <= ran_stages(output)
    assert "Data and pipelines are up to date" in run(
        ["dvc", "status", "evaluate@cycle_1"], root, env
    )

    assert read_json(root / "models/base/identity.json")["name_or_path"] == checkpoint
    answers = read_jsonl(root / "data/cycles/cycle_1/verified/answers.jsonl")
    assert answers and all(isinstance(a["text"], str) and "verdicts" in a for a in answers)
    rationales = read_jsonl(root / "data/cycles/cycle_1/verified/rationales.jsonl")
    assert {r["id"] for r in rationales} == {a["id"] for a in answers if not a["ok"]}
    trained = read_json(root / "metrics/train/cycle_1.json")["training"]
    assert trained["init"] == "models/base"
    # The cycle holds its LoRA adapter only, or, when a random model kept nothing, points at its
    # base: never a copy of the base's weights.
    cycle = {p.name for p in (root / "models/cycle_1").iterdir()}
    assert "base.json" in cycle and not any(name.startswith("model") for name in cycle)
    assert ("adapter_model.safetensors" in cycle) == (trained["kept"] > 0)
    metrics = read_json(root / "metrics/models/cycle_1.json")
    assert set(metrics["accuracy"]) == {"blinks", "direction", "mean"}
