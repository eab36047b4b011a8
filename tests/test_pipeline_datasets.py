"""One real STaR cycle on a tiny dataset made by each adapter, through `dvc repro`.

For each of Kinetics, FineDiving and STAR: a small dataset in its real on-disk format
(tests/dataset_builders.py), selected only by params (the conf/dataset/ preset plus its paths),
goes prepare -> questions -> answer -> verify -> rationalize -> reverify -> train -> evaluate.
The corpus and the base model are built once and cached across the three.
"""

from __future__ import annotations

import json

import pytest
import yaml

from tests.dataset_builders import BUILDERS
from tests.test_pipeline_e2e import SMALL, compose, make_clone, ran_stages, run
from videostar.core.records import read_json, read_jsonl

pytestmark = pytest.mark.e2e

ONE_CYCLE = {**SMALL, "iter": 1, "loop": {"no_rationalization": False}}
CYCLE = ("prepare", "questions", "answer@cycle_1", "verify@cycle_1", "rationalize@cycle_1",
         "reverify@cycle_1", "train@cycle_1", "evalsets", "evalgen@cycle_1", "evaluate@cycle_1")  # fmt: skip


# A 40-step tiny base rarely states a real dataset's labels, and a cycle that keeps nothing
# trains nothing; lenient thresholds let some answers through, so training reads these
# datasets' clips (segments, frame folders) too.
LENIENT = ("verify.category.threshold=0", "verify.category.exclusive=false",
           "verify.sequence.threshold=0", "verify.sequence.exclusive=false",
           "verify.sentence.threshold=0", "verify.number.rel_tol=1000000", "verify.number.mode=any",
           "verify.temporal_range.iou=0")  # fmt: skip


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    dest = tmp_path_factory.mktemp("datasets") / "repo"
    env = make_clone(dest, ONE_CYCLE)
    return dest, env


def override(key: str, value) -> str:
    return f"prepare.{key}={json.dumps(value)}"


@pytest.mark.parametrize("fmt", sorted(BUILDERS))
def test_one_cycle_on_each_adapter(repo, fmt):
    root, env = repo
    prepare = BUILDERS[fmt](root / "data" / "raw" / fmt)
    prepare = {
        k: v.replace(f"{root}/", "") if isinstance(v, str) else v for k, v in prepare.items()
    }
    compose(root, env, f"dataset={fmt}", "prepare.max_reject_fraction=0.2",
            *(override(k, v) for k, v in prepare.items()), *LENIENT)  # fmt: skip
    params = yaml.safe_load((root / "params.yaml").read_text())
    assert params["prepare"]["format"] == fmt
    output = run(["dvc", "repro", "train@cycle_1", "evaluate@cycle_1"], root, env)
    assert set(CYCLE) <= ran_stages(output)

    tasks = read_json(root / "data/prepared/tasks.json")
    manifest = read_jsonl(root / "data/prepared/manifest.jsonl")
    assert {r["task"] for r in manifest} == set(tasks)
    assert (
        len(read_jsonl(root / "data/prepared/rejects.jsonl")) == 1
    )  # the builder's one broken record
    assert not any("classes" in label for r in manifest for label in r["labels"])

    questions = read_jsonl(root / "data/questions/questions.jsonl")
    assert all(q["question"] for q in questions)
    answers = read_jsonl(root / "data/cycles/cycle_1/verified/answers.jsonl")
    train_ids = {r["id"] for r in manifest if r["split"] == "train"}
    assert {a["id"] for a in answers} == train_ids
    assert all(len(a["verdicts"]) == len(a["labels"]) for a in answers if not a.get("error"))
    rationales = read_jsonl(root / "data/cycles/cycle_1/verified/rationales.jsonl")
    assert {r["id"] for r in rationales} == {a["id"] for a in answers if not a["ok"]}
    assert (root / "models/cycle_1/config.json").is_file()  # trained, not the base unchanged
    trained = read_json(root / "metrics/train/cycle_1.json")
    assert trained["training"]["kept"] > 0 and trained["training"]["steps"] > 0
    assert set(trained["yield"]["answer_by_task"]) == set(tasks)
    metrics = read_json(root / "metrics/models/cycle_1.json")
    assert set(metrics["accuracy"]) == set(tasks) | {"mean"}
    assert {"retention"} <= set(metrics["sets"])
