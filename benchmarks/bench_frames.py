"""Frame decoding at scale: decode workers vs one, and a generation stage's peak memory vs its rows.

    .venv/bin/python benchmarks/bench_frames.py                 # every core, 1x = 24 rows
    .venv/bin/python benchmarks/bench_frames.py --workers 8 --clips 64 --rows 48

1. Decoding: the same clips decoded into an empty frame cache by 1 process and by N worker
   processes; prints clips/s of each and the speed-up against 0.8 N (issue 12's target). The
   clips are shaped like Kinetics ones (340x256, 25 fps, smooth motion; 5 s, half a Kinetics
   clip). Tiny noise clips would measure decord's per-video overhead instead: it ran 5x slower
   with its reader pinned to one core, so N such readers on N cores mostly wait on each other.
2. Memory: the real generation stage (``python -m stages.generate --kind eval``, a tiny random
   Qwen2-VL, greedy) on 1x and 10x the rows, each row a distinct video; prints each run's peak
   RSS and the ratio (target <= 1.2: the clips are read from the frame cache batch by batch, not
   held).
3. Memory: training (``training.train`` as the train stages call it: clips read from the frame
   cache as steps ask for them) for the same number of steps on 1x and 10x the examples, each a
   distinct video, with 64 MB budgets for held clips and held preprocessed clips; prints each
   run's peak RSS and the ratio (target <= 1.2).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from videostar.core.records import write_jsonl  # noqa: E402
from videostar.lmm import tiny  # noqa: E402
from videostar.lmm.config import TinyConfig  # noqa: E402
from videostar.video import clips, frames  # noqa: E402
from videostar.video.cache import FrameCache  # noqa: E402

QUESTION = "Which way does the ball go?"


def write_clips(folder: Path, n: int, frames_per_clip: int, size: int) -> list[str]:
    rng = np.random.default_rng(0)
    paths = []
    for i in range(n):
        path = folder / f"v{i:05d}.mp4"
        if not path.exists():
            clip = rng.integers(0, 255, (frames_per_clip, size, size, 3), np.uint8)
            clips.write_video(path, clip, fps=8)
        paths.append(str(path))
    return paths


def write_kinetics_like(folder: Path, n: int) -> list[str]:
    """``n`` distinct 5-s clips at 25 fps, 340x256: moving gradients and a moving textured box."""
    rng = np.random.default_rng(0)
    ys, xs = np.mgrid[0:256, 0:340]
    paths = []
    for i in range(n):
        path = folder / f"k{i:05d}.mp4"
        if not path.exists():
            clip = np.empty((125, 256, 340, 3), np.uint8)
            patch = rng.integers(0, 255, (40, 40, 3), np.uint8)
            for t in range(len(clip)):
                clip[t, ..., 0] = (xs + 3 * t + 7 * i) % 256
                clip[t, ..., 1] = (ys + 2 * t) % 256
                clip[t, ..., 2] = ((xs * ys) // 64 + t + i) % 256
                left = (2 * t + 11 * i) % 300
                clip[t, 100:140, left : left + 40] = patch
            clips.write_video(path, clip, fps=25)
        paths.append(str(path))
    return paths


def decode_rate(videos: list[str], workers: int, cache_dir: Path) -> float:
    refs = [(v, None, None) for v in videos]
    start = time.perf_counter()
    _, errors = frames.load_clips(refs, 8, cache=FrameCache(cache_dir), workers=workers)
    assert not errors, errors
    return len(videos) / (time.perf_counter() - start)


def peak_rss_mb(workdir: Path, rows: int, env: dict[str, str]) -> float:
    """Peak RSS (MB) of one generation stage run in a child of a fresh wrapper process."""
    cmd = [sys.executable, "-m", "stages.generate", "--kind", "eval", "--name", f"x{rows}",
           "--model", "model", "--rows", f"rows{rows}.jsonl", "--out", f"out{rows}.jsonl"]  # fmt: skip
    wrapper = (
        "import resource, subprocess, sys; "
        f"r = subprocess.run({cmd!r}, capture_output=True, text=True); "
        "sys.stderr.write(r.stdout[-2000:] + r.stderr[-2000:]) if r.returncode else None; "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    out = subprocess.run(
        [sys.executable, "-c", wrapper], cwd=workdir, env=env, capture_output=True, text=True
    )
    if out.returncode or not out.stdout.strip():
        raise RuntimeError(out.stderr)
    return int(out.stdout.split()[-1]) / 1024


TRAIN = """
import json, sys
from pathlib import Path
from videostar.lmm import loading, training
from videostar.lmm.config import TrainConfig
from videostar.video.frames import ClipItems, load_clips
videos = json.loads(Path(sys.argv[1]).read_text())
refs = [(v, None, None) for v in videos]
clips, errors = load_clips(refs, 8)
assert not errors, errors
examples = ClipItems([(ref, "Which way does the ball go?", "the ball moves left.") for ref in refs], clips)
lm, processor = loading.load("model", for_training=True)
cfg = TrainConfig(method="full", lr=1e-3, weight_decay=0.0, betas=(0.9, 0.98), warmup_steps=1,
    min_lr_ratio=0.1, decay_fraction=1.0, grad_clip=1.0, batch_size=8, micro_batch_size=0, gradient_checkpointing=False,
    checkpoint_every=0, epochs=1.0, min_steps=1, max_steps=1, lora_r=8, lora_alpha=16,
    lora_dropout=0.0, lora_targets=(), seed=0, group_by_length=False,
    pack_sequences=False)
training.train(lm, processor, examples, cfg, steps=int(sys.argv[2]))
"""


def train_peak_rss_mb(workdir: Path, videos: list[str], steps: int, env: dict[str, str]) -> float:
    """Peak RSS (MB) of ``steps`` training steps on one example per video, in a fresh process."""
    listing = workdir / f"train{len(videos)}.json"
    listing.write_text(json.dumps(videos))
    wrapper = (
        "import resource, subprocess, sys; "
        f"r = subprocess.run([sys.executable, '-c', {TRAIN!r}, {str(listing)!r}, '{steps}'], "
        "capture_output=True, text=True); "
        "sys.stderr.write(r.stdout[-2000:] + r.stderr[-2000:]) if r.returncode else None; "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    out = subprocess.run(
        [sys.executable, "-c", wrapper], cwd=workdir, env=env, capture_output=True, text=True
    )
    if out.returncode or not out.stdout.strip():
        raise RuntimeError(out.stderr)
    return int(out.stdout.split()[-1]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--clips", type=int, default=40, help="clips to decode (32+ use the pool)")
    parser.add_argument("--rows", type=int, default=24, help="rows of the 1x generation run")
    parser.add_argument("--parts", default="decode,generation,training", help="which to measure")
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if "decode" in parts:
            videos = write_kinetics_like(tmp / "decode", args.clips)
            one = decode_rate(videos, 1, tmp / "cache1")
            many = decode_rate(videos, args.workers, tmp / "cacheN")
            print(f"decode {args.clips} clips (125 frames of 340x256, 8 sampled): 1 worker "
                  f"{one:.1f} clips/s, {args.workers} workers {many:.1f} clips/s: "
                  f"{many / one:.2f}x (target >= {0.8 * args.workers:.1f}x)")  # fmt: skip

        work = tmp / "stage"
        tiny.build_tiny(TinyConfig(), [QUESTION, "the ball moves left."] * 20, work / "model")
        params = yaml.safe_load((REPO / "params.yaml").read_text())
        params["sampling"]["eval"].update(max_new_tokens=8, batch_size=8)
        (work / "params.yaml").write_text(yaml.safe_dump(params))
        videos = write_clips(work / "videos", 10 * args.rows, frames_per_clip=32, size=224)
        for n in (args.rows, 10 * args.rows):
            write_jsonl(work / f"rows{n}.jsonl", [
                {"id": f"q{i}", "video": v, "split": "test", "task": "direction", "set": "adapted",
                 "question": QUESTION, "labels": []} for i, v in enumerate(videos[:n])])  # fmt: skip
        env = {**os.environ, "PYTHONPATH": str(REPO), "VIDEOSTAR_DEVICE": "cpu",
               "VIDEOSTAR_FRAME_CACHE": str(tmp / "stage-cache")}  # fmt: skip
        if "generation" in parts:
            small = peak_rss_mb(work, args.rows, env)
            large = peak_rss_mb(work, 10 * args.rows, env)
            print(f"generation stage peak RSS: {args.rows} rows {small:.0f} MB, {10 * args.rows} "
                  f"rows {large:.0f} MB: {large / small:.2f}x (target <= 1.2x)")  # fmt: skip
        if "training" not in parts:
            return
        held = {"VIDEOSTAR_HELD_CLIPS_MB": "64", "VIDEOSTAR_HELD_VISUAL_MB": "64"}
        steps = 30
        small = train_peak_rss_mb(work, videos[: args.rows], steps, {**env, **held})
        large = train_peak_rss_mb(work, videos, steps, {**env, **held})
        print(f"training peak RSS ({steps} steps of 8): {args.rows} examples {small:.0f} MB, "
              f"{10 * args.rows} examples {large:.0f} MB: {large / small:.2f}x "
              "(target <= 1.2x)")  # fmt: skip


if __name__ == "__main__":
    main()
