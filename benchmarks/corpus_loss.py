"""Which of the pretraining corpus's abilities a model has: held-out loss per kind of example.

    .venv/bin/python benchmarks/corpus_loss.py --model models/base --out metrics/trials/x.md

For each kind of example in the corpus's test split (caption, hint, sentence_hint, question, ...),
the first --per-kind rows are scored teacher-forced, as pretraining scores them: the mean token
loss of the responses, and the share of responses whose every token is the model's top choice
(what greedy decoding would then write). A base whose loss stalls shows here which ability lags:
captions (seeing the ball) or copying a hint.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from videostar.core import config  # noqa: E402
from videostar.core.records import read_jsonl  # noqa: E402
from videostar.lmm import families, loading, training  # noqa: E402
from videostar.lmm.training import IGNORE_INDEX  # noqa: E402
from videostar.video.frames import ClipItems, load_clips  # noqa: E402


@torch.no_grad()
def kind_scores(model, processor, examples: ClipItems, batch_size: int = 16) -> dict[str, float]:
    """Mean response-token loss and whole-response top-1 share of ``examples``."""
    enc = training.Encoder(processor, examples, families.for_model(model))
    pad_id = processor.tokenizer.pad_token_id
    loss_sum, tokens, exact = 0.0, 0, 0
    for start in range(0, len(examples), batch_size):
        rows = list(range(start, min(start + batch_size, len(examples))))
        batch = training.collate(enc, rows, pad_id)
        logits = model(**{k: v for k, v in batch.items() if k != "labels"}).logits.float()
        targets = batch["labels"][:, 1:]
        logits = logits[:, :-1]
        mask = targets != IGNORE_INDEX
        token_loss = torch.nn.functional.cross_entropy(
            logits.transpose(1, 2), targets.clamp(min=0), reduction="none"
        )
        loss_sum += float(token_loss[mask].sum())
        tokens += int(mask.sum())
        right = (logits.argmax(-1) == targets) | ~mask
        exact += int(right.all(dim=1).sum())
    return {"loss": loss_sum / tokens, "exact": exact / len(examples)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--corpus", type=Path, default=Path("data/corpus"))
    parser.add_argument("--per-kind", type=int, default=96)
    parser.add_argument("--out", type=Path, help="markdown table (printed either way)")
    args = parser.parse_args()
    params = config.load_params()
    by_kind: dict[str, list[dict]] = defaultdict(list)
    for row in read_jsonl(args.corpus / "examples.jsonl"):
        if row["split"] == "test" and len(by_kind[row["kind"]]) < args.per_kind:
            by_kind[row["kind"]].append(row)
    if not by_kind:
        raise SystemExit(f"{args.corpus}: no test rows in examples.jsonl")
    model, processor = loading.load(args.model)
    num_frames = config.value("sampling.num_frames", int, params)
    lines = [
        f"Held-out corpus loss of `{args.model}` (first {args.per_kind} test rows per kind):",
        "",
        "| kind | rows | token loss | whole response top-1 |",
        "|---|---|---|---|",
    ]
    for kind, rows in sorted(by_kind.items()):
        refs = [(str(args.corpus / r["video"]), None, None) for r in rows]
        clips, errors = load_clips(refs, num_frames, kind)
        if errors:
            raise SystemExit(f"{len(errors)} corpus videos failed to decode: {errors}")
        keys = [(ref, r["prompt"], r["response"]) for ref, r in zip(refs, rows, strict=True)]
        scores = kind_scores(model, processor, ClipItems(keys, clips))
        lines.append(f"| {kind} | {len(rows)} | {scores['loss']:.4f} | {scores['exact']:.3f} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
