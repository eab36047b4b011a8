"""Throughput of the label verifier (videostar/labels) on realistic generated answers.

    .venv/bin/python benchmarks/bench_verify.py [--samples 2000] [--one-by-one 200] [--threads 2]

Prints (1) non-embedding checks per second on one core (category, number, temporal_range, bbox,
timestamp), (2) sentence checks per second with verify_many batching all samples into one encode
call vs verify() one sample at a time, and their ratio. Targets: >= 2,000 non-embedding checks/s;
>= 300 sentences/s batched on 2 cores. The model load is excluded from the timings.

Run it on idle cores: when other processes hold a core, torch's OpenMP threads spin against them
and 2 threads can be 10x slower than 1 (measured here), so compare --threads 1 and 2.
"""

from __future__ import annotations

import os

# One core for the parsing benchmark: set before numpy/torch create their thread pools.
for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(var, "1")

import argparse  # noqa: E402
import random  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from videostar.labels import Verifier, VerifyConfig  # noqa: E402
from videostar.labels.verifier import _load_embedder  # noqa: E402

ACTIONS = [
    "playing american football (in game)",
    "riding a bike",
    "dancing ballet",
    "washing dishes",
    "juggling balls",
    "surfing water",
]
OBJECTS = ["door", "cup", "laptop", "towel", "book", "phone", "chair", "sandwich"]
VERBS = ["opened", "picked up", "put down", "took", "closed", "threw", "held", "sat on"]


def reasoning(rng: random.Random) -> str:
    """Step-by-step filler like a video LMM writes before its answer."""
    steps = [
        f"First, the person walks into the room at around {rng.randint(1, 9)} seconds.",
        f"Then they look at the {rng.choice(OBJECTS)} on the table.",
        f"There are {rng.randint(2, 6)} people in the background.",
        "The camera stays mostly still, so the motion comes from the subject.",
        f"After that, the person {rng.choice(VERBS)} the {rng.choice(OBJECTS)}.",
    ]
    rng.shuffle(steps)
    return " ".join(steps[: rng.randint(2, 5)])


def non_embedding_samples(n: int, rng: random.Random) -> list[tuple]:
    samples = []
    for _ in range(n):
        action = rng.choice(ACTIONS)
        score = round(rng.uniform(20, 100), 1)
        start = round(rng.uniform(0, 0.5), 2)
        end = round(start + rng.uniform(0.1, 0.4), 2)
        x1, y1 = round(rng.uniform(0, 0.4), 2), round(rng.uniform(0, 0.4), 2)
        x2, y2 = round(x1 + rng.uniform(0.2, 0.5), 2), round(y1 + rng.uniform(0.2, 0.5), 2)
        guess = score * rng.uniform(0.85, 1.15)
        text = (
            f"{reasoning(rng)} The person is {action}. The key moment happens from "
            f"{start * 10:.1f}s to {end * 10:.1f}s and the object is at "
            f"[{x1 * 320:.0f}, {y1 * 240:.0f}, {x2 * 320:.0f}, {y2 * 240:.0f}]. "
            f"The difficulty is 3.2, so the final score is {guess:.1f}. It peaks at {end:.2f}."
        )
        labels = [
            {"type": "category", "value": action, "classes": ACTIONS},
            {"name": "final_score", "type": "number", "value": score},
            {"type": "temporal_range", "value": [start, end]},
            {"type": "bbox", "value": [x1, y1, x2, y2]},
            {"type": "timestamp", "value": end},
        ]
        samples.append((text, labels, 10.0, (320, 240)))
    return samples


def sentence_samples(n: int, rng: random.Random) -> list[tuple]:
    samples = []
    for i in range(n):
        verb, obj = rng.choice(VERBS), rng.choice(OBJECTS)
        text = f"{reasoning(rng)} In clip {i} the person {verb} the {obj}."
        labels = [{"name": "answer", "type": "sentence", "value": f"They {verb} the {obj}."}]
        samples.append((text, labels, None, None))
    return samples


def rate(count: int, seconds: float) -> str:
    return f"{count / seconds:,.0f}/s ({count} in {seconds:.2f} s)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=2000, help="samples per batched run")
    parser.add_argument("--one-by-one", type=int, default=200, help="samples verified singly")
    parser.add_argument("--threads", type=int, default=2, help="torch threads for embedding")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = random.Random(args.seed)

    import torch

    torch.set_num_threads(1)
    verifier = Verifier(VerifyConfig())
    samples = non_embedding_samples(args.samples, rng)
    verifier.verify(*samples[0])  # warm regex and rapidfuzz caches
    t0 = time.perf_counter()
    verdicts = [verifier.verify(*s) for s in samples]
    elapsed = time.perf_counter() - t0
    checks = sum(len(v) for v in verdicts)
    pass_rate = sum(v.ok for vs in verdicts for v in vs) / checks
    print(f"non-embedding checks, 1 core:      {rate(checks, elapsed)}  pass rate {pass_rate:.2f}")

    torch.set_num_threads(args.threads)
    config = VerifyConfig()
    model = _load_embedder(config.sentence)  # the Verifier's default model, loaded once
    encoded: list[int] = []

    def counting(strings: list[str]):
        encoded.append(len(strings))
        return model(strings)

    verifier = Verifier(config, embedder=counting)
    sentences = sentence_samples(args.samples, rng)
    verifier.verify(*sentences[0])  # warm-up
    encoded.clear()
    t0 = time.perf_counter()
    batched = verifier.verify_many(sentences)
    t_batched = time.perf_counter() - t0
    batched_strings = sum(encoded)
    t0 = time.perf_counter()
    for sample in sentences[: args.one_by_one]:
        verifier.verify(*sample)
    t_single = time.perf_counter() - t0

    batched_rate = len(sentences) / t_batched
    single_rate = args.one_by_one / t_single
    pass_rate = sum(v[0].ok for v in batched) / len(batched)
    print(
        f"sentence checks, batched, {args.threads} threads: {rate(len(sentences), t_batched)}"
        f"  pass rate {pass_rate:.2f}"
    )
    print(f"  strings encoded in that one call: {rate(batched_strings, t_batched)}")
    print(f"sentence checks, one by one:        {rate(args.one_by_one, t_single)}")
    print(f"batched / one-by-one:               {batched_rate / single_rate:.1f}x")


if __name__ == "__main__":
    main()
