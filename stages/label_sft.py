"""Stage `label_sft`: the paper's "Video-LLaVA+" baseline, label-template fine-tuning.

    python -m stages.label_sft --questions data/questions/questions.jsonl --init models/base \
        --out models/label_sft --records data/train/label_sft --metrics metrics/train/label_sft.json
    dvc repro label_sft

Fine-tunes from the base on every training question answered by its bare gold labels in a
simple template ("The answer is left."), no reasoning, with the same recipe and general data as a
STaR cycle (params `train`). Evaluated exactly like every other model (`evalgen@label_sft`).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from videostar.core import config, distributed
from videostar.core.records import read_jsonl, write_json
from videostar.loop import training_set
from videostar.loop.finetune import fit_stage


def main() -> None:
    distributed.relaunch("stages.label_sft")
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--questions", type=Path, required=True)
    parser.add_argument("--init", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--records", type=Path, required=True)
    parser.add_argument("--metrics", type=Path, required=True)
    parser.add_argument("--curves", type=Path, required=True, help="dvclive folder of the curves")
    args = parser.parse_args()
    params = config.load_params()
    samples = training_set.label_template_samples(read_jsonl(args.questions))
    stats = fit_stage(
        samples, "label_sft", "label_sft", args.init, args.out, args.records, args.curves, params
    )
    if stats is None:  # the first process writes the outputs
        return
    write_json(args.metrics, {"model": "label_sft", "training": stats})
    print(f"label_sft: {stats}")


if __name__ == "__main__":
    main()
