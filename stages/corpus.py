"""Stage `corpus`: the pretraining / general-ability corpus of the same world.

    python -m stages.corpus           # reads params.yaml `corpus` and `world`, writes data/corpus/
    dvc repro corpus

The corpus teaches what a pretrained video LMM can already do (describe the clip, restate a given
answer when asked to explain it) and never pairs a target task's question with its label.
Rows: data/corpus/examples.jsonl {id, video (relative to data/corpus), split, kind, prompt, response}.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from stages import config, toyworld
from stages.records import write_jsonl

OUT = Path("data/corpus")


def main() -> None:
    params = config.load_params()
    cfg = config.section(toyworld.CorpusConfig, "corpus", params)
    world = config.section(toyworld.WorldConfig, "world", params)
    shutil.rmtree(OUT, ignore_errors=True)
    rows = toyworld.generate_corpus(cfg, world, OUT)
    toyworld.assert_no_target_questions(rows)
    write_jsonl(OUT / "examples.jsonl", rows)
    print(f"corpus: {len(rows)} examples -> {OUT}")


if __name__ == "__main__":
    main()
