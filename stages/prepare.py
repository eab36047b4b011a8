"""Stage `prepare`: read the labeled dataset into the project's manifest; record every rejection.

    python -m stages.prepare --out data/prepared --metrics metrics/data.json   # params `prepare`
    dvc repro prepare

`prepare.format` picks the adapter (manifest, kinetics, finediving, star; see
videostar/data/prepare.py) and `prepare.annotations`, `prepare.videos`, `prepare.split`,
`prepare.classes` where the dataset lies; `videostar prepare` is the same code from the shell.
Writes OUT/manifest.jsonl, OUT/rejects.jsonl and the counts to METRICS, then fails with a clear
message when the rejected fraction exceeds `max_reject_fraction` — after writing the rejects, so
the reasons are there to read. Worker processes: `$VIDEOSTAR_WORKERS` (default: every core).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from videostar.core import config
from videostar.core.records import write_json
from videostar.data.prepare import PrepareConfig, check_reject_fraction, prepare_dataset


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--metrics", type=Path, required=True)
    args = parser.parse_args()
    cfg = config.section(PrepareConfig, "prepare")
    stats = prepare_dataset(cfg.format, cfg.spec(), args.out, cfg.num_frames, splits=cfg.splits())
    write_json(args.metrics, stats)
    print(f"prepare: {stats['accepted']} accepted, {stats['rejected']} rejected")
    check_reject_fraction(stats, cfg.max_reject_fraction, args.out / "rejects.jsonl")


if __name__ == "__main__":
    main()
