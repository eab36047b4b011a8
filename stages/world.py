"""Stage `world`: generate the built-in toy world of labeled videos.

    python -m stages.world --out data/world      # reads params.yaml `world`
    dvc repro world

Writes OUT/videos/*.mp4, OUT/manifest.jsonl (the project's manifest schema, so a real dataset
stands in its place) and OUT/transfer.jsonl (a colour question per held-out video: a related
property no stage trains on, for `evalsets`).
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from videostar.core import config
from videostar.core.records import write_jsonl
from videostar.toyworld import world


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    cfg = config.section(world.WorldConfig, "world")
    shutil.rmtree(args.out, ignore_errors=True)
    rows = world.generate_world(cfg, args.out)
    write_jsonl(args.out / "manifest.jsonl", rows)
    write_jsonl(args.out / "transfer.jsonl", world.colour_questions(cfg))
    print(f"world: {len(rows)} videos -> {args.out}")


if __name__ == "__main__":
    main()
