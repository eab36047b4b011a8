"""The loop's pure functions: questions, prompts, row selection, training sets and yields."""

from __future__ import annotations

from pathlib import Path

import pytest

from videostar.core import config
from videostar.core.records import write_jsonl
from videostar.loop import generation, questions, training_set
from videostar.prompts import PromptsConfig


def label(value="left"):
    return {"name": "direction", "type": "category", "value": value}


def manifest_row(i, video, split="train", task="direction", value="left"):
    return {"id": f"v{i}", "video": video, "split": split, "task": task, "labels": [label(value)]}


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


def test_prompts_by_kind_come_from_params():
    row = {"question": "Which way?", "labels": [label("left")]}
    paper = PromptsConfig()
    assert generation.build_prompt("eval", row, paper) == "Which way?"
    assert generation.build_prompt("answer", row, paper) == (
        "Question: Which way?\nCan you explain step-by-step how one can arrive at this conclusion?"
    )
    assert "Answer: direction: left." in generation.build_prompt("rationale", row, paper)
    custom = PromptsConfig(answer="Q: {question} Think.", rationale="{question} | {answer}")
    assert generation.build_prompt("answer", row, custom) == "Q: Which way? Think."
    assert generation.build_prompt("rationale", row, custom) == "Which way? | direction: left"


def test_a_prompt_without_its_fields_is_refused():
    with pytest.raises(ValueError, match=r"prompts.rationale must contain \{answer\}"):
        PromptsConfig(rationale="Question: {question}")


def test_rationalize_only_failures_with_readable_videos():
    failed = [
        {"id": "a", "ok": False, "error": None, "question": "q", "labels": [], "text": "x"},
        {"id": "b", "ok": True, "error": None, "question": "q", "labels": [], "text": "x"},
        {"id": "c", "ok": False, "error": "video: missing file", "question": "q", "labels": []},
    ]
    rows = generation.select_rows("rationale", failed)
    assert [r["id"] for r in rows] == ["a"]
    assert "text" not in rows[0] and "ok" not in rows[0]


def test_answers_and_evaluation_select_by_split():
    rows = [manifest_row(0, "a.mp4"), manifest_row(1, "b.mp4", split="test")]
    assert [r["id"] for r in generation.select_rows("answer", rows)] == ["v0"]
    assert [r["id"] for r in generation.select_rows("eval", rows)] == ["v1"]


def test_stage_seeds_differ_by_kind_and_key():
    seeds = {generation.stage_seed(0, k, n) for k in generation.KINDS for n in ("cycle_1", "x")}
    assert len(seeds) == 6
    assert generation.stage_seed(0, "answer", "cycle_1") == generation.stage_seed(
        0, "answer", "cycle_1"
    )


def test_general_share_counts():
    assert training_set.general_count(100, 0.5) == 100
    assert training_set.general_count(30, 0.25) == 10
    assert training_set.general_count(0, 0.5) == 0
    with pytest.raises(config.ConfigError):
        training_set.general_count(10, 1.0)


def test_general_samples_are_seeded_and_distinct(tmp_path: Path):
    rows = [{"id": f"c{i}", "video": f"videos/{i}.mp4", "split": "train", "kind": "caption",
             "prompt": "Describe.", "response": f"clip {i}"} for i in range(20)]  # fmt: skip
    rows.append({**rows[0], "id": "held-out", "split": "test"})
    write_jsonl(tmp_path / "examples.jsonl", rows)
    a = training_set.general_samples(tmp_path, 5, seed=1)
    assert a == training_set.general_samples(tmp_path, 5, seed=1)
    assert a != training_set.general_samples(tmp_path, 5, seed=2)
    assert len({s["id"] for s in a}) == 5 and "general/held-out" not in {s["id"] for s in a}
    assert all(s["video"] == str(tmp_path / "videos" / Path(s["video"]).name) for s in a)
    assert len(training_set.general_samples(tmp_path, 99, seed=1)) == 20


def test_llava_record_uses_the_bare_question():
    record = training_set.llava_record(
        {"id": "a", "video": "v.mp4", "question": "Which way?", "text": "left"}
    )
    assert record["conversations"] == [
        {"from": "human", "value": "<video>\nWhich way?"},
        {"from": "gpt", "value": "left"},
    ]


def test_yields_are_fractions_of_the_cycles_questions():
    answers = [
        {"task": "a", "ok": True}, {"task": "a", "ok": False},
        {"task": "b", "ok": False, "error": "video: x"}, {"task": "b", "ok": False},
    ]  # fmt: skip
    rationales = [{"task": "a", "ok": True}, {"task": "b", "ok": False}]
    got = training_set.yields(answers, rationales)
    assert got["yield"]["answer"] == 0.25 and got["yield"]["rationale"] == 0.25
    assert got["yield"]["kept"] == 0.5
    assert got["yield"]["answer_by_task"] == {"a": 0.5, "b": 0.0}
    assert got["yield"]["rationale_by_task"] == {"a": 0.5, "b": 0.0}
    assert got["counts"] == {"questions": 4, "answered_verified": 1, "rationalized": 2,
                             "rationalized_verified": 1, "video_errors": 1}  # fmt: skip
    assert training_set.yields([], [])["yield"]["answer"] == 0.0


def test_label_template_samples_answer_bare_questions_with_gold_labels():
    rows = [
        {**manifest_row(0, "a.mp4"), "question": "Which way?"},
        {**manifest_row(1, "b.mp4", split="test"), "question": "Which way?"},
    ]
    samples = training_set.label_template_samples(rows)
    assert len(samples) == 1  # held-out videos are never trained on
    assert samples[0]["question"] == "Which way?"
    assert samples[0]["text"] == "The answer is left."
    assert samples[0]["prompt_kind"] == "label_template"


def test_llm_question_pools_use_the_paper_prompt(tmp_path):
    """The LLM path end to end with a tiny, locally built causal LM (random weights)."""
    from videostar.lmm import tiny

    lm_dir = tmp_path / "lm"
    tiny.build_tiny_text_lm(lm_dir, ["Which way does the ball move?", "video labeled task"])
    rows = [manifest_row(i, f"v{i}.mp4") for i in range(3)]
    rows += [manifest_row(9, "b.mp4", task="blinks", split="test")]  # test rows are never shown
    cfg = questions.QuestionsConfig(
        source="llm",
        llm=questions.LLMConfig(name_or_path=str(lm_dir), max_new_tokens=8, samples_per_task=2),
    )
    template = PromptsConfig().question_generation
    pools, log = questions.llm_pools(rows, cfg, template)
    assert set(pools) == {"direction"}
    assert len(log) == 2
    for entry in log:
        assert entry["prompt"].startswith(
            "A video is labeled direction: left for the task of direction."
        )
        assert isinstance(entry["text"], str)
        assert entry["questions"] == questions.parse_questions(entry["text"])
    again, _ = questions.llm_pools(rows, cfg, template)
    assert again == pools  # seeded
