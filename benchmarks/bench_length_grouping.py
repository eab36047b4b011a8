"""Training steps on the corpus with length-grouped batches against plain random batches.

    .venv/bin/python benchmarks/bench_length_grouping.py            # after `dvc repro base`
    .venv/bin/python benchmarks/bench_length_grouping.py --steps 40 --batch-size 16

Draws one epoch order of the base's corpus rows each way (``training.epoch_order`` with and
without the rows' text lengths, ``TrainConfig.group_by_length``), prints the padded share of the
language model's tokens over the whole epoch, then times the first ``--steps`` batches of each
order (forward, backward, AdamW step on the pretrained base), alternating between the two so
both see the same machine load, and prints ms per step, tokens per step and the ratio.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from videostar.core.records import read_jsonl  # noqa: E402
from videostar.lmm import families, loading, training  # noqa: E402
from videostar.video.frames import ClipItems, load_clips  # noqa: E402


def padded_share(order: list[int], lengths: list[int], batch: int) -> float:
    full = len(order) - len(order) % batch
    batches = [order[i : i + batch] for i in range(0, full, batch)]
    real = sum(lengths[r] for b in batches for r in b)
    return 1 - real / sum(batch * max(lengths[r] for r in b) for b in batches)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, default=Path("data/corpus"))
    parser.add_argument("--model", type=Path, default=Path("models/base"))
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=2, help="alternations of the two orders")
    args = parser.parse_args()

    rows = [r for r in read_jsonl(args.corpus / "examples.jsonl") if r["split"] == "train"]
    refs = [(str(args.corpus / r["video"]), None, None) for r in rows]
    model, processor = loading.load(args.model, for_training=True)
    family = families.for_model(model)
    keys = [(ref, r["prompt"], r["response"]) for ref, r in zip(refs, rows, strict=True)]
    lengths = training.Encoder(processor, ClipItems(keys, {}), family).text_lengths()
    orders = {
        "random": training.epoch_order(
            len(rows), args.batch_size, torch.Generator().manual_seed(0)
        ),
        "grouped": training.epoch_order(
            len(rows), args.batch_size, torch.Generator().manual_seed(0), lengths
        ),
    }
    print(
        f"{len(rows)} corpus rows, batches of {args.batch_size}; text tokens padded over an epoch:"
    )
    for name, order in orders.items():
        print(f"  {name}: {padded_share(order, lengths, args.batch_size):.1%}")

    used = {name: order[: args.steps * args.batch_size] for name, order in orders.items()}
    needed = sorted({r for order in used.values() for r in order})
    clips, errors = load_clips([refs[r] for r in needed], 8, "bench")
    if errors:
        raise SystemExit(f"videos failed to decode: {errors}")
    position = {r: i for i, r in enumerate(needed)}
    enc = training.Encoder(processor, ClipItems([keys[r] for r in needed], clips), family)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5)
    model.train()
    pad_id = processor.tokenizer.pad_token_id
    seconds = dict.fromkeys(used, 0.0)
    tokens = dict.fromkeys(used, 0)
    for _ in range(args.rounds):
        for name, order in used.items():
            start = time.perf_counter()
            for i in range(0, len(order), args.batch_size):
                batch = training.collate(
                    enc, [position[r] for r in order[i : i + args.batch_size]], pad_id
                )
                tokens[name] += batch["input_ids"].numel()
                model(**batch).loss.backward()
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)
            seconds[name] += time.perf_counter() - start
    steps = args.steps * args.rounds
    for name in used:
        per_step = tokens[name] / steps
        print(f"{name}: {seconds[name] / steps * 1000:.0f} ms/step, {per_step:.0f} LM tokens/step")
    print(f"grouped vs random: {seconds['random'] / seconds['grouped']:.2f}x faster per step")


if __name__ == "__main__":
    main()
