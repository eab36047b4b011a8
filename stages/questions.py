"""Stage `questions`: one question per labeled video, tied to its labels (step 0).

    python -m stages.questions --manifest data/prepared/manifest.jsonl \
        --tasks data/prepared/tasks.json --out data/questions
    dvc repro questions

`questions.source: pool` picks each video's question from its task's pool in params, stably per
video id. `source: llm` first asks a local causal LM (`questions.llm`), with the paper's template
prompt (`prompts.question_generation`, its `{T}` the task description from `questions.descriptions`
or TASKS), for a pool per task, then picks from it the same way; OUT/pools.json and
OUT/llm_log.jsonl keep what it wrote. A row with its own question (STAR's, a templated one) keeps
it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from videostar.core import config
from videostar.core.records import read_json, read_jsonl, write_json, write_jsonl
from videostar.loop import questions
from videostar.prompts import PromptsConfig


def llm_pools(
    rows: list[dict], cfg: questions.QuestionsConfig, tasks: dict, out: Path
) -> dict[str, list[str]]:
    template = config.section(PromptsConfig, "prompts").question_generation
    pools, log = questions.llm_pools(rows, cfg, template, tasks)
    write_jsonl(out / "llm_log.jsonl", log)
    write_json(out / "pools.json", pools)
    empty = sorted(task for task, pool in pools.items() if not pool)
    if empty:
        raise RuntimeError(
            f"questions: the LLM wrote no parsable question for task(s) {empty}; "
            f"its raw outputs are in {out / 'llm_log.jsonl'}"
        )
    return pools


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--manifest", type=Path, required=True)
    parser.add_argument("--tasks", type=Path, required=True, help="the prepared tasks.json")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    cfg = config.section(questions.QuestionsConfig, "questions")
    rows = read_jsonl(args.manifest)
    args.out.mkdir(parents=True, exist_ok=True)
    if cfg.source == "llm":
        pools = llm_pools(rows, cfg, read_json(args.tasks), args.out)
    else:
        pools = {task: list(pool) for task, pool in cfg.pool.items()}
    made = questions.make_questions(rows, pools, cfg.seed, cfg.source)
    write_jsonl(args.out / "questions.jsonl", made)
    print(f"questions: {len(made)} -> {args.out / 'questions.jsonl'}")


if __name__ == "__main__":
    main()
