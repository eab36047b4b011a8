"""Stage `report`: the results tables across models and cycles, for `dvc plots` and people.

    python -m stages.report --metrics metrics --cycles 3
    dvc repro report

Reads METRICS/models/*.json, METRICS/train/*.json and METRICS/majority.json; writes
METRICS/report.md (the headline — final model vs label-template SFT, the paper's protocol —,
every model, yields per cycle and task), METRICS/cycles.csv (one row per cycle, for `dvc plots`)
and METRICS/yields/<task>.csv. `videostar readme` copies report.md into the README.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from videostar.evaluation import report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--metrics", type=Path, required=True)
    parser.add_argument("--cycles", type=int, required=True)
    args = parser.parse_args()
    print(report.write(args.metrics, args.cycles))


if __name__ == "__main__":
    main()
