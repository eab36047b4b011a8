"""Stage `prepare`: validate the labeled-video manifest; record every rejected video with its reason.

    python -m stages.prepare --out data/prepared --metrics metrics/data.json   # params `prepare`
    dvc repro prepare

Writes OUT/manifest.jsonl (accepted rows), OUT/rejects.jsonl and the counts to METRICS, then fails
with a clear message when the rejected fraction exceeds `max_reject_fraction` — after writing the
rejects, so the reasons are there to read.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from videostar.core import config
from videostar.core.records import iter_jsonl, write_json, write_jsonl
from videostar.data.manifest import PrepareConfig, TooManyRejects, prepare, summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--metrics", type=Path, required=True)
    args = parser.parse_args()
    cfg = config.section(PrepareConfig, "prepare")
    manifest = Path(cfg.manifest)
    accepted, rejected = prepare(list(iter_jsonl(manifest)), manifest.parent, cfg)
    write_jsonl(args.out / "manifest.jsonl", accepted)
    write_jsonl(args.out / "rejects.jsonl", rejected)
    stats = summary(accepted, rejected)
    write_json(args.metrics, stats)
    print(f"prepare: {stats['accepted']} accepted, {stats['rejected']} rejected")
    if not accepted or stats["reject_fraction"] > cfg.max_reject_fraction:
        raise TooManyRejects(
            f"{stats['rejected']} of {stats['videos']} videos rejected "
            f"({stats['reject_fraction']:.1%} > max_reject_fraction {cfg.max_reject_fraction:.1%}); "
            f"reasons in {args.out / 'rejects.jsonl'}"
        )


if __name__ == "__main__":
    main()
