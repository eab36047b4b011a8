"""Stage `corpus`: the pretraining / general-ability corpus of the toy world.

    python -m stages.corpus --out data/corpus    # params `corpus`, `world.*`, `prompts.rationale`
    dvc repro corpus

The corpus teaches what a pretrained video LMM can already do (describe the clip, restate a given
answer when asked to explain it, in the paper's rationalization format) and never pairs a target
task's question with its label. Rows: OUT/examples.jsonl {id, video (relative to OUT), split,
kind, prompt, response}.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from videostar.core import config
from videostar.core.records import write_jsonl
from videostar.prompts import PromptsConfig
from videostar.toyworld import world


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    params = config.load_params()
    cfg = config.section(world.CorpusConfig, "corpus", params)
    world_cfg = config.section(world.WorldConfig, "world", params)
    hint_prompt = config.section(PromptsConfig, "prompts", params).rationale
    shutil.rmtree(args.out, ignore_errors=True)
    rows = world.generate_corpus(cfg, world_cfg, args.out, hint_prompt)
    world.assert_no_target_questions(rows)
    write_jsonl(args.out / "examples.jsonl", rows)
    print(f"corpus: {len(rows)} examples -> {args.out}")


if __name__ == "__main__":
    main()
