"""Stage `train@m`: instruction-tune a model on a cycle's verified samples (step 4).

    python -m stages.train --name cycle_1 --init models/base --data data/cycles/cycle_1/verified \
        --rationales on --out models/cycle_1 --records data/train/cycle_1 \
        --metrics metrics/train/cycle_1.json
    dvc repro train@cycle_1

The cycle graph (params `graph.train`, from videostar/loop/graph.py) decides every flag: INIT is
the base when cycles restart from base (as STaR does), DATA the verified answers (and, with
`--rationales on`, rationalizations) to keep. Training pairs are (video, bare question) -> verified
text, mixed with `train.general_share` of general data drawn from `train.general_data` (any
LLaVA/ShareGPT JSON file, videos relative to `train.general_videos`; the toy corpus's training
split by default). Writes the model, RECORDS/samples.jsonl (provenance of every example),
RECORDS/llava.json (LLaVA/ShareGPT format), and METRICS: the yields of the data (direct /
rationalized, per task) and the training counts, with the general records not used, per reason.

A killed run resumes from its last checkpoint (every `train.checkpoint_every` steps, kept in
`.videostar/partial/train_<NAME>/`, outside the outputs) to the same model, byte for byte.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from videostar.core import config, distributed
from videostar.core.records import read_jsonl, write_json
from videostar.loop import training_set
from videostar.loop.finetune import fit_stage


def main() -> None:
    distributed.relaunch("stages.train")
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--name", required=True)
    parser.add_argument("--init", type=Path, required=True)
    parser.add_argument("--data", type=Path, required=True, help="a cycle's verified/ folder")
    parser.add_argument("--rationales", choices=("on", "off"), required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--records", type=Path, required=True)
    parser.add_argument("--metrics", type=Path, required=True)
    parser.add_argument("--curves", type=Path, required=True, help="dvclive folder of the curves")
    args = parser.parse_args()
    params = config.load_params()
    answers = read_jsonl(args.data / "answers.jsonl")
    rationales = read_jsonl(args.data / "rationales.jsonl") if args.rationales == "on" else []
    samples = training_set.kept(answers) + training_set.kept(rationales)
    stats = fit_stage(
        samples, f"train@{args.name}", args.name, args.init, args.out, args.records, args.curves,
        params,
    )  # fmt: skip
    if stats is None:  # the first process writes the outputs
        return
    metrics = {"model": args.name, "data": str(args.data), "rationales": args.rationales,
               **training_set.yields(answers, rationales), "training": stats}  # fmt: skip
    write_json(args.metrics, metrics)
    print(f"train {args.name}: {stats}")


if __name__ == "__main__":
    main()
