"""Throughput of `prepare` (probe + decode the sampled frames of every clip) with 1 and N workers.

    .venv/bin/python benchmarks/bench_prepare.py [--clips 3000] [--workers 2]

Writes a manifest of generated 8-frame 32 px clips (the toy world's size) in a temporary folder,
runs `prepare_dataset` with 1 worker and with N, checks that both write the same bytes, and prints
clips/s for each and their ratio. Targets (issue "Real labeled datasets"): >= 100 clips/s per core,
N = 2 workers >= 1.7x one. Run it on idle cores.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from videostar.core.records import write_jsonl  # noqa: E402
from videostar.data.prepare import prepare_dataset  # noqa: E402
from videostar.data.source import SourceSpec  # noqa: E402
from videostar.video.clips import write_video  # noqa: E402


def make_dataset(root: Path, n: int) -> Path:
    rng = np.random.default_rng(0)
    rows = []
    for i in range(n):
        frames = rng.integers(0, 255, size=(8, 32, 32, 3), dtype=np.uint8)
        write_video(root / f"videos/{i:05d}.mp4", frames, fps=8)
        label = {"name": "direction", "type": "category", "value": "left"}
        rows.append({"id": f"c{i:05d}", "video": f"videos/{i:05d}.mp4", "split": "train",
                     "task": "direction", "labels": [label]})  # fmt: skip
    write_jsonl(root / "manifest.jsonl", rows)
    return root / "manifest.jsonl"


def timed(spec: SourceSpec, out: Path, workers: int) -> float:
    start = time.perf_counter()
    stats = prepare_dataset("manifest", spec, out, num_frames=8, workers=workers, progress=False)
    elapsed = time.perf_counter() - start
    assert stats["rejected"] == 0, stats
    return stats["accepted"] / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clips", type=int, default=3000)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        spec = SourceSpec(annotations=make_dataset(root / "ds", args.clips), videos=root / "ds")
        one = timed(spec, root / "one", 1)
        many = timed(spec, root / "many", args.workers)
        same = all(
            (root / "one" / n).read_bytes() == (root / "many" / n).read_bytes()
            for n in ("manifest.jsonl", "rejects.jsonl")
        )
    print(f"clips: {args.clips}")
    print(f"1 worker:  {one:8.1f} clips/s")
    print(f"{args.workers} workers: {many:8.1f} clips/s  ({many / one:.2f}x one worker)")
    print(f"identical manifests: {same}")


if __name__ == "__main__":
    main()
