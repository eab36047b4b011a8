"""The ``videostar`` console script.

    videostar verify IN.jsonl OUT.jsonl [--params params.yaml] [--tasks data/prepared/tasks.json]
    videostar prepare --format {manifest,kinetics,finediving,star} --annotations PATH --videos DIR \
        --out DIR [--split NAME ...] [--classes PATH] [--max-reject-fraction F] [--num-frames N]
    videostar params [OVERRIDE ...]     # compose conf/config.yaml into params.yaml (for dvc repro)
    videostar seeds [--seeds 0 1 2]     # the pipeline per seed as DVC experiments; mean ± std
    videostar readme                    # copy metrics/report.md, seeds.md, lora.md into README
    videostar deps                      # check dvc.yaml's code deps against the stages' imports
    videostar screenshot [--page metrics/report.html] [--out metrics/report.png]  # headless Chromium

``verify`` reads one sample per line, ``{"labels": [{"type", "value", "name"?}, ...], "text": str,
"duration"?: seconds, "frame_size"?: [width, height], "task"?}``, and writes each line back, in order, with
``"ok"`` (all labels pass) and ``"verdicts"`` added. Thresholds come from the ``verify`` section of
``--params`` (or of ./params.yaml when it has one), else the defaults of videostar.labels.VerifyConfig;
class vocabularies for the exclusive modes, per ``task``, from ``--tasks`` (a prepared tasks.json).
Malformed lines are reported on stderr as ``IN.jsonl:LINE: reason`` and skipped; the exit code is 1
when any line was skipped, 2 when the run could not start, else 0.
"""

from __future__ import annotations

import argparse
import itertools
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from videostar.core.config import ConfigError, from_dict, load_params
from videostar.core.records import read_json, write_jsonl
from videostar.data.prepare import FORMATS
from videostar.labels import Verifier, VerifyConfig, validate_label
from videostar.labels.rows import Vocabularies, read_vocabularies, verify_rows

# Sentence embeddings are batched over this many lines: big enough to keep the encoder busy,
# small enough that memory does not grow with the file.
CHUNK_LINES = 1024


def _verify_config(params_path: str | None) -> VerifyConfig:
    path = Path(params_path) if params_path else Path("params.yaml")
    if params_path is None and not path.exists():
        return VerifyConfig()
    section = load_params(path).get("verify")
    if section is None:
        return VerifyConfig()
    if not isinstance(section, dict):
        raise ConfigError(f"{path}: section 'verify' must be a mapping")
    return from_dict(VerifyConfig, section, "verify")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _finite_float(token: str) -> float:
    # json accepts 1e999 as inf, which strict JSON output could not write back.
    value = float(token)
    if value in (float("inf"), float("-inf")):
        raise ValueError(f"{token} overflows a float")
    return value


def _problem(row: Any) -> str | None:
    """Why a parsed input line cannot be verified, or None."""
    if not isinstance(row, dict):
        return f"expected an object, got {type(row).__name__}"
    if not isinstance(row.get("text"), str):
        return "'text' must be a string"
    labels = row.get("labels")
    if not (isinstance(labels, list) and labels):
        return "'labels' must be a non-empty list"
    for i, label in enumerate(labels):
        try:
            validate_label(label)
        except ValueError as e:
            return f"labels[{i}]: {e}"
    duration = row.get("duration")
    if duration is not None and not (
        isinstance(duration, int | float) and not isinstance(duration, bool) and duration > 0
    ):
        return f"'duration' must be a positive number of seconds, got {duration!r}"
    size = row.get("frame_size")
    if size is not None and not (
        isinstance(size, list)
        and len(size) == 2
        and all(isinstance(x, int | float) and not isinstance(x, bool) and x > 0 for x in size)
    ):
        return f"'frame_size' must be [width, height] in pixels, got {size!r}"
    return None


def _read_samples(path: str, errors: list[str]) -> Iterator[dict[str, Any]]:
    """Yield the valid samples; report each malformed line on stderr as it is met."""
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line, parse_constant=_reject_constant, parse_float=_finite_float)
            except ValueError as e:
                problem: str | None = f"not JSON ({e})"
            else:
                problem = _problem(row)
            if problem:
                errors.append(f"{path}:{lineno}: {problem}")
                print(errors[-1], file=sys.stderr)
                continue
            yield row


def _verified(
    rows: Iterator[dict[str, Any]], verifier: Verifier, vocabularies: Vocabularies
) -> Iterator[dict[str, Any]]:
    while chunk := list(itertools.islice(rows, CHUNK_LINES)):
        yield from verify_rows(chunk, verifier, vocabularies)


def cmd_verify(args: argparse.Namespace) -> int:
    try:
        config = _verify_config(args.params)
    except (OSError, ConfigError, ValueError) as e:
        print(f"videostar verify: bad params: {e}", file=sys.stderr)
        return 2
    if not Path(args.input).is_file():
        print(f"videostar verify: no such file: {args.input}", file=sys.stderr)
        return 2
    try:
        vocabularies = read_vocabularies(read_json(args.tasks)) if args.tasks else {}
    except (OSError, ValueError) as e:
        print(f"videostar verify: bad --tasks file: {e}", file=sys.stderr)
        return 2
    errors: list[str] = []
    rows = _read_samples(args.input, errors)
    count = write_jsonl(args.output, _verified(rows, Verifier(config), vocabularies))
    ok = "" if not errors else f", skipped {len(errors)} malformed line(s)"
    print(f"videostar verify: wrote {count} line(s) to {args.output}{ok}", file=sys.stderr)
    return 1 if errors else 0


def cmd_prepare(args: argparse.Namespace) -> int:
    from videostar.data.prepare import (
        SplitLeak,
        TooManyRejects,
        check_reject_fraction,
        prepare_dataset,
    )
    from videostar.data.source import AnnotationError, SourceSpec

    spec = SourceSpec(
        annotations=Path(args.annotations),
        videos=Path(args.videos),
        split=args.split[0] if args.split else None,
        classes=Path(args.classes) if args.classes else None,
    )
    try:
        stats = prepare_dataset(
            args.format, spec, Path(args.out), args.num_frames, args.workers, splits=args.split
        )
        print(json.dumps(stats, indent=2))
        print(
            f"videostar prepare: {stats['accepted']} accepted, {stats['rejected']} rejected "
            f"-> {args.out}/manifest.jsonl, rejects.jsonl, tasks.json",
            file=sys.stderr,
        )
        check_reject_fraction(stats, args.max_reject_fraction, Path(args.out) / "rejects.jsonl")
    except (AnnotationError, SplitLeak, TooManyRejects, OSError) as e:
        print(f"videostar prepare: {e}", file=sys.stderr)
        return 1
    return 0


def cmd_params(args: argparse.Namespace) -> int:
    from videostar.cli.compose import compose_params

    out = compose_params(".", args.overrides)
    print(f"videostar params: wrote {out}", file=sys.stderr)
    return 0


def cmd_seeds(args: argparse.Namespace) -> int:
    from videostar.cli import seeds

    print(seeds.main(args.seeds, args.set, args.out, args.prefix))
    return 0


def cmd_readme(args: argparse.Namespace) -> int:
    from videostar.evaluation import report

    readme = Path(args.readme)
    text = readme.read_text(encoding="utf-8")
    copied = []
    for block, source in report.README_BLOCKS.items():
        path = Path(source)
        if block == "results" or path.is_file():  # the results table is required
            text = report.replace_block(text, block, path.read_text(encoding="utf-8"))
            copied.append(source)
    readme.write_text(text, encoding="utf-8")
    print(f"videostar readme: copied {', '.join(copied)} into {readme}", file=sys.stderr)
    return 0


def cmd_deps(args: argparse.Namespace) -> int:
    from videostar.cli import codedeps

    root = Path(args.repo).resolve()
    problems = codedeps.check(root, codedeps.resolved_stages(root))
    for stage, diff in sorted(problems.items()):
        for kind in ("missing", "extra"):
            if diff[kind]:
                print(f"{stage}: {kind} {', '.join(sorted(diff[kind]))}")
    if not problems:
        print("videostar deps: every stage depends on exactly the code it imports", file=sys.stderr)
    return 1 if problems else 0


BROWSERS = ("chromium", "chromium-browser", "google-chrome")


def cmd_screenshot(args: argparse.Namespace) -> int:
    page = Path(args.page).resolve()
    if not page.is_file():
        print(f"videostar screenshot: no such page: {args.page}", file=sys.stderr)
        return 2
    browser = next((b for b in BROWSERS if shutil.which(b)), None)
    if browser is None:
        print(
            "videostar screenshot: no Chromium found (tried " + ", ".join(BROWSERS) + "); "
            "install it, e.g. `apt-get install -y chromium`",
            file=sys.stderr,
        )
        return 2
    out = Path(args.out).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    command = [
        browser, "--headless", "--disable-gpu", "--no-sandbox", "--hide-scrollbars",
        f"--screenshot={out}", f"--window-size={args.width},{args.height}", page.as_uri(),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=args.timeout)
    if done.returncode != 0 or not out.is_file():
        print(f"videostar screenshot: {browser} failed:\n{done.stderr}", file=sys.stderr)
        return 1
    print(f"videostar screenshot: wrote {out}", file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="videostar", description="Video-STaR pipeline tools.")
    commands = parser.add_subparsers(dest="command", required=True)
    verify = commands.add_parser(
        "verify", help="check generated texts against their gold labels (JSONL in, JSONL out)"
    )
    verify.add_argument("input", help="JSONL: one {labels, text, duration?, frame_size?} per line")
    verify.add_argument("output", help="JSONL: the input lines plus ok and verdicts")
    verify.add_argument("--params", help="params file whose 'verify' section sets the thresholds")
    verify.add_argument("--tasks", help="a prepared tasks.json: class vocabularies per task")
    verify.set_defaults(func=cmd_verify)
    prepare = commands.add_parser(
        "prepare", help="read a labeled dataset into the project's manifest, with rejects"
    )
    prepare.add_argument("--format", required=True, choices=FORMATS)
    prepare.add_argument("--annotations", required=True, help="annotation file or folder")
    prepare.add_argument("--videos", required=True, help="the folder video paths are relative to")
    prepare.add_argument(
        "--out", required=True, help="writes manifest.jsonl, rejects.jsonl and tasks.json"
    )
    prepare.add_argument(
        "--split",
        action="append",
        help="a source split to read, as the dataset spells it (repeat for several; default: all)",
    )
    prepare.add_argument("--classes", help="class-list file or folder (formats that take one)")
    prepare.add_argument("--max-reject-fraction", type=float, default=0.05)
    prepare.add_argument("--num-frames", type=int, default=8, help="frames a video must decode")
    prepare.add_argument("--workers", type=int, help="worker processes (default: every core)")
    prepare.set_defaults(func=cmd_prepare)
    params = commands.add_parser(
        "params", help="compose conf/config.yaml (+ Hydra overrides) into params.yaml"
    )
    params.add_argument("overrides", nargs="*", help="e.g. iter=5 world.train_per_task=50")
    params.set_defaults(func=cmd_params)
    seeds = commands.add_parser(
        "seeds", help="run the committed pipeline per seed as DVC experiments; mean ± std per row"
    )
    seeds.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    seeds.add_argument(
        "-S", "--set", action="append", default=[], help="extra override for every seed run"
    )
    seeds.add_argument("--out", help="also write the table to this file")
    seeds.add_argument("--prefix", default="seed", help="experiment names: <prefix>-<seed>")
    seeds.set_defaults(func=cmd_seeds)
    readme = commands.add_parser(
        "readme", help="copy metrics/report.md, seeds.md and lora.md into README.md"
    )
    readme.add_argument("--readme", default="README.md")
    readme.set_defaults(func=cmd_readme)
    deps = commands.add_parser("deps", help="check dvc.yaml's code deps against stage imports")
    deps.add_argument("--repo", default=".")
    deps.set_defaults(func=cmd_deps)
    shot = commands.add_parser(
        "screenshot", help="render an HTML page (metrics/report.html) to PNG in headless Chromium"
    )
    shot.add_argument("--page", default="metrics/report.html")
    shot.add_argument("--out", default="metrics/report.png")
    shot.add_argument("--width", type=int, default=1280)
    shot.add_argument("--height", type=int, default=2400)
    shot.add_argument("--timeout", type=float, default=120, help="seconds")
    shot.set_defaults(func=cmd_screenshot)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
