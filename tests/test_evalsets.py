"""The evaluation sets: adapted, rephrased (transfer), and the files of every other set
(retention, general ability; colour, transfer)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from stages import corpus as corpus_stage
from videostar.core import config, seeding
from videostar.core.records import dumps, read_jsonl, write_jsonl
from videostar.evaluation import evalsets
from videostar.prompts import PromptsConfig
from videostar.toyworld import world as toyworld

REPO = Path(__file__).resolve().parents[1]
PROMPTS = PromptsConfig()


def question(i: int, split: str, task: str = "direction", text: str = "Which way?") -> dict:
    return {
        "id": f"v{i}", "video_id": f"v{i}", "video": f"data/world/videos/v{i}.mp4",
        "split": split, "task": task, "question": text, "question_source": "pool:0",
        "labels": [{"name": "direction", "type": "category", "value": "left"}],
    }  # fmt: skip


def small_files(tmp_path: Path) -> tuple[Path, Path, list[dict]]:
    """The world's colour questions and the corpus stage's retention questions of a small world;
    returns both files and the corpus rows."""
    world = toyworld.WorldConfig(tasks=("direction", "route"), train_per_task=2, test_per_task=3)
    transfer = tmp_path / "world" / "transfer.jsonl"
    write_jsonl(transfer, toyworld.colour_questions(world))
    corpus = toyworld.generate_corpus(
        toyworld.CorpusConfig(clips=2, test_clips=3), world, tmp_path / "corpus", PROMPTS
    )
    retention = tmp_path / "corpus" / "retention.jsonl"
    write_jsonl(retention, corpus_stage.retention_questions(corpus))
    return transfer, retention, corpus


def write_empty(path: Path) -> str:
    path.write_text("")
    return str(path)


QUESTIONS = [question(0, "train"), question(1, "test"), question(2, "test", "route")]


def test_sets_are_built_and_training_questions_refused(tmp_path):
    transfer, retention, _ = small_files(tmp_path)
    cfg = evalsets.EvalSetsConfig(
        seed=0,
        rephrased={"direction": ("Toward which side?",)},
        transfer=str(transfer),
        retention=str(retention),
        max_reject_fraction=0.0,
    )
    rows, rejects = evalsets.build(cfg, QUESTIONS)
    assert rejects == []
    by_set: dict[str, list] = {}
    for row in rows:
        by_set.setdefault(row["set"], []).append(row)
    assert {k: len(v) for k, v in by_set.items()} == {
        "adapted": 2, "colour": 6, "rephrased": 1, "retention": 3
    }  # fmt: skip
    assert by_set["rephrased"][0]["question"] == "Toward which side?"
    assert by_set["rephrased"][0]["labels"] == QUESTIONS[1]["labels"]
    retention_row = by_set["retention"][0]
    assert [label["name"] for label in retention_row["labels"]] == ["colour", "motion"]
    assert Path(retention_row["video"]).is_file()
    colour = by_set["colour"][0]
    assert colour["video"] == (transfer.parent / "videos" / f"{colour['video_id']}.mp4").as_posix()
    assert all(r["split"] == "test" for r in rows)

    none = write_empty(tmp_path / "none.jsonl")
    leaky = evalsets.EvalSetsConfig(
        seed=0,
        rephrased={"direction": ("which way?",)},
        transfer=none,
        retention=none,
        max_reject_fraction=0.0,
    )
    with pytest.raises(config.ConfigError, match="training questions"):
        evalsets.build(leaky, QUESTIONS)


def test_retention_from_its_file_is_what_the_corpus_gave_before(tmp_path):
    """The retention rows read from the corpus stage's retention.jsonl are the rows the evalsets
    stage derived from the corpus itself before (same ids, questions, labels, videos)."""
    _, retention, corpus = small_files(tmp_path)
    cfg = evalsets.EvalSetsConfig(
        seed=0,
        rephrased={},
        transfer=write_empty(tmp_path / "none.jsonl"),
        retention=str(retention),
        max_reject_fraction=0.0,
    )
    corpus_dir = tmp_path / "corpus"
    before, seen = [], set()
    for r in corpus:  # the former evalsets.retention_rows
        if r["split"] == "test" and r["kind"] == "caption" and r["video"] not in seen:
            seen.add(r["video"])
            before.append({"id": r["id"], "video_id": Path(r["video"]).stem,
                           "video": (corpus_dir / r["video"]).as_posix(), "split": "test",
                           "task": "caption", "set": "retention", "question": r["prompt"],
                           "labels": r["labels"]})  # fmt: skip
    got = [r for r in evalsets.build(cfg, QUESTIONS)[0] if r["set"] == "retention"]
    assert [dumps(r) for r in got] == [dumps(r) for r in sorted(before, key=lambda r: r["id"])]


def test_file_rows_that_are_training_questions_or_repeat_ids_are_refused(tmp_path):
    transfer, retention, _ = small_files(tmp_path)
    trained = [*QUESTIONS, question(3, "train", text=read_jsonl(retention)[0]["question"])]
    none = write_empty(tmp_path / "none.jsonl")
    cfg = evalsets.EvalSetsConfig(
        seed=0, rephrased={}, transfer=none, retention=str(retention), max_reject_fraction=0.0
    )
    with pytest.raises(config.ConfigError, match="training questions"):
        evalsets.build(cfg, trained)
    twice = evalsets.EvalSetsConfig(
        seed=0, rephrased={}, transfer=str(transfer), retention=str(transfer), max_reject_fraction=0
    )
    with pytest.raises(config.ConfigError, match="not unique"):
        evalsets.build(twice, QUESTIONS)


def test_stage_reads_the_files_params_name(tmp_path, monkeypatch):
    from stages import evalsets as evalsets_stage

    transfer, retention, _ = small_files(tmp_path)
    write_jsonl(tmp_path / "questions.jsonl", QUESTIONS)
    params = {"evalsets": {"seed": 0, "rephrased": {}, "transfer": str(transfer),
                           "retention": str(retention), "max_reject_fraction": 0.0}}  # fmt: skip
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("sys.argv", ["evalsets", "--questions", "questions.jsonl", "--out", "out"])
    evalsets_stage.main()
    assert {r["set"] for r in read_jsonl("out/eval.jsonl")} == {"adapted", "colour", "retention"}


def test_unusable_file_rows_are_rejected_with_their_line_and_reason(tmp_path):
    path = tmp_path / "t.jsonl"
    good = {"id": "ok", "video": "a.mp4", "task": "t", "set": "s", "question": "Which way?",
            "labels": [{"name": "direction", "type": "category", "value": "left"}]}  # fmt: skip
    bad = [
        {**good, "id": "up", "video": "../../etc/passwd"},
        {"id": "x", "video": "a.mp4"},
        {**good, "id": "odd", "labels": [{"name": "n", "type": "smell", "value": 1}]},
        {**good, "id": "noset", "set": ""},
        {**good, "id": "own", "set": "adapted"},
    ]
    write_jsonl(path, [good, *bad])
    with open(path, "a") as f:
        f.write('{"id": "torn", "vid\n')
    rows, rejects = evalsets.file_rows(path)
    assert [r["id"] for r in rows] == ["ok"]
    assert [r["stage"] for r in rejects] == [f"evalsets {path}:{n}" for n in range(2, 8)]
    reasons = [r["reason"] for r in rejects]
    assert "escapes" in reasons[0] and "'task'" in reasons[1]
    assert "unknown label type 'smell'" in reasons[2] and "'set'" in reasons[3]
    assert "adapted" in reasons[4] and reasons[5].startswith("not JSON")


def test_the_stage_writes_rejects_and_fails_past_the_fraction(tmp_path, monkeypatch):
    from stages import evalsets as evalsets_stage

    transfer, retention, _ = small_files(tmp_path)
    with open(transfer, "a") as f:
        f.write("not json\n")
    write_jsonl(tmp_path / "questions.jsonl", QUESTIONS)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("sys.argv", ["evalsets", "--questions", "questions.jsonl", "--out", "out"])
    for fraction, fails in ((0.0, True), (0.5, False)):
        params = {"evalsets": {"seed": 0, "rephrased": {}, "transfer": str(transfer),
                               "retention": str(retention), "max_reject_fraction": fraction}}  # fmt: skip
        (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
        if fails:
            with pytest.raises(config.ConfigError, match="max_reject_fraction"):
                evalsets_stage.main()
        else:
            evalsets_stage.main()
            assert read_jsonl("out/eval.jsonl")
        (reject,) = read_jsonl("out/rejects.jsonl")
        assert reject["reason"].startswith("not JSON")


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


def test_file_videos_stay_inside_their_folder_lexically(tmp_path):
    """A symlink inside the file's folder (DVC's symlink cache) is followed; `..` is refused."""
    elsewhere = tmp_path / "cache" / "ab12"
    elsewhere.parent.mkdir()
    elsewhere.write_bytes(b"video")
    folder = tmp_path / "set"
    folder.mkdir()
    (folder / "clip.mp4").symlink_to(elsewhere)
    row = {"id": "r0", "task": "caption", "set": "retention", "question": "Describe it.",
           "labels": [{"name": "colour", "type": "category", "value": "red"}]}  # fmt: skip
    write_jsonl(folder / "ok.jsonl", [{**row, "video": "clip.mp4"}])
    (got,), _ = evalsets.file_rows(folder / "ok.jsonl")
    assert got["video"] == (folder / "clip.mp4").as_posix()
    write_jsonl(folder / "bad.jsonl", [{**row, "video": "../cache/ab12"}])
    rows, (rejected,) = evalsets.file_rows(folder / "bad.jsonl")
    assert rows == [] and "escapes" in rejected["reason"]
