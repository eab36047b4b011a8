"""Training curves: one tsv row per step, the last values in metrics.json, same bytes again."""

from __future__ import annotations

import json

import pytest

from videostar.core.curves import Curves


def write(folder, steps: int) -> None:
    curves = Curves(folder)
    for step in range(steps):
        curves.log(step, {"loss": 1 / (step + 1), "lr": 0.1, "grad_norm": 2.0, "examples": step})
    curves.close()


def test_curves_are_one_row_per_step_and_reproducible(tmp_path):
    write(tmp_path / "a", 3)
    write(tmp_path / "b", 3)
    loss = (tmp_path / "a/plots/metrics/loss.tsv").read_text()
    assert loss == "step\tloss\n0\t1.0\n1\t0.5\n2\t0.3333333333333333\n"
    summary = json.loads((tmp_path / "a/metrics.json").read_text())
    assert summary == {"loss": 1 / 3, "lr": 0.1, "grad_norm": 2.0, "examples": 2, "step": 2}
    for name in ("plots/metrics/loss.tsv", "plots/metrics/lr.tsv", "metrics.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_an_untrained_model_still_has_its_outputs(tmp_path):
    write(tmp_path / "none", 0)
    assert (tmp_path / "none/plots/metrics/loss.tsv").read_text() == "step\tloss\n"
    assert json.loads((tmp_path / "none/metrics.json").read_text()) == {}


def test_steps_must_arrive_in_order(tmp_path):
    curves = Curves(tmp_path / "c")
    curves.log(0, {"loss": 1.0})
    with pytest.raises(ValueError, match="step 2 logged after step 0"):
        curves.log(2, {"loss": 1.0})
