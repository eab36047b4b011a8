"""Stage `corpus`: the pretraining / general-ability corpus of the toy world.

    python -m stages.corpus --out data/corpus    # params `corpus`, `world.*`, `prompts.answer|rationale`
    dvc repro corpus

The corpus teaches what a pretrained video LMM can already do (describe the clip, restate a given
answer when asked to explain it, in the paper's rationalization format, and answer a general
question step by step without one) and never pairs a target task's question with its label. Writes, videos relative to OUT:
- OUT/examples.jsonl: every example {id, video, split, kind, prompt, response (, labels)};
- OUT/general.json: the training split in the LLaVA/ShareGPT format, the default general data
  mixed into each cycle (params `train.general_data`);
- OUT/retention.jsonl: the retention evaluation, one caption question per held-out clip in the
  question schema (a default file of params `evalsets.files`).
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path
from typing import Any

from videostar.core import config
from videostar.core.records import write_json, write_jsonl
from videostar.prompts import PromptsConfig
from videostar.toyworld import world


def general_records(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The training examples as LLaVA/ShareGPT records, in row order (``kind`` kept: readers
    ignore it, the training records name it)."""
    return [
        {
            "id": r["id"],
            "video": r["video"],
            "kind": r["kind"],
            "conversations": [
                {"from": "human", "value": f"<video>\n{r['prompt']}"},
                {"from": "gpt", "value": r["response"]},
            ],
        }
        for r in rows
        if r["split"] == "train"
    ]


def retention_questions(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The first captioning example of every held-out clip, as a question of set "retention"
    (captions without labels cannot be verified: refused rather than skipped)."""
    questions, seen = [], set()
    for r in rows:
        if r["split"] != "test" or r["kind"] != "caption" or r["video"] in seen:
            continue
        if not r.get("labels"):
            raise config.ConfigError(f"corpus row {r['id']!r}: a held-out caption needs labels")
        seen.add(r["video"])
        questions.append(
            {
                "id": r["id"],
                "video_id": Path(r["video"]).stem,
                "video": r["video"],
                "split": "test",
                "task": "caption",
                "set": "retention",
                "question": r["prompt"],
                "labels": r["labels"],
            }
        )
    return questions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    params = config.load_params()
    cfg = config.section(world.CorpusConfig, "corpus", params)
    world_cfg = config.section(world.WorldConfig, "world", params)
    prompts = config.section(PromptsConfig, "prompts", params)
    shutil.rmtree(args.out, ignore_errors=True)
    rows = world.generate_corpus(cfg, world_cfg, args.out, prompts)
    world.assert_no_target_questions(rows)
    write_jsonl(args.out / "examples.jsonl", rows)
    write_json(args.out / "general.json", general_records(rows))
    write_jsonl(args.out / "retention.jsonl", retention_questions(rows))
    print(f"corpus: {len(rows)} examples -> {args.out}")


if __name__ == "__main__":
    main()
