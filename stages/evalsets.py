"""Stage `evalsets`: every held-out question each model is evaluated on, in one file.

    python -m stages.evalsets --questions data/questions/questions.jsonl \
        --out data/evalsets                         # params `evalsets`
    dvc repro evalsets

Sets (the `set` field): adapted (held-out task questions), rephrased, and every set in the
`evalsets.transfer` and `evalsets.retention` files (by default colour and retention); see
videostar/evaluation/evalsets.py. Rows of those files that cannot be used go to
OUT/rejects.jsonl with their file, line and reason; past `evalsets.max_reject_fraction` of them
the stage fails.
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

from videostar.core import config
from videostar.core.records import read_jsonl, write_jsonl
from videostar.evaluation import evalsets


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--questions", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    cfg = config.section(evalsets.EvalSetsConfig, "evalsets")
    rows, rejects = evalsets.build(cfg, read_jsonl(args.questions))
    write_jsonl(args.out / "rejects.jsonl", rejects)
    from_files = sum(1 for r in rows if r["set"] not in evalsets.BUILT_SETS)
    evalsets.check_rejects(
        from_files, len(rejects), cfg.max_reject_fraction, args.out / "rejects.jsonl"
    )
    write_jsonl(args.out / "eval.jsonl", rows)
    print(
        f"evalsets: {dict(Counter(r['set'] for r in rows))}, {len(rejects)} rejected "
        f"-> {args.out / 'eval.jsonl'}"
    )


if __name__ == "__main__":
    main()
