"""Training steps on the base's corpus: padded rows, packed rows and length-grouped batches.

    .venv/bin/python benchmarks/bench_packing.py            # after `dvc repro base`
    .venv/bin/python benchmarks/bench_packing.py --steps 40 --batch-size 16

Draws one epoch order of the corpus rows (``training.epoch_order``) as training does, and one
with the rows' text lengths (``TrainConfig.group_by_length``), and prints the padded share of
the text tokens over the whole epoch for each. Then times the first ``--steps`` batches three
ways on the pretrained base (forward, backward, AdamW step): the random batches as padded rows,
the same batches as packed rows (``TrainConfig.pack_sequences``: the same loss and gradients,
checked on the first batch), and the grouped batches as padded rows; the three alternate for
``--rounds`` rounds so they see the same machine load. Prints ms and language-model tokens per
step and the ratios to padded rows.
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
    full = order[: len(order) - len(order) % batch]
    return 1 - sum(lengths[r] for r in full) / training.padded_tokens(order, lengths, batch)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, default=Path("data/corpus"))
    parser.add_argument("--model", type=Path, default=Path("models/base"))
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()

    rows = [r for r in read_jsonl(args.corpus / "examples.jsonl") if r["split"] == "train"]
    refs = [(str(args.corpus / r["video"]), None, None) for r in rows]
    keys = [(ref, r["prompt"], r["response"]) for ref, r in zip(refs, rows, strict=True)]
    model, processor = loading.load(args.model, for_training=True)
    family = families.for_model(model)
    lengths = training.Encoder(processor, ClipItems(keys, {}), family).text_lengths()
    size = args.batch_size
    plain = training.epoch_order(len(rows), size, torch.Generator().manual_seed(0))
    grouped = training.epoch_order(len(rows), size, torch.Generator().manual_seed(0), lengths)
    print(f"{len(rows)} corpus rows, batches of {size}; text tokens that are padding per epoch:")
    print(f"  random batches: {padded_share(plain, lengths, size):.1%}")
    print(f"  length-grouped batches: {padded_share(grouped, lengths, size):.1%}")

    used = {"padded": plain, "packed": plain, "grouped": grouped}
    used = {name: order[: args.steps * size] for name, order in used.items()}
    needed = sorted({r for order in used.values() for r in order})
    clips, errors = load_clips([refs[r] for r in needed], 8, "bench")
    if errors:
        raise SystemExit(f"videos failed to decode: {errors}")
    position = {r: i for i, r in enumerate(needed)}
    enc = training.Encoder(processor, ClipItems([keys[r] for r in needed], clips), family)
    pad_id = processor.tokenizer.pad_token_id
    model.train()

    def batch_of(name: str, rows: list[int]) -> dict:
        batch = training.collate(enc, [position[r] for r in rows], pad_id, pack=name == "packed")
        if name == "packed":
            positions = family.packed_positions(model, batch)
            if positions is None:
                raise SystemExit(f"{model.config.model_type}: the family takes no packed rows")
            batch = training.pack_batch(batch, positions, pad_id)
        return batch

    first = used["padded"][:size]
    losses = [model(**batch_of(name, first)).loss.item() for name in ("padded", "packed")]
    print(f"first batch's loss, padded vs packed rows: {losses[0]:.6f} vs {losses[1]:.6f}")
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5)
    seconds = dict.fromkeys(used, 0.0)
    tokens = dict.fromkeys(used, 0)
    for _ in range(args.rounds):
        for name, order in used.items():
            start = time.perf_counter()
            for i in range(0, len(order), size):
                batch = batch_of(name, order[i : i + size])
                tokens[name] += batch["input_ids"].numel()
                model(**batch).loss.backward()
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)
            seconds[name] += time.perf_counter() - start
    steps = args.steps * args.rounds
    for name in used:
        ratio = seconds["padded"] / seconds[name]
        print(
            f"{name}: {seconds[name] / steps * 1000:.0f} ms/step, "
            f"{tokens[name] / steps:.0f} LM tokens/step, {ratio:.2f}x the padded rows' speed"
        )


if __name__ == "__main__":
    main()
