"""The evaluation sets: adapted, rephrased (transfer), retention (general ability), colour."""

from __future__ import annotations

from pathlib import Path

import pytest

from videostar.core import config, seeding
from videostar.core.records import write_jsonl
from videostar.evaluation import evalsets
from videostar.prompts import PromptsConfig
from videostar.toyworld import world as toyworld

REPO = Path(__file__).resolve().parents[1]
HINT = PromptsConfig().rationale


def question(i: int, split: str, task: str = "direction", text: str = "Which way?") -> dict:
    return {
        "id": f"v{i}", "video_id": f"v{i}", "video": f"data/world/videos/v{i}.mp4",
        "split": split, "task": task, "question": text, "question_source": "pool:0",
        "labels": [{"name": "direction", "type": "category", "value": "left"}],
    }  # fmt: skip


def test_sets_are_built_and_training_questions_refused(tmp_path):
    world = toyworld.WorldConfig(tasks=("direction", "route"), train_per_task=2, test_per_task=3)
    transfer = tmp_path / "world" / "transfer.jsonl"
    write_jsonl(transfer, toyworld.colour_questions(world))
    corpus = toyworld.generate_corpus(
        toyworld.CorpusConfig(clips=2, test_clips=3), world, tmp_path / "corpus", HINT
    )
    questions = [question(0, "train"), question(1, "test"), question(2, "test", "route")]
    cfg = evalsets.EvalSetsConfig(
        seed=0, rephrased={"direction": ("Toward which side?",)}, transfer=(str(transfer),)
    )
    rows = evalsets.build(cfg, questions, corpus, tmp_path / "corpus")
    by_set: dict[str, list] = {}
    for row in rows:
        by_set.setdefault(row["set"], []).append(row)
    assert {k: len(v) for k, v in by_set.items()} == {
        "adapted": 2, "colour": 6, "rephrased": 1, "retention": 3
    }  # fmt: skip
    assert by_set["rephrased"][0]["question"] == "Toward which side?"
    assert by_set["rephrased"][0]["labels"] == questions[1]["labels"]
    retention = by_set["retention"][0]
    assert [label["name"] for label in retention["labels"]] == ["colour", "motion"]
    assert Path(retention["video"]).is_file()
    colour = by_set["colour"][0]
    assert colour["video"] == (transfer.parent / "videos" / f"{colour['video_id']}.mp4").as_posix()
    assert all(r["split"] == "test" for r in rows)

    leaky = evalsets.EvalSetsConfig(seed=0, rephrased={"direction": ("which way?",)}, transfer=())
    with pytest.raises(config.ConfigError, match="training questions"):
        evalsets.build(leaky, questions, corpus, tmp_path / "corpus")


def test_transfer_rows_must_stay_inside_their_folder(tmp_path):
    path = tmp_path / "t.jsonl"
    row = {"id": "x", "video": "../../etc/passwd", "task": "t", "set": "s", "question": "q?",
           "labels": []}  # fmt: skip
    write_jsonl(path, [row])
    with pytest.raises(Exception, match="escapes"):
        evalsets.transfer_rows(path)
    write_jsonl(path, [{"id": "x", "video": "a.mp4"}])
    with pytest.raises(config.ConfigError, match="lacks"):
        evalsets.transfer_rows(path)


def test_default_rephrasings_are_never_training_questions():
    params = config.load_params(REPO / "params.yaml")
    cfg = config.section(evalsets.EvalSetsConfig, "evalsets", params)
    pools = {q.lower() for pool in params["questions"]["pool"].values() for q in pool}
    assert set(cfg.rephrased) == set(params["world"]["tasks"])
    for task, rephrasings in cfg.rephrased.items():
        assert rephrasings and not {q.lower() for q in rephrasings} & pools, task


def test_colour_questions_name_the_rendered_colour():
    world = toyworld.WorldConfig(tasks=("blinks",), test_per_task=4)
    for row in toyworld.colour_questions(world):
        index = int(row["video_id"].rsplit("-", 1)[1])
        scene = toyworld.sample_scene(
            seeding.rng("world", world.seed, "test", "blinks", index), "blinks", world
        )
        assert row["labels"][0]["value"] == scene.colour
        assert toyworld.TARGET_CUES.search(row["question"])  # the corpus never asks it
