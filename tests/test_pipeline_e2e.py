"""End to end: the real pipeline through `dvc repro` on a small world, in a temporary clone.

Checks the files each stage produces, the metric schema, that a second `dvc repro` runs nothing,
that `dvc exp run -S iter=3` runs only cycle 3 (plus the final model and the report), that a
verifier threshold change invalidates verification but not generation, and that rerunning a
stage reproduces its outputs byte for byte.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.e2e

SMALL = {
    "iter": 2,
    "world": {"train_per_task": 8, "test_per_task": 4},
    "corpus": {"clips": 80, "test_clips": 10},
    "pretrain": {"min_steps": 40, "max_steps": 40, "warmup_steps": 5},
    "train": {"min_steps": 6, "max_steps": 12, "warmup_steps": 2},
}
CYCLE_STAGES = ("answer", "verify", "rationalize", "reverify", "train", "evalgen", "evaluate")
KEYS = ("1", "2", "norat_1", "norat_2")  # Video-STaR's cycles and the no-rationalization chain


def cycle_stages(keys: tuple[str, ...]) -> set[str]:
    """The stages each key must run. reverify@norat_k verifies an empty file, and the committed
    dvc.lock (the default run's) already records that empty input and output, so DVC may count it
    up to date; its output is checked separately."""
    return {f"{s}@{k}" for s in CYCLE_STAGES for k in keys} - {
        f"reverify@{k}" for k in keys if k.startswith("norat")
    }


def merge(base: dict, extra: dict) -> dict:
    for key, value in extra.items():
        if isinstance(value, dict):
            merge(base.setdefault(key, {}), value)
        else:
            base[key] = value
    return base


def run(cmd: list[str], cwd: Path, env: dict) -> str:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise AssertionError(
            f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
        )
    return proc.stdout + proc.stderr


def ran_stages(output: str) -> set[str]:
    return set(re.findall(r"Running stage '([^']+)'", output))


@pytest.fixture(scope="module")
def clone(tmp_path_factory):
    """A git repo holding the working tree's files (tracked and untracked-but-not-ignored)."""
    dest = tmp_path_factory.mktemp("clone") / "repo"
    files = (
        subprocess.run(
            ["git", "ls-files", "-co", "--exclude-standard", "-z"],
            cwd=REPO,
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .split("\0")
    )
    for name in filter(None, files):
        if (REPO / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, dest / name)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    env.update({"DVC_NO_ANALYTICS": "1", "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t",
                "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"})  # fmt: skip
    conf = dest / "conf" / "config.yaml"
    conf.write_text(yaml.safe_dump(merge(yaml.safe_load(conf.read_text()), SMALL), sort_keys=False))
    run(
        [sys.executable, "-c", "from videostar.cli.compose import compose_params; compose_params()"],
        dest,
        env,
    )
    run(["git", "init", "-q", "-b", "main"], dest, env)
    run(["git", "add", "-A"], dest, env)
    run(["git", "commit", "-qm", "small world"], dest, env)
    first = run(["dvc", "repro"], dest, env)
    return dest, env, first


def test_repro_produces_every_output(clone):
    repo, _, output = clone
    assert cycle_stages(KEYS) <= ran_stages(output)
    for k in KEYS:
        assert (repo / f"data/cycles/{k}/rationales.verified.jsonl").is_file()
    for path in [
        "data/world/manifest.jsonl",
        "data/world/transfer.jsonl",
        "data/evalsets/eval.jsonl",
        "metrics/cycles/norat_2.json",
        "models/norat_2/config.json",
        "metrics/yields/timing.csv",
        "data/prepared/manifest.jsonl",
        "data/prepared/rejects.jsonl",
        "data/corpus/examples.jsonl",
        "models/cycle_0/config.json",
        "data/questions/questions.jsonl",
        "metrics/data.json",
        "metrics/base.json",
        "metrics/cycles/cycle_0.json",
        "metrics/cycles/final.json",
        "metrics/cycles.csv",
        "metrics/report.md",
        "models/final/config.json",
        "models/label_sft/config.json",
        "data/label_sft/train/llava.json",
        "metrics/cycles/label_sft.json",
    ]:
        assert (repo / path).is_file(), path
    for k in (1, 2):
        cycle = repo / "data" / "cycles" / str(k)
        for name in ("answers.jsonl", "answers.verified.jsonl", "rationales.jsonl",
                     "rationales.verified.jsonl", "train/samples.jsonl", "train/llava.json",
                     "train/stats.json"):  # fmt: skip
            assert (cycle / name).is_file(), f"cycle {k}: {name}"
        assert (repo / f"models/cycle_{k}/config.json").is_file()


def test_generated_rows_keep_provenance(clone):
    repo, _, _ = clone
    rows = [json.loads(line) for line in (repo / "data/cycles/1/answers.verified.jsonl").open()]
    assert rows and all(r["split"] == "train" for r in rows)
    for row in rows:
        assert {
            "video_id",
            "question",
            "prompt_kind",
            "prompt",
            "text",
            "labels",
            "ok",
            "verdicts",
        } <= set(row)
        assert row["prompt_kind"] == "answer"
        assert len(row["verdicts"]) == len(row["labels"])
    failed = {r["id"] for r in rows if not r["ok"]}
    rationales = [json.loads(line) for line in (repo / "data/cycles/1/rationales.jsonl").open()]
    assert {r["id"] for r in rationales} == failed  # rationalize exactly the failures
    llava = json.loads((repo / "data/cycles/1/train/llava.json").read_text())
    assert {r["id"] for r in llava if not r["id"].startswith("general/")} <= {r["id"] for r in rows}
    for record in llava:
        assert record["conversations"][0]["value"].startswith("<video>\n")
        if not record["id"].startswith("general/"):  # STaR samples: bare questions only
            assert "step-by-step" not in record["conversations"][0]["value"]


def test_metric_schema(clone):
    repo, _, _ = clone
    tasks = {"direction", "blinks", "route", "timing", "event"}
    for name in ("cycle_0", "cycle_1", "cycle_2", "norat_1", "norat_2", "final", "label_sft"):
        metrics = json.loads((repo / f"metrics/cycles/{name}.json").read_text())
        assert set(metrics["accuracy"]) == tasks | {"mean"}
        assert set(metrics["sets"]) == {"rephrased", "retention", "colour"}
        assert metrics["eval_questions"] == 4 * len(tasks) * 3 + 10  # adapted, rephrased, colour
        assert set(metrics["sets"]["retention"]) == {"caption", "mean"}
        assert set(metrics["majority"]) == tasks | {"mean"}
        assert all(0.0 <= v <= 1.0 for v in metrics["accuracy"].values())
        if name not in ("cycle_0", "label_sft"):
            counts = metrics["counts"]
            assert counts["questions"] == 8 * len(tasks)
            rationalized = (
                0 if name.startswith("norat") else counts["questions"] - counts["answered_verified"]
            )
            assert counts["rationalized"] == rationalized  # every failure, or none in the ablation
            assert 0 <= metrics["yield"]["answer"] <= 1 and 0 <= metrics["yield"]["rationale"] <= 1
    table = (repo / "metrics/report.md").read_text()
    for row in ("majority baseline", "base", "label-template SFT", "no rationalization, cycle 2",
                "Video-STaR cycle 2", "Video-STaR final"):  # fmt: skip
        assert f"| {row}" in table
    header = (repo / "metrics/cycles.csv").read_text().splitlines()[0].split(",")
    assert {"cycle", "accuracy_mean", "yield_answer", "yield_rationale"} <= set(header)


def test_second_repro_runs_nothing(clone):
    repo, env, _ = clone
    assert ran_stages(run(["dvc", "repro"], repo, env)) == set()
    assert "up to date" in run(["dvc", "status"], repo, env)


def test_threshold_change_invalidates_verification_not_generation(clone):
    repo, env, _ = clone
    params = yaml.safe_load((repo / "params.yaml").read_text())
    original = (repo / "params.yaml").read_text()
    params["verify"]["timestamp"]["abs_tol"] = 0.05
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    try:
        status = json.loads(run(["dvc", "status", "--json"], repo, env))
    finally:
        (repo / "params.yaml").write_text(original)
    changed = set(status)
    assert {"verify@1", "reverify@1", "evaluate@1", "verify@2"} <= changed
    assert not changed & {"world", "prepare", "corpus", "base", "questions", "answer@1", "answer@2"}


def test_rationalization_switch_invalidates_only_rationalization(clone):
    repo, env, _ = clone
    original = (repo / "params.yaml").read_text()
    params = yaml.safe_load(original)
    params["rationalize"]["enabled"] = False
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    try:
        changed = set(json.loads(run(["dvc", "status", "--json"], repo, env)))
    finally:
        (repo / "params.yaml").write_text(original)
    assert changed == {f"rationalize@{k}" for k in KEYS}


def test_rerun_is_byte_identical(clone):
    repo, env, _ = clone
    lock = (repo / "dvc.lock").read_text()
    run(["dvc", "repro", "-f", "-s", "world", "answer@1", "train@1"], repo, env)
    assert (repo / "dvc.lock").read_text() == lock


def test_push_then_pull_into_a_new_clone(clone, tmp_path):
    repo, env, _ = clone
    run(["dvc", "remote", "add", "-d", "store", str(tmp_path / "store")], repo, env)
    run(["git", "add", "-A"], repo, env)
    run(["git", "commit", "-qm", "two cycles"], repo, env)
    run(["dvc", "push"], repo, env)
    other = tmp_path / "other"
    run(["git", "clone", "-q", str(repo), str(other)], tmp_path, env)
    run(["dvc", "pull"], other, env)
    assert "up to date" in run(["dvc", "status"], other, env)
    for path in ("models/cycle_2/model.safetensors", "data/cycles/2/train/llava.json",
                 "metrics/cycles/final.json", "data/world/manifest.jsonl"):  # fmt: skip
        assert (other / path).read_bytes() == (repo / path).read_bytes(), path


def test_iter_extension_runs_only_the_new_cycle(clone):
    repo, env, _ = clone
    ran = ran_stages(run(["dvc", "exp", "run", "-S", "iter=3"], repo, env))
    assert cycle_stages(("3", "norat_3")) <= ran
    assert not ran & {f"{s}@{k}" for s in CYCLE_STAGES for k in KEYS}
    assert not ran & {"world", "prepare", "corpus", "base", "questions", "evalgen_base"}
    assert (repo / "metrics/cycles/cycle_3.json").is_file()
    diff = run(["dvc", "metrics", "diff", "--json"], repo, env)
    assert "metrics/cycles/cycle_3.json" in diff


def test_seeds_run_as_experiments_and_aggregate(clone):
    repo, env, _ = clone
    out = run(
        [sys.executable, "-m", "videostar.cli.main", "seeds", "--seeds", "0", "1", "--out", "seeds.md"],
        repo,
        env,
    )
    assert "Mean ± sample std over 2 seeds." in out
    table = (repo / "seeds.md").read_text()
    assert "| Video-STaR cycle 2 |" in table and " ± " in table
    names = run(["dvc", "exp", "ls", "--name-only"], repo, env).split()
    assert {"seed-0", "seed-1"} <= set(names)
