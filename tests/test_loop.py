"""The loop's pure functions: questions, prompts, row selection, training sets and yields."""

from __future__ import annotations

from pathlib import Path

import pytest

from videostar.core import config
from videostar.core.records import write_json
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


def llava(i, video="videos/c.mp4", question="<video>\nDescribe.", answer="A clip.", **extra):
    turns = [{"from": "human", "value": question}, {"from": "gpt", "value": answer}]
    return {"id": f"c{i}", "video": video, "conversations": turns, **extra}


def test_general_data_is_read_from_llava_sharegpt_records(tmp_path: Path):
    records = [
        llava(0, kind="caption"),
        llava(1, question="Describe.\n<video>"),  # placeholder after the text
        llava(2, question="Describe."),  # no placeholder
        {**llava(3), "conversations": [{"from": "system", "value": "Be brief."},
                                       *llava(3)["conversations"],
                                       {"from": "human", "value": "More?"},
                                       {"from": "gpt", "value": "No."}]},
        {k: v for k, v in llava(4).items() if k != "id"},  # no id: its place in the file
    ]  # fmt: skip
    write_json(tmp_path / "general.json", records)
    pool, skipped = training_set.read_general(tmp_path / "general.json", tmp_path / "vids")
    assert skipped == dict.fromkeys(training_set.GENERAL_SKIPS, 0)
    assert pool[0] == {"id": "general/c0", "video": str(tmp_path / "vids" / "videos" / "c.mp4"),
                       "question": "Describe.", "text": "A clip.",
                       "prompt_kind": "general:caption"}  # fmt: skip
    assert [(s["question"], s["text"]) for s in pool] == [("Describe.", "A clip.")] * 5
    assert [s["id"] for s in pool] == ["general/c0", "general/c1", "general/c2", "general/c3",
                                       "general/4"]  # fmt: skip
    assert {s["prompt_kind"] for s in pool[1:]} == {"general"}


def test_unusable_general_records_are_counted_per_reason(tmp_path: Path):
    records = [
        llava(0),
        "not a record",
        {k: v for k, v in llava(2).items() if k != "video"},
        llava(3, video=""),
        llava(4, video="/abs/c.mp4"),
        llava(5, video="../c.mp4"),
        llava(6, video="videos/../../c.mp4"),
        {k: v for k, v in llava(7).items() if k != "conversations"},
        {**llava(8), "conversations": [{"from": "gpt", "value": "A clip."}]},
        {**llava(9), "conversations": [{"from": "human", "value": "<video>\nDescribe."}] * 2},
        llava(10, question="<video>\n"),  # nothing asked
        llava(11, answer=""),
    ]
    write_json(tmp_path / "general.json", records)
    pool, skipped = training_set.read_general(tmp_path / "general.json", tmp_path)
    assert [s["id"] for s in pool] == ["general/c0"]
    assert skipped == {"not_a_record": 1, "no_video": 2, "video_outside_folder": 3,
                       "no_question_answer": 5}  # fmt: skip
    write_json(tmp_path / "general.json", {"id": "c0"})
    with pytest.raises(config.ConfigError, match="JSON list"):
        training_set.read_general(tmp_path / "general.json", tmp_path)


def test_general_samples_are_seeded_and_distinct():
    pool = [{"id": f"general/c{i}", "question": "Describe.", "text": f"clip {i}"}
            for i in range(20)]  # fmt: skip
    a = training_set.general_samples(pool, 5, seed=1)
    assert a == training_set.general_samples(pool, 5, seed=1)
    assert a != training_set.general_samples(pool, 5, seed=2)
    assert len({s["id"] for s in a}) == 5 and a == sorted(a, key=pool.index)  # in pool order
    assert training_set.general_samples(pool, 99, seed=1) == pool
    assert training_set.general_samples(pool, 0, seed=1) == []


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
        {"task": "b", "ok": False, "error": "row: 'question' must be a string"},
    ]  # fmt: skip
    rationales = [{"task": "a", "ok": True}, {"task": "b", "ok": False}]
    got = training_set.yields(answers, rationales)
    assert got["yield"]["answer"] == 0.2 and got["yield"]["rationale"] == 0.2
    assert got["yield"]["kept"] == 0.4
    assert got["yield"]["answer_by_task"] == {"a": 0.5, "b": 0.0}
    assert got["yield"]["rationale_by_task"] == {"a": 0.5, "b": 0.0}
    assert got["counts"] == {"questions": 5, "answered_verified": 1, "rationalized": 2,
                             "rationalized_verified": 1, "video_errors": 1,
                             "row_errors": 1}  # fmt: skip
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
    tasks = {"direction": {"description": "motion direction recognition"}}
    pools, log = questions.llm_pools(rows, cfg, template, tasks)
    assert set(pools) == {"direction"}
    assert len(log) == 2
    for entry in log:
        assert entry["prompt"].startswith(
            "A video is labeled direction: left for the task of motion direction recognition."
        )
        assert isinstance(entry["text"], str)
        assert entry["questions"] == questions.parse_questions(entry["text"])
    again, _ = questions.llm_pools(rows, cfg, template, tasks)
    assert again == pools  # seeded


def test_task_description_comes_from_params_then_the_dataset():
    """The prompt's {T}: questions.descriptions, else the adapter's (tasks.json), else the key;
    rows with their own question are never sent to the LLM."""
    rows = [manifest_row(0, "a.mp4", task="air_drumming"), manifest_row(1, "b.mp4", task="k"),
            {**manifest_row(2, "c.mp4", task="star"), "question": "What did the person hold?"}]  # fmt: skip
    template = PromptsConfig().question_generation
    cfg = questions.QuestionsConfig(descriptions={"k": "human action recognition"})
    tasks = {"k": {"description": "ignored: params win"}, "air_drumming": {}}
    prompts = {
        task: prompt for task, _, prompt in questions.llm_requests(rows, cfg, template, tasks)
    }
    assert set(prompts) == {"air_drumming", "k"}
    assert "for the task of human action recognition." in prompts["k"]
    assert "for the task of air drumming." in prompts["air_drumming"]
