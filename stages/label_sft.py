"""Stage `label_sft`: the paper's "Video-LLaVA+" baseline, label-template fine-tuning.

    python -m stages.label_sft        # reads params.yaml `train`; writes models/label_sft/
    dvc repro label_sft

Fine-tunes from the base on every training question answered by its bare gold labels rendered in
a simple template ("The answer is left."), no reasoning, with the same recipe as a STaR cycle
(epochs clamped to [min_steps, max_steps], the same share of general data). Evaluated exactly like
the cycles (`label_sft_evalgen`, `label_sft_evaluate`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from stages import config, labels
from stages.records import read_jsonl
from stages.train import BASE, CycleTrainConfig, fit

QUESTIONS = Path("data/questions/questions.jsonl")


def label_samples(questions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {**row, "prompt_kind": "label_template", "text": labels.render_answer(row["labels"])}
        for row in questions
        if row["split"] == "train"
    ]


def main() -> None:
    params = config.load_params()
    cfg = config.section(CycleTrainConfig, "train", params)
    kept = label_samples(read_jsonl(QUESTIONS))
    fit(
        kept,
        init=BASE,
        out=Path("models/label_sft"),
        records_dir=Path("data/label_sft/train"),
        cfg=cfg,
        num_frames=params["sampling"]["num_frames"],
        seed=cfg.seed,
        stats={"baseline": "label_template"},
    )


if __name__ == "__main__":
    main()
