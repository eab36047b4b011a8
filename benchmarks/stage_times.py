"""Where a default run's time goes: wall seconds per stage, read from the run's own files.

    .venv/bin/python benchmarks/stage_times.py RUN_CLONE [--started EPOCH] [--repro-started EPOCH]
    .venv/bin/videostar readme                        # copies metrics/stage_times.md into the README

``dvc repro`` runs the stages one after another, so a stage's time is the newest modification
time of its outputs (from the clone's dvc.lock) minus the previous stage's. The first stage
starts when ``dvc repro`` did (``--repro-started``; else when the install last wrote into
``.venv``), and the install when the clone was made (``--started``, optional). Stages of one
``foreach`` are summed (``answer@cycle_1`` ... under ``answer``). A stage whose outputs are
older than the run (the base, which ships in git) is listed as not run.
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path

import yaml

OUT = Path(__file__).resolve().parents[1] / "metrics" / "stage_times.md"


def newest_mtime(path: Path) -> float | None:
    files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
    return max((f.stat().st_mtime for f in files), default=None)


def stage_ends(clone: Path) -> list[tuple[str, float]]:
    """(stage, when its last output was written), in the order the stages finished. Run it on
    the run's clone before anything else writes there."""
    lock = yaml.safe_load((clone / "dvc.lock").read_text())["stages"]
    ends = []
    for name, stage in lock.items():
        times = [newest_mtime(clone / out["path"]) for out in stage.get("outs", [])]
        if any(t is not None for t in times):
            ends.append((name, max(t for t in times if t is not None)))
    return sorted(ends, key=lambda item: item[1])


def install_end(clone: Path) -> float:
    return max(p.stat().st_mtime for p in (clone / ".venv").glob("lib/python*/site-packages/*"))


def table(clone: Path, started: float | None, repro_started: float | None) -> str:
    previous = repro_started if repro_started is not None else install_end(clone)
    # Outputs older than the run came with the clone (the shipped base): the run skipped them.
    every = stage_ends(clone)
    skipped = sorted({name.split("@")[0] for name, end in every if end <= previous})
    ends = [(name, end) for name, end in every if end > previous]
    groups: dict[str, list[float]] = defaultdict(list)
    for name, end in ends:
        groups[name.split("@")[0]].append(end - previous)
        previous = end
    total = ends[-1][1] - (started if started is not None else ends[0][1] - groups[ends[0][0]][0])
    lines = ["| step | stages | seconds | share of the run |", "|---|---|---|---|"]
    if started is not None:
        first = repro_started if repro_started is not None else install_end(clone)
        lines.append(f"| install (venv + pip) | | {first - started:.0f} | "
                     f"{(first - started) / total:.0%} |")  # fmt: skip
    for group, seconds in sorted(groups.items(), key=lambda item: -sum(item[1])):
        lines.append(f"| `{group}` | {len(seconds)} | {sum(seconds):.0f} | "
                     f"{sum(seconds) / total:.0%} |")  # fmt: skip
    lines += [f"| `{group}` | up to date, not run | 0 | 0% |" for group in skipped]
    lines.append(f"| **total** | {len(ends)} | **{total:.0f}** | |")
    return "# Time per stage\n\n" + "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("clone", type=Path)
    parser.add_argument("--started", type=float, help="when the clone was made (epoch seconds)")
    parser.add_argument("--repro-started", type=float, help="when dvc repro started")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    text = table(args.clone, args.started, args.repro_started)
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
