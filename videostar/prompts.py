"""The method's prompt templates, quoted from the Video-STaR paper; params.yaml `prompts` sets them.

Prompts are params, not code, so editing one reruns exactly the stages that format it: `answer@k`
reads `prompts.answer`, `rationalize@k` (and the toy corpus, which teaches the hint format)
`prompts.rationale`, `questions` `prompts.question_generation`. The run records each prompt
verbatim on every generated row.
"""

from __future__ import annotations

from dataclasses import dataclass

STEP_BY_STEP = "Can you explain step-by-step how one can arrive at this conclusion?"


@dataclass(frozen=True)
class PromptsConfig:
    """answer: step 1, ``{question}``; rationale: step 3, ``{question}`` and the gold labels as
    ``{answer}``; question_generation: step 0, ``{labels}`` and the task description ``{task}``."""

    answer: str = "Question: {question}\n" + STEP_BY_STEP
    rationale: str = "Question: {question}\nAnswer: {answer}.\n" + STEP_BY_STEP
    question_generation: str = (
        "A video is labeled {labels} for the task of {task}. What questions could you ask "
        "someone about the video that should contain the video labels in the response?"
    )

    def __post_init__(self) -> None:
        for name, fields in (
            ("answer", ("{question}",)),
            ("rationale", ("{question}", "{answer}")),
            ("question_generation", ("{labels}", "{task}")),
        ):
            missing = [f for f in fields if f not in getattr(self, name)]
            if missing:
                raise ValueError(f"prompts.{name} must contain {', '.join(missing)}")


def answer_prompt(template: str, question: str) -> str:
    return template.format(question=question)


def rationale_prompt(template: str, question: str, hint: str) -> str:
    return template.format(question=question, answer=hint)


def question_generation_prompt(template: str, labels: str, task: str) -> str:
    return template.format(labels=labels, task=task)
