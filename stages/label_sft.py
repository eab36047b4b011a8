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

from videostar.core import config, distributed, failures, seeding
from videostar.core.curves import Curves
from videostar.core.records import read_jsonl, write_json
from videostar.lmm.config import LoadConfig
from videostar.loop import training_set
from videostar.loop.finetune import CycleTrainConfig, fit


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
    cfg = config.section(CycleTrainConfig, "train", params)
    samples = training_set.label_template_samples(read_jsonl(args.questions))
    shard = distributed.current()
    curves = Curves(args.curves) if shard.main else None
    with failures.explained("label_sft", ["train.micro_batch_size", "sampling.num_frames"]):
        stats = fit(
            samples,
            init=args.init,
            out=args.out,
            records_dir=args.records,
            cfg=cfg,
            num_frames=config.value("sampling.num_frames", int, params),
            seed=seeding.derive(cfg.seed, "train", "label_sft"),
            runtime=LoadConfig.from_params(params),
            stage="label_sft",
            shard=shard,
            log=curves.log if curves else None,
        )
    if curves is None:  # the first process writes the outputs
        return
    curves.close()
    write_json(args.metrics, {"model": "label_sft", "training": stats})
    print(f"label_sft: {stats}")


if __name__ == "__main__":
    main()
