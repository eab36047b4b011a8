"""End to end: the real pipeline through `dvc repro` on a small world, in a temporary clone.

Checks the files each stage produces, the metric schema, that a second `dvc repro` runs nothing,
that `dvc exp run -S iter=3` runs only cycle 3 (plus the final model and the reports), that a
verifier threshold change invalidates verification but not generation, that editing the answer
prompt invalidates answer generation only, and that rerunning a stage reproduces its outputs byte
for byte.
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
    "model": {"tiny": {"layers": 2}},  # the default's 4 double every stage's time here
    "loop": {"no_rationalization": True},  # off by default; the e2e tests cover its chain
}
GENERATED = ("cycle_1", "cycle_2", "norat_2")  # keys whose answers are generated and verified
RATIONALIZED = ("cycle_1", "cycle_2")
TRAINED = ("cycle_1", "cycle_2", "norat_1", "norat_2", "final")
MODELS = ("base", *TRAINED, "label_sft")


def loop_stages(generated=GENERATED, rationalized=RATIONALIZED, trained=TRAINED, models=MODELS):
    return (
        {f"{s}@{k}" for s in ("answer", "verify") for k in generated}
        | {f"{s}@{k}" for s in ("rationalize", "reverify") for k in rationalized}
        | {f"train@{k}" for k in trained}
        | {f"{s}@{m}" for s in ("evalgen", "evaluate") for m in models}
    )


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


def is_model(folder: Path) -> bool:
    """A saved model: full weights, or a folder naming its base (a LoRA adapter, or the initial
    model of a cycle that kept nothing)."""
    return (folder / "config.json").is_file() or (folder / "base.json").is_file()


def ran_stages(output: str) -> set[str]:
    return set(re.findall(r"Running stage '([^']+)'", output))


def make_clone(dest: Path, params: dict) -> dict:
    """A git repo at DEST holding the working tree's files (tracked and untracked-but-not-ignored),
    with PARAMS merged into conf/config.yaml and params.yaml composed; returns the environment."""
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
    # Stages write __pycache__ into the code folders they depend on, as on a user's machine.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update({"DVC_NO_ANALYTICS": "1", "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t",
                "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"})  # fmt: skip
    conf = dest / "conf" / "config.yaml"
    conf.write_text(
        yaml.safe_dump(merge(yaml.safe_load(conf.read_text()), params), sort_keys=False)
    )
    compose(dest, env)
    run(["git", "init", "-q", "-b", "main"], dest, env)
    run(["git", "add", "-A"], dest, env)
    run(["git", "commit", "-qm", "small world"], dest, env)
    return env


def compose(repo: Path, env: dict, *overrides: str) -> None:
    """`videostar params OVERRIDES...` in REPO, from its own conf/."""
    code = (
        "import sys; from videostar.cli.compose import compose_params; "
        "compose_params('.', sys.argv[1:])"
    )
    run([sys.executable, "-c", code, *overrides], repo, env)


@pytest.fixture(scope="module")
def clone(tmp_path_factory):
    dest = tmp_path_factory.mktemp("clone") / "repo"
    env = make_clone(dest, SMALL)
    first = run(["dvc", "repro"], dest, env)
    return dest, env, first


def test_repro_produces_every_output(clone):
    repo, _, output = clone
    assert loop_stages() | {"majority", "label_sft", "report", "report_html"} <= ran_stages(output)
    for path in [
        "data/world/manifest.jsonl",
        "data/world/transfer.jsonl",
        "data/prepared/manifest.jsonl",
        "data/prepared/rejects.jsonl",
        "data/corpus/examples.jsonl",
        "data/questions/questions.jsonl",
        "data/evalsets/eval.jsonl",
        "models/base/config.json",
        "metrics/data.json",
        "metrics/base.json",
        "metrics/majority.json",
        "metrics/cycles.csv",
        "metrics/report.md",
        "metrics/report.html",
        "metrics/yields/timing.csv",
    ]:
        assert (repo / path).is_file(), path
    for key in GENERATED:
        for name in ("answers.jsonl", "verified/answers.jsonl"):
            assert (repo / f"data/cycles/{key}/{name}").is_file(), f"{key}: {name}"
    for key in RATIONALIZED:
        for name in ("rationales.jsonl", "verified/rationales.jsonl"):
            assert (repo / f"data/cycles/{key}/{name}").is_file(), f"{key}: {name}"
    assert not (repo / "data/cycles/norat_1").exists()  # reuses cycle_1's answers
    assert not (repo / "data/cycles/norat_2/rationales.jsonl").exists()
    for name in (*TRAINED, "label_sft"):
        assert is_model(repo / f"models/{name}"), name
        assert (repo / f"data/train/{name}/llava.json").is_file(), name
        assert (repo / f"metrics/train/{name}.json").is_file(), name
    for name in ("base", *TRAINED, "label_sft"):  # training curves, for dvc plots
        loss = (repo / f"metrics/curves/{name}/plots/metrics/loss.tsv").read_text().splitlines()
        assert loss[0] == "step\tloss", name
        assert (repo / f"metrics/curves/{name}/metrics.json").is_file(), name
    for name in MODELS:
        assert (repo / f"metrics/models/{name}.json").is_file(), name


def test_generated_rows_keep_provenance(clone):
    repo, _, _ = clone
    rows = [
        json.loads(line) for line in (repo / "data/cycles/cycle_1/verified/answers.jsonl").open()
    ]
    assert rows and all(r["split"] == "train" for r in rows)
    for row in rows:
        assert {"video_id", "question", "prompt_kind", "prompt", "text", "labels", "ok",
                "verdicts"} <= set(row)  # fmt: skip
        assert row["prompt_kind"] == "answer" and row["model"] == "models/base"
        assert len(row["verdicts"]) == len(row["labels"])
    failed = {r["id"] for r in rows if not r["ok"]}
    rationales = [
        json.loads(line) for line in (repo / "data/cycles/cycle_1/rationales.jsonl").open()
    ]
    assert {r["id"] for r in rationales} == failed  # rationalize exactly the failures
    llava = json.loads((repo / "data/train/cycle_1/llava.json").read_text())
    assert {r["id"] for r in llava if not r["id"].startswith("general/")} <= {r["id"] for r in rows}
    for record in llava:
        assert record["conversations"][0]["value"].startswith("<video>\n")
        if not record["id"].startswith("general/"):  # STaR samples: bare questions only
            assert "step-by-step" not in record["conversations"][0]["value"]
    # the final model: the last cycle's direct answers only
    last = [
        json.loads(line) for line in (repo / "data/cycles/cycle_2/verified/answers.jsonl").open()
    ]
    final = json.loads((repo / "data/train/final/llava.json").read_text())
    kept = {r["id"] for r in final if not r["id"].startswith("general/")}
    assert kept == {r["id"] for r in last if r["ok"]}


def test_metric_schema(clone):
    repo, _, _ = clone
    tasks = {"direction", "blinks", "route", "timing", "event"}
    majority = json.loads((repo / "metrics/majority.json").read_text())
    assert set(majority) == tasks | {"mean"}
    for name in MODELS:
        metrics = json.loads((repo / f"metrics/models/{name}.json").read_text())
        assert set(metrics["accuracy"]) == tasks | {"mean"}
        assert set(metrics["sets"]) == {"rephrased", "retention", "colour"}
        assert metrics["eval_questions"] == 4 * len(tasks) * 3 + 10  # adapted, rephrased, colour
        assert set(metrics["sets"]["retention"]) == {"caption", "mean"}
        assert all(0.0 <= v <= 1.0 for v in metrics["accuracy"].values())
    for name in TRAINED:
        metrics = json.loads((repo / f"metrics/train/{name}.json").read_text())
        counts = metrics["counts"]
        assert counts["questions"] == 8 * len(tasks)
        rationalized = (
            counts["questions"] - counts["answered_verified"] if name in RATIONALIZED else 0
        )
        assert counts["rationalized"] == rationalized  # every failure, or none without them
        assert 0 <= metrics["yield"]["answer"] <= 1 and 0 <= metrics["yield"]["rationale"] <= 1
        assert metrics["training"]["kept"] == (
            counts["answered_verified"] + counts["rationalized_verified"]
        )
    table = (repo / "metrics/report.md").read_text()
    for row in ("majority baseline", "base", "label-template SFT", "no rationalization, cycle 2",
                "Video-STaR cycle 2 (with rationales)", "Video-STaR final"):  # fmt: skip
        assert f"| {row} |" in table
    header = (repo / "metrics/cycles.csv").read_text().splitlines()[0].split(",")
    assert {"cycle", "accuracy_mean", "yield_answer", "yield_rationale"} <= set(header)


def test_second_repro_runs_nothing(clone):
    repo, env, _ = clone
    assert ran_stages(run(["dvc", "repro"], repo, env)) == set()
    assert "up to date" in run(["dvc", "status"], repo, env)


def stale_after_editing(repo: Path, env: dict, edit) -> set[str]:
    original = (repo / "params.yaml").read_text()
    params = yaml.safe_load(original)
    edit(params)
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    try:
        return set(json.loads(run(["dvc", "status", "--json"], repo, env)))
    finally:
        (repo / "params.yaml").write_text(original)


def test_threshold_change_invalidates_verification_not_generation(clone):
    repo, env, _ = clone

    def edit(params):
        params["verify"]["timestamp"]["abs_tol"] = 0.05

    changed = stale_after_editing(repo, env, edit)
    assert changed == (
        {f"verify@{k}" for k in GENERATED} | {f"reverify@{k}" for k in RATIONALIZED}
        | {f"evaluate@{m}" for m in MODELS} | {"majority"}
    )  # fmt: skip


def test_editing_the_answer_prompt_makes_only_answer_generation_stale(clone):
    """Prompts are params: the paper's answer prompt changes answer@k and, of the stages before
    it, only the toy corpus, whose general questions are asked under it."""
    repo, env, _ = clone

    def edit(params):
        params["prompts"]["answer"] = "Question: {question}\nExplain your answer step by step."

    assert stale_after_editing(repo, env, edit) == {"corpus"} | {f"answer@{k}" for k in GENERATED}


def test_rerun_is_byte_identical(clone):
    repo, env, _ = clone
    lock = (repo / "dvc.lock").read_text()
    run(["dvc", "repro", "-f", "-s", "world", "answer@cycle_1", "train@cycle_1"], repo, env)
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
    for path in ("models/cycle_2/model.safetensors", "data/train/cycle_2/llava.json",
                 "metrics/models/final.json", "data/world/manifest.jsonl"):  # fmt: skip
        assert (other / path).read_bytes() == (repo / path).read_bytes(), path


def test_iter_extension_runs_only_the_new_cycle(clone):
    repo, env, _ = clone
    ran = ran_stages(run(["dvc", "exp", "run", "-S", "iter=3"], repo, env))
    new = loop_stages(("cycle_3", "norat_3"), ("cycle_3",), ("cycle_3", "norat_3"),
                      ("cycle_3", "norat_3"))  # fmt: skip
    assert new <= ran
    # the final model moves to cycle 3's data (its evaluation reruns only if the model changed);
    # nothing of cycles 1-2 reruns
    assert "train@final" in ran
    assert ran - new <= {"train@final", "evalgen@final", "evaluate@final", "report", "report_html"}
    assert (repo / "metrics/models/cycle_3.json").is_file()
    diff = run(["dvc", "metrics", "diff", "--json"], repo, env)
    assert "metrics/models/cycle_3.json" in diff


def test_seeds_run_as_experiments_and_aggregate(clone):
    """One cycle per seed keeps this test to one small pipeline run (seed 1's); seed 0's cycle 1
    comes from the run cache of the clone's repro."""
    repo, env, _ = clone
    out = run(
        [sys.executable, "-m", "videostar.cli.main", "seeds", "--seeds", "0", "1", "--prefix",
         "one", "-S", "iter=1", "--out", "seeds.md"],
        repo,
        env,
    )  # fmt: skip
    assert "Seeds 0, 1, with `-S iter=1`. Mean ± sample std over 2 seeds." in out
    table = (repo / "seeds.md").read_text()
    assert "| Video-STaR final |" in table and " ± " in table
    assert "cycle 2" not in table.lower()
    names = run(["dvc", "exp", "ls", "--name-only"], repo, env).split()
    assert {"one-0", "one-1"} <= set(names)
