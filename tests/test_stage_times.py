"""benchmarks/stage_times.py: per-stage times read from a run's own files."""

import os
from pathlib import Path

import yaml

from tests.scripts import load_script


def _load():
    return load_script("stage_times")


def _write(path: Path, when: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("x")
    os.utime(path, (when, when))


def test_each_stage_takes_from_the_previous_stages_last_output_to_its_own(tmp_path):
    stages = {
        "world": {"outs": [{"path": "data/world"}]},
        "base": {"outs": [{"path": "models/base"}, {"path": "metrics/base.json"}]},
        "answer@cycle_1": {"outs": [{"path": "data/a1.jsonl"}]},
        "answer@cycle_2": {"outs": [{"path": "data/a2.jsonl"}]},
        "gone": {"outs": [{"path": "never/written"}]},
    }
    (tmp_path / "dvc.lock").write_text(yaml.safe_dump({"schema": "2.0", "stages": stages}))
    _write(tmp_path / "data/world/v.mp4", 1010)
    _write(tmp_path / "models/base/model.safetensors", 1100)
    _write(tmp_path / "metrics/base.json", 1110)
    _write(tmp_path / "data/a1.jsonl", 1130)
    _write(tmp_path / "data/a2.jsonl", 1160)
    text = _load().table(tmp_path, started=900, repro_started=1000)
    rows = {r.split("|")[1].strip(): r.split("|")[3].strip() for r in text.splitlines()[4:]}
    assert rows == {"install (venv + pip)": "100", "`world`": "10", "`base`": "100",
                    "`answer`": "50", "**total**": "**260**"}  # fmt: skip
    assert "| `answer` | 2 |" in text  # the foreach stage's two runs, summed


def test_a_stage_whose_outputs_came_with_the_clone_is_listed_as_not_run(tmp_path):
    stages = {
        "base": {"outs": [{"path": "models/base"}]},
        "answer@cycle_1": {"outs": [{"path": "data/a1.jsonl"}]},
    }
    (tmp_path / "dvc.lock").write_text(yaml.safe_dump({"schema": "2.0", "stages": stages}))
    _write(tmp_path / "models/base/model.safetensors", 905)  # checked out with the clone
    _write(tmp_path / "data/a1.jsonl", 1130)
    text = _load().table(tmp_path, started=900, repro_started=1000)
    assert "| `base` | up to date, not run | 0 | 0% |" in text
    assert "| `answer` | 1 | 130 |" in text and "| **total** | 1 | **230** |" in text
