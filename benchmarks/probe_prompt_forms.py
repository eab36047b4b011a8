"""How a model's greedy answers change with the form of the question: bare, after "Question: ",
before the answer prompt's request line, in the whole answer prompt, and in the rationale prompt
with the gold labels as its hint (what rationalization asks).

    .venv/bin/python benchmarks/probe_prompt_forms.py --model models/cycle_2 \
        --out metrics/trials/prompt_forms.md

Asks the first --per-task training questions of each task in data/questions/questions.jsonl
(greedy, as evaluation does) and counts the answers the pipeline's verifier passes (params
`verify`, the vocabularies of --task-list, data/prepared/tasks.json by default). Writes a
markdown table and one example answer per form and task.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from videostar.core import config  # noqa: E402
from videostar.core.records import read_json, read_jsonl  # noqa: E402
from videostar.labels import Verifier, VerifyConfig, render_hint  # noqa: E402
from videostar.labels.rows import read_vocabularies, verify_rows  # noqa: E402
from videostar.lmm import generation, loading  # noqa: E402
from videostar.lmm.config import SamplingConfig  # noqa: E402
from videostar.prompts import STEP_BY_STEP, PromptsConfig  # noqa: E402
from videostar.video.frames import clip_ref, load_clips  # noqa: E402

FORMS = {
    "the bare question": "{question}",
    '"Question: " + question': "Question: {question}",
    "question + the request line": "{question}\n" + STEP_BY_STEP,
    "the answer prompt (both)": PromptsConfig.answer,
    "the rationale prompt (gold hint)": PromptsConfig.rationale,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--questions", type=Path, default=Path("data/questions/questions.jsonl"))
    parser.add_argument("--task-list", type=Path, default=Path("data/prepared/tasks.json"))
    parser.add_argument("--tasks", nargs="+", default=["event", "timing", "blinks", "direction"])
    parser.add_argument("--per-task", type=int, default=32)
    parser.add_argument("--num-frames", type=int, default=8)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    rows = [r for r in read_jsonl(args.questions) if r["split"] == "train"]
    verifier = Verifier(config.section(VerifyConfig, "verify"))
    vocabularies = read_vocabularies(read_json(args.task_list))
    model, processor = loading.load(args.model)
    greedy = SamplingConfig(temperature=0.0, top_p=1.0, top_k=0, repetition_penalty=1.0,
                            max_new_tokens=48, batch_size=16)  # fmt: skip
    counts: dict[str, dict[str, str]] = {form: {} for form in FORMS}
    examples = []
    for task in args.tasks:
        sample = [r for r in rows if r["task"] == task][: args.per_task]
        clips, _ = load_clips([clip_ref(r) for r in sample], args.num_frames)
        for form, template in FORMS.items():
            items = [
                (
                    clips[clip_ref(r)],
                    template.format(question=r["question"], answer=render_hint(r["labels"])),
                )
                for r in sample
            ]
            texts = generation.generate(model, processor, items, greedy, seed=0)
            answered = [{**r, "text": t} for r, t in zip(sample, texts, strict=True)]
            hits = sum(r["ok"] for r in verify_rows(answered, verifier, vocabularies))
            counts[form][task] = f"{hits} / {len(sample)}"
            examples.append(
                f"- `{task}`, {form}: {texts[0]!r} (gold: {sample[0]['labels'][0]['value']!r})"
            )
    lines = [
        f"Greedy answers of `{args.model}` to the first {args.per_task} training questions per "
        "task that the verifier passes (`benchmarks/probe_prompt_forms.py`):",
        "",
        "| question given as | " + " | ".join(f"`{t}`" for t in args.tasks) + " |",
        "|---|" + "---|" * len(args.tasks),
        *(
            f"| {form} | " + " | ".join(counts[form][t] for t in args.tasks) + " |"
            for form in FORMS
        ),
        "",
        "The first answer of each:",
        "",
        *examples,
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
