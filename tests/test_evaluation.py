"""Scores, the majority baseline, the report tables, the README blocks and the seeds table."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from videostar.core.records import write_json
from videostar.evaluation import report, scores
from videostar.labels import Verifier

REPO = Path(__file__).resolve().parents[1]


def test_accuracy_is_per_task_with_macro_mean():
    rows = [{"task": "a", "ok": True}, {"task": "a", "ok": False}, {"task": "b", "ok": True}]
    assert scores.accuracy(rows) == {"a": 0.5, "b": 1.0, "mean": 0.75}


def test_model_metrics_split_adapted_from_other_sets():
    rows = [
        {"task": "a", "ok": True, "set": "adapted"},
        {"task": "a", "ok": False, "set": "rephrased"},
        {"task": "caption", "ok": True, "set": "retention", "error": "video: x"},
        {
            "task": "caption",
            "ok": False,
            "set": "retention",
            "error": "row: 'labels' must be a list",
        },
    ]
    m = scores.model_metrics("cycle_1", rows)
    assert m["accuracy"] == {"a": 1.0, "mean": 1.0}
    assert m["sets"] == {"rephrased": {"a": 0.0, "mean": 0.0},
                         "retention": {"caption": 0.5, "mean": 0.5}}  # fmt: skip
    assert m["eval_questions"] == 4 and m["eval_video_errors"] == 1 and m["eval_row_errors"] == 1


def test_majority_baseline_answers_the_most_common_training_label():
    def row(split, value):
        return {"id": f"{split}-{value}-{id(value)}", "split": split, "task": "d", "text": "",
                "labels": [{"name": "direction", "type": "category", "value": value}]}  # fmt: skip

    questions = [row("train", "left"), row("train", "left"), row("train", "up")]
    questions += [row("test", "left"), row("test", "up"), row("test", "down"), row("test", "left")]
    assert scores.majority_baseline(questions, Verifier()) == {"d": 0.5, "mean": 0.5}


def fake_model(mean: float) -> dict:
    return {
        "accuracy": {"a": mean, "b": mean, "mean": mean},
        "sets": {"retention": {"caption": 0.9, "mean": 0.9}, "colour": {"a": 0.5, "mean": 0.5}},
    }


def fake_train(k: int) -> dict:
    return {"yield": {"answer": 0.5, "rationale": 0.2, "kept": 0.7,
                      "answer_by_task": {"a": 0.1 * k, "b": 0.0},
                      "rationale_by_task": {"a": 0.2, "b": 0.3}}}  # fmt: skip


@pytest.fixture
def metrics_dir(tmp_path):
    models = {"base": 0.0, "cycle_1": 0.1, "cycle_2": 0.2, "norat_1": 0.05, "final": 0.15,
              "label_sft": 0.3}  # fmt: skip
    for name, mean in models.items():
        write_json(tmp_path / "models" / f"{name}.json", fake_model(mean))
    for k in (1, 2):
        write_json(tmp_path / "train" / f"cycle_{k}.json", fake_train(k))
    write_json(tmp_path / "majority.json", {"a": 0.25, "b": 0.5, "mean": 0.375})
    return tmp_path


def test_report_tables(metrics_dir):
    loaded = report.load_metrics(metrics_dir)
    table = report.results(2, loaded)
    assert list(table.index) == [
        "majority baseline", "base", "label-template SFT", "no rationalization, cycle 1",
        "Video-STaR cycle 1 (with rationales)", "Video-STaR cycle 2 (with rationales)",
        "Video-STaR final",
    ]  # fmt: skip
    assert list(table.columns) == ["a", "b", "mean", "colour", "retention"]
    assert table.at["Video-STaR cycle 2 (with rationales)", "mean"] == pytest.approx(0.2)
    assert table.at["majority baseline", "b"] == 0.5
    assert list(report.headline(table).index) == list(report.HEADLINE)
    cycles = report.cycles_frame(2, loaded)
    assert list(cycles["cycle"]) == [0, 1, 2]
    assert list(cycles["accuracy_mean"]) == pytest.approx([0.0, 0.1, 0.2])
    assert cycles["norat_accuracy_mean"].tolist()[:2] == pytest.approx([0.0, 0.05])
    assert cycles["yield_answer_a"].tolist()[1:] == pytest.approx([0.1, 0.2])
    curves = report.per_task_yields(cycles)
    assert list(curves) == ["a", "b"] and list(curves["a"]["rationale"]) == [0.2, 0.2]
    text = report.markdown(table, cycles)
    assert "| cycle 2 | 0.200 / 0.200 | 0.000 / 0.300 |" in text
    assert text.index("## Headline") < text.index("## Every model")


def test_the_every_model_note_names_the_ablation_only_when_its_chain_ran(metrics_dir):
    loaded = report.load_metrics(metrics_dir)
    cycles = report.cycles_frame(2, loaded)
    with_chain = report.markdown(report.results(2, loaded), cycles)
    assert "`no rationalization` is the ablation's chain" in with_chain
    del loaded["models"]["norat_1"]
    cycles = report.cycles_frame(2, loaded)
    assert "norat_accuracy_mean" not in cycles  # not even the base's point at cycle 0
    without = report.markdown(report.results(2, loaded), cycles)
    assert "ablation" not in without and "| no rationalization, cycle" not in without


def test_the_ablation_table_puts_both_chains_side_by_side(metrics_dir):
    from tests.scripts import load_script

    ablation = load_script("ablation")
    write_json(metrics_dir / "train" / "norat_1.json", fake_train(3))
    text = ablation.markdown(2, report.load_metrics(metrics_dir))
    assert "| no rationalization, cycle 1 | 0.050 | 0.050 | 0.050 |" in text
    assert "| Video-STaR cycle 2 (with rationales) | 0.200 |" in text
    assert "label-template SFT" not in text and "final" not in text
    assert "| no rationalization, cycle 1 | 0.300 | 0.000 |" in text  # its direct yields
    assert "| Video-STaR, cycle 2 | 0.200 | 0.000 |" in text


def test_the_ablation_table_refuses_a_run_without_the_chain(metrics_dir):
    from tests.scripts import load_script

    (metrics_dir / "models" / "norat_1.json").unlink()
    with pytest.raises(SystemExit, match="no no-rationalization chain"):
        load_script("ablation").markdown(2, report.load_metrics(metrics_dir))


def test_report_write_produces_every_file(metrics_dir):
    text = report.write(metrics_dir, 2)
    assert (metrics_dir / "report.md").read_text() == text
    assert (metrics_dir / "cycles.csv").read_text().startswith("cycle,")
    assert sorted(p.name for p in (metrics_dir / "yields").iterdir()) == ["a.csv", "b.csv"]


def test_readme_block_is_replaced_and_other_text_kept():
    begin, end = report.markers("results")
    readme = f"intro\n{begin}\nold\n{end}\noutro\n"
    new = report.replace_block(readme, "results", "# Title\n\n| a |\n")
    assert new == f"intro\n{begin}\n| a |\n{end}\noutro\n"
    with pytest.raises(ValueError, match="results"):
        report.replace_block("no block", "results", "x")


def test_readme_shows_the_committed_artifacts():
    """The README's tables are the committed artifacts (generated, never hand-typed)."""
    readme = (REPO / "README.md").read_text()
    for block, source in report.README_BLOCKS.items():
        if block == "results" or (REPO / source).is_file():
            assert report.replace_block(readme, block, (REPO / source).read_text()) == readme


def test_videostar_readme_copies_every_block(tmp_path, monkeypatch):
    from videostar.cli.main import main

    monkeypatch.chdir(tmp_path)
    text = "".join(f"{b}\n{e}\n" for b, e in map(report.markers, report.README_BLOCKS))
    (tmp_path / "README.md").write_text(text)
    (tmp_path / "metrics").mkdir()
    (tmp_path / "metrics/report.md").write_text("# Video-STaR results\n\nresults table\n")
    (tmp_path / "metrics/seeds.md").write_text("seeds table\n")
    assert main(["readme"]) == 0
    new = (tmp_path / "README.md").read_text()
    assert "results table" in new and "seeds table" in new and "Video-STaR results" not in new


def test_seed_aggregation_is_mean_and_sample_std():
    from videostar.cli import seeds

    def experiment(s):
        models = {"base": 0.0, "cycle_1": 0.2 * (s + 1), "label_sft": 0.5}
        metrics = {f"metrics/models/{n}.json": {"data": fake_model(m)} for n, m in models.items()}
        metrics["metrics/majority.json"] = {"data": {"a": 0.25, "b": 0.5, "mean": 0.375}}
        metrics["metrics/data.json"] = {"data": {}}
        params = {"params.yaml": {"data": {"iter": 1}}}
        return {"name": f"seed-{s}", "data": {"params": params, "metrics": metrics}}

    show = [{"rev": "abc", "experiments": [{"revs": [experiment(s) for s in (0, 1)]}]}]
    tables = [seeds.seed_table(seeds.experiment_data(show, f"seed-{s}")) for s in (0, 1)]
    mean, std = seeds.aggregate(tables)
    row = "Video-STaR cycle 1 (with rationales)"
    assert mean.at[row, "mean"] == pytest.approx(0.3)
    assert std.at[row, "mean"] == pytest.approx(0.1414, abs=1e-4)
    assert std.at["base", "mean"] == 0.0
    assert f"| {row} | 0.300 ± 0.141 |" in seeds.to_markdown(mean, std, 2)
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
