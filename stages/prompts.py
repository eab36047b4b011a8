"""Every prompt string of the method, in one place (quoted from the Video-STaR paper)."""

from __future__ import annotations

STEP_BY_STEP = "Can you explain step-by-step how one can arrive at this conclusion?"

# Step 1, answer generation.
ANSWER = "Question: {question}\n" + STEP_BY_STEP

# Step 3, label rationalization: the gold labels are given as a hint.
RATIONALE = "Question: {question}\nAnswer: {answer}.\n" + STEP_BY_STEP

# Step 0, question generation with an LLM.
QUESTION_GENERATION = (
    "A video is labeled {labels} for the task of {task}. What questions could you ask someone "
    "about the video that should contain the video labels in the response?"
)

PROMPT_KINDS = ("answer", "rationale", "eval")


def answer_prompt(question: str) -> str:
    return ANSWER.format(question=question)


def rationale_prompt(question: str, hint: str) -> str:
    return RATIONALE.format(question=question, answer=hint)


def question_generation_prompt(labels: str, task: str) -> str:
    return QUESTION_GENERATION.format(labels=labels, task=task)
