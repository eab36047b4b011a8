"""Unit tests of the stages' pure functions (no model, no DVC)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from stages import config, evaluate, generate, label_sft, prepare, questions, report, train
from stages.compose import compose_params
from stages.records import read_json, read_jsonl, write_json, write_jsonl
from stages.video import write_video

REPO = Path(__file__).resolve().parents[1]


def label(value="left"):
    return {"name": "direction", "type": "category", "value": value}


def manifest_row(i, video, split="train", task="direction", value="left"):
    return {"id": f"v{i}", "video": video, "split": split, "task": task, "labels": [label(value)]}


# --- params -------------------------------------------------------------------------------------


def test_params_yaml_is_composed_from_conf(tmp_path):
    """The committed params.yaml is exactly what `dvc exp run` would compose from conf/."""
    out = compose_params(REPO, output=tmp_path / "params.yaml")
    assert out.read_text() == (REPO / "params.yaml").read_text()


def test_iter_drives_the_cycles_dict(tmp_path):
    out = compose_params(REPO, overrides=["iter=4"], output=tmp_path / "params.yaml")
    cycles = config.load_params(out)["cycles"]
    assert cycles == {str(k): {"prev": k - 1} for k in range(1, 5)}


def test_videostar_params_command(tmp_path, monkeypatch):
    from stages.cli import main

    shutil.copytree(REPO / "conf", tmp_path / "conf")
    shutil.copytree(REPO / "hydra_plugins", tmp_path / "hydra_plugins")
    monkeypatch.chdir(tmp_path)
    assert main(["params", "iter=2"]) == 0
    assert config.load_params("params.yaml")["cycles"] == {"1": {"prev": 0}, "2": {"prev": 1}}


def test_every_section_loads_into_its_config():
    params = config.load_params(REPO / "params.yaml")
    config.section(prepare.PrepareConfig, "prepare", params)
    config.section(questions.QuestionsConfig, "questions", params)
    config.section(generate.SamplingParams, "sampling", params)
    config.section(train.CycleTrainConfig, "train", params)
    config.section(train.FinalConfig, "final", params)
    config.section(generate.RationalizeConfig, "rationalize", params)


def test_unknown_params_key_fails_loudly():
    with pytest.raises(config.ConfigError, match="unknown keys"):
        config.from_dict(prepare.PrepareConfig, {"manifest": "x", "max_reject_fraktion": 0.1})


# --- prepare ------------------------------------------------------------------------------------


@pytest.fixture
def dataset(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    root = tmp_path / "ds"
    frames = np.zeros((8, 32, 32, 3), dtype=np.uint8)
    write_video(root / "videos/good.mp4", frames, fps=8)
    (root / "videos/empty.mp4").write_bytes(b"")
    (root / "videos/corrupt.mp4").write_bytes(b"not a video at all" * 10)
    rows = [
        manifest_row(0, "videos/good.mp4"),
        manifest_row(1, "videos/missing.mp4"),
        manifest_row(2, "videos/empty.mp4"),
        manifest_row(3, "videos/corrupt.mp4"),
        manifest_row(4, "../outside.mp4"),
        {
            **manifest_row(5, "videos/good.mp4"),
            "labels": [{"name": "x", "type": "nope", "value": 1}],
        },
        manifest_row(0, "videos/good.mp4"),
    ]
    return root, rows


def test_prepare_records_every_reject_with_its_reason(dataset):
    root, rows = dataset
    accepted, rejected = prepare.prepare(rows, root, prepare.PrepareConfig())
    assert [r["id"] for r in accepted] == ["v0"]
    assert accepted[0]["video"] == "ds/videos/good.mp4"
    assert accepted[0]["frame_size"] == [32, 32]
    reasons = {r["id"]: r["reason"] for r in rejected}
    assert len(rejected) == len(rows) - 1
    assert "missing" in reasons["v1"]
    assert "empty" in reasons["v2"]
    assert "decode" in reasons["v3"]
    assert "escapes" in reasons["v4"]
    assert "nope" in reasons["v5"]


def test_prepare_stage_fails_after_writing_rejects(dataset, tmp_path):
    root, rows = dataset
    write_jsonl(root / "manifest.jsonl", rows)
    (tmp_path / "params.yaml").write_text(
        "prepare:\n  manifest: ds/manifest.jsonl\n  num_frames: 8\n  max_reject_fraction: 0.5\n"
    )
    with pytest.raises(prepare.TooManyRejects, match="rejected"):
        prepare.main()
    assert len(read_jsonl("data/prepared/rejects.jsonl")) == len(rows) - 1
    assert read_json("metrics/data.json")["rejected"] == len(rows) - 1


# --- questions ----------------------------------------------------------------------------------


def test_questions_are_stable_per_video_and_tied_to_labels():
    rows = [manifest_row(i, f"v{i}.mp4") for i in range(20)]
    pools = {"direction": ["Which way?", "Where to?", "What direction?"]}
    first = questions.make_questions(rows, pools, seed=0, source="pool")
    assert [q["labels"] for q in first] == [r["labels"] for r in rows]
    assert len({q["question"] for q in first}) > 1
    # adding videos never changes existing questions
    more = questions.make_questions(rows + [manifest_row(99, "x.mp4")], pools, 0, "pool")
    assert more[:20] == first


def test_questions_missing_pool_is_a_clear_error():
    with pytest.raises(config.ConfigError, match="no question pool"):
        questions.make_questions([manifest_row(0, "a.mp4", task="blinks")], {}, 0, "pool")


def test_parse_questions_from_llm_text():
    text = "Sure! 1. Which way does the ball move?\n- How many times does it blink?\nok?"
    assert questions.parse_questions(text) == [
        "Which way does the ball move?",
        "How many times does it blink?",
    ]


# --- generation / training helpers --------------------------------------------------------------


def test_prompts_by_kind():
    row = {"question": "Which way?", "labels": [label("left")]}
    assert generate.build_prompt("eval", row) == "Which way?"
    assert generate.build_prompt("answer", row).endswith("arrive at this conclusion?")
    hint = generate.build_prompt("rationale", row)
    assert "Answer: direction: left." in hint


def test_rationalize_only_failures_with_readable_videos():
    failed = [
        {"id": "a", "ok": False, "error": None, "question": "q", "labels": [], "text": "x"},
        {"id": "b", "ok": True, "error": None, "question": "q", "labels": [], "text": "x"},
        {"id": "c", "ok": False, "error": "video: missing file", "question": "q", "labels": []},
    ]
    rows = generate.select_rows("rationale", [], failed)
    assert [r["id"] for r in rows] == ["a"]
    assert "text" not in rows[0]


def test_general_share_counts():
    assert train.general_count(100, 0.5) == 100
    assert train.general_count(30, 0.25) == 10
    assert train.general_count(0, 0.5) == 0
    with pytest.raises(config.ConfigError):
        train.general_count(10, 1.0)


def test_llava_record_uses_the_bare_question():
    record = train.llava_record(
        {"id": "a", "video": "v.mp4", "question": "Which way?", "text": "left"}
    )
    assert record["conversations"] == [
        {"from": "human", "value": "<video>\nWhich way?"},
        {"from": "gpt", "value": "left"},
    ]


def test_kept_samples_respect_the_final_switch(tmp_path):
    write_jsonl(
        tmp_path / "answers.verified.jsonl", [{"id": "a", "ok": True}, {"id": "b", "ok": False}]
    )
    write_jsonl(tmp_path / "rationales.verified.jsonl", [{"id": "b", "ok": True}])
    assert [r["id"] for r in train.kept_samples(tmp_path, True)] == ["a", "b"]
    assert [r["id"] for r in train.kept_samples(tmp_path, False)] == ["a"]


# --- evaluation and report ----------------------------------------------------------------------


def test_accuracy_is_per_task_with_macro_mean():
    rows = [{"task": "a", "ok": True}, {"task": "a", "ok": False}, {"task": "b", "ok": True}]
    assert evaluate.accuracy(rows) == {"a": 0.5, "b": 1.0, "mean": 0.75}


def test_report_table(tmp_path):
    for k in range(3):
        metrics = {
            "accuracy": {"a": 0.1 * k, "mean": 0.1 * k},
            "majority": {"a": 0.25, "mean": 0.25},
        }
        if k:
            metrics["yield"] = {"answer": 0.5, "rationale": 0.2, "kept": 0.7}
        write_json(tmp_path / f"cycle_{k}.json", metrics)
    write_json(tmp_path / "final.json", {**metrics, "cycle": "final"})
    cycles, final = report.table(2, tmp_path)
    assert list(cycles["cycle"]) == [0, 1, 2]
    assert list(cycles["accuracy_mean"]) == pytest.approx([0.0, 0.1, 0.2])
    text = report.markdown(cycles, final, {"accuracy": {"a": 0.3, "mean": 0.3}})
    assert "majority baseline" in text and "final" in text and "label-template SFT" in text
    assert json.loads(json.dumps(final))["cycle"] == "final"


def test_llm_question_pools_use_the_paper_prompt(tmp_path):
    """The LLM path end to end with a tiny, locally built causal LM (random weights)."""
    from stages import model

    lm_dir = tmp_path / "lm"
    model.build_tiny_text_lm(lm_dir, ["Which way does the ball move?", "video labeled task"])
    rows = [manifest_row(i, f"v{i}.mp4") for i in range(3)]
    rows += [manifest_row(9, "b.mp4", task="blinks", split="test")]  # test rows are never shown
    cfg = questions.QuestionsConfig(
        source="llm",
        llm=questions.LLMConfig(name_or_path=str(lm_dir), max_new_tokens=8, samples_per_task=2),
    )
    pools, log = questions.llm_pools(rows, cfg)
    assert set(pools) == {"direction"}
    assert len(log) == 2
    for entry in log:
        assert entry["prompt"].startswith(
            "A video is labeled direction: left for the task of direction."
        )
        assert isinstance(entry["text"], str)
        assert entry["questions"] == questions.parse_questions(entry["text"])
    again, _ = questions.llm_pools(rows, cfg)
    assert again == pools  # seeded


def test_label_template_samples_answer_bare_questions_with_gold_labels():
    rows = [
        {**manifest_row(0, "a.mp4"), "question": "Which way?"},
        {**manifest_row(1, "b.mp4", split="test"), "question": "Which way?"},
    ]
    samples = label_sft.label_samples(rows)
    assert len(samples) == 1  # held-out videos are never trained on
    assert samples[0]["question"] == "Which way?"
    assert samples[0]["text"] == "The answer is left."
    assert samples[0]["prompt_kind"] == "label_template"
