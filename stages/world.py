"""Stage `world`: generate the built-in toy world of labeled videos.

    python -m stages.world            # reads params.yaml `world`, writes data/world/
    dvc repro world

Writes data/world/videos/*.mp4, data/world/manifest.jsonl (one row per video, the project's
manifest schema, so a real dataset adapter can stand in its place) and data/world/transfer.jsonl
(a colour question per held-out video: a related property no stage trains on, for `evalsets`).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from stages import config, toyworld
from stages.records import write_jsonl

OUT = Path("data/world")


def main() -> None:
    cfg = config.section(toyworld.WorldConfig, "world")
    shutil.rmtree(OUT, ignore_errors=True)
    rows = toyworld.generate_world(cfg, OUT)
    write_jsonl(OUT / "manifest.jsonl", rows)
    write_jsonl(OUT / "transfer.jsonl", toyworld.colour_questions(cfg))
    print(f"world: {len(rows)} videos -> {OUT}")


if __name__ == "__main__":
    main()
