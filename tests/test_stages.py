"""Unit tests of the stages' pure functions (no model, no DVC)."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from stages import (
    config,
    evalsets,
    evaluate,
    generate,
    label_sft,
    prepare,
    questions,
    report,
    train,
)
from videostar.cli.compose import compose_params
from videostar.core.records import read_json, read_jsonl, write_json, write_jsonl
from videostar.video.clips import write_video

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
    out = compose_params(
        REPO,
        overrides=["iter=4", "compare.no_rationalization=false"],
        output=tmp_path / "params.yaml",
    )
    cycles = config.load_params(out)["cycles"]
    assert list(cycles) == ["1", "2", "3", "4"]
    assert cycles["1"] == {"cycle": 1, "name": "cycle_1", "init": "cycle_0", "rationalize": "on"}
    assert cycles["4"] == {"cycle": 4, "name": "cycle_4", "init": "cycle_3", "rationalize": "on"}


def test_cycle_graph_chains_the_ablation_from_the_same_base():
    from hydra_plugins.videostar_cycles import cycle_graph

    graph = cycle_graph(2, no_rationalization=True)
    assert list(graph) == ["1", "2", "norat_1", "norat_2"]
    assert graph["norat_1"] == {
        "cycle": 1, "name": "norat_1", "init": "cycle_0", "rationalize": "off"
    }  # fmt: skip
    assert graph["norat_2"]["init"] == "norat_1" and graph["2"]["init"] == "cycle_1"
    names = [item["name"] for item in graph.values()]
    assert len(set(names)) == len(names)
    with pytest.raises(ValueError):
        cycle_graph(0)


def test_one_seed_param_drives_every_seed(tmp_path):
    out = compose_params(REPO, overrides=["seed=7"], output=tmp_path / "params.yaml")
    params = config.load_params(out)
    seeds = [
        params[s]["seed"]
        for s in ("world", "corpus", "pretrain", "questions", "sampling", "train", "evalsets")
    ]
    assert seeds == [7] * 7 and params["model"]["tiny"]["seed"] == 7


def test_videostar_params_command(tmp_path, monkeypatch):
    from videostar.cli.main import main

    shutil.copytree(REPO / "conf", tmp_path / "conf")
    shutil.copytree(REPO / "hydra_plugins", tmp_path / "hydra_plugins")
    monkeypatch.chdir(tmp_path)
    assert main(["params", "iter=2"]) == 0
    assert list(config.load_params("params.yaml")["cycles"]) == ["1", "2", "norat_1", "norat_2"]


def test_every_section_loads_into_its_config():
    params = config.load_params(REPO / "params.yaml")
    config.section(prepare.PrepareConfig, "prepare", params)
    config.section(questions.QuestionsConfig, "questions", params)
    config.section(generate.SamplingParams, "sampling", params)
    config.section(train.CycleTrainConfig, "train", params)
    config.section(train.FinalConfig, "final", params)
    config.section(generate.RationalizeConfig, "rationalize", params)
    config.section(evalsets.EvalSetsConfig, "evalsets", params)


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


def fake_metrics(mean: float, k: int = 0) -> dict:
    metrics = {
        "accuracy": {"a": mean, "b": mean, "mean": mean},
        "sets": {"retention": {"caption": 0.9, "mean": 0.9}, "colour": {"a": 0.5, "mean": 0.5}},
        "majority": {"a": 0.25, "b": 0.5, "mean": 0.375},
    }
    if k:
        metrics["yield"] = {
            "answer": 0.5,
            "rationale": 0.2,
            "kept": 0.7,
            "answer_by_task": {"a": 0.1 * k, "b": 0.0},
            "rationale_by_task": {"a": 0.2, "b": 0.3},
        }
    return metrics


def test_report_tables(tmp_path):
    metrics = {f"cycle_{k}": fake_metrics(0.1 * k, k) for k in range(3)}
    metrics |= {"norat_1": fake_metrics(0.05, 1), "final": fake_metrics(0.15, 2)}
    metrics["label_sft"] = fake_metrics(0.3)
    for name, m in metrics.items():
        write_json(tmp_path / f"{name}.json", m)
    loaded = report.load_metrics(tmp_path)
    table = report.results(2, loaded)
    assert list(table.index) == [
        "majority baseline", "base", "label-template SFT", "no rationalization, cycle 1",
        "Video-STaR cycle 1", "Video-STaR cycle 2", "Video-STaR final (no rationales)",
    ]  # fmt: skip
    assert list(table.columns) == ["a", "b", "mean", "colour", "retention"]
    assert table.at["Video-STaR cycle 2", "mean"] == pytest.approx(0.2)
    assert table.at["majority baseline", "b"] == 0.5
    cycles = report.cycles_frame(2, loaded)
    assert list(cycles["cycle"]) == [0, 1, 2]
    assert list(cycles["accuracy_mean"]) == pytest.approx([0.0, 0.1, 0.2])
    assert cycles["norat_accuracy_mean"].tolist()[:2] == pytest.approx([0.0, 0.05])
    assert cycles["yield_answer_a"].tolist()[1:] == pytest.approx([0.1, 0.2])
    curves = report.per_task_yields(cycles)
    assert list(curves) == ["a", "b"] and list(curves["a"]["rationale"]) == [0.2, 0.2]
    text = report.markdown(table, cycles)
    assert "| cycle 2 | 0.200 / 0.200 | 0.000 / 0.300 |" in text


def test_readme_block_is_replaced_and_other_text_kept():
    readme = f"intro\n{report.README_BEGIN}\nold\n{report.README_END}\noutro\n"
    new = report.readme_with_results(readme, "# Title\n\n| a |\n")
    assert new == f"intro\n{report.README_BEGIN}\n| a |\n{report.README_END}\noutro\n"
    with pytest.raises(ValueError, match="results"):
        report.readme_with_results("no block", "x")


def test_readme_shows_the_committed_report():
    """The README's results are metrics/report.md as committed (generated, never hand-typed)."""
    readme = (REPO / "README.md").read_text()
    committed = (REPO / "metrics" / "report.md").read_text()
    assert report.readme_with_results(readme, committed) == readme


def test_seed_aggregation_is_mean_and_sample_std():
    from videostar.cli import seeds

    show = [{"rev": "abc", "experiments": [{"revs": [
        {"name": f"seed-{s}", "data": {
            "params": {"params.yaml": {"data": {"iter": 1}}},
            "metrics": {
                f"metrics/cycles/{n}.json": {"data": fake_metrics(m)}
                for n, m in (("cycle_0", 0.0), ("cycle_1", 0.2 * (s + 1)), ("label_sft", 0.5))
            } | {"metrics/data.json": {"data": {}}},
        }} for s in (0, 1)]}]}]  # fmt: skip
    tables = [seeds.seed_table(seeds.experiment_data(show, f"seed-{s}")) for s in (0, 1)]
    mean, std = seeds.aggregate(tables)
    assert mean.at["Video-STaR cycle 1", "mean"] == pytest.approx(0.3)
    assert std.at["Video-STaR cycle 1", "mean"] == pytest.approx(0.1414, abs=1e-4)
    assert std.at["base", "mean"] == 0.0
    text = seeds.to_markdown(mean, std, 2)
    assert "| Video-STaR cycle 1 | 0.300 ± 0.141 |" in text
    with pytest.raises(LookupError):
        seeds.experiment_data(show, "seed-9")


def test_seed_runs_use_this_interpreters_dvc_and_python(monkeypatch):
    """`.venv/bin/videostar seeds` must work without an activated venv."""
    from videostar.cli import seeds

    calls = []
    monkeypatch.setattr(seeds.subprocess, "run", lambda cmd, **kw: calls.append((cmd, kw)))
    seeds.run_seed(3, ["iter=1"])
    assert [cmd for cmd, _ in calls] == [
        ["dvc", "exp", "remove", "seed-3"],
        ["dvc", "exp", "run", "--temp", "-n", "seed-3", "-S", "seed=3", "-S", "iter=1"],
    ]
    venv_bin = str(Path(sys.executable).parent)
    assert all(kw["env"]["PATH"].split(os.pathsep)[0] == venv_bin for _, kw in calls)
    assert calls[1][1]["check"] is True


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
