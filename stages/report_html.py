"""Stage `report_html`: one self-contained HTML page of the run, viewable offline.

    python -m stages.report_html --metrics metrics --cycles 3 --samples data/cycles \
        --out metrics/report.html
    dvc repro report_html
    videostar screenshot --page metrics/report.html --out metrics/report.png   # to look at it

Reads METRICS/report.md and cycles.csv (stage `report`), METRICS/models, train and majority.json,
METRICS/curves/<model>/plots/metrics/loss.tsv where a training stage wrote one, and
SAMPLES/<cycle>/verified/{answers,rationales}.jsonl; writes OUT: the results tables, plots of
accuracy, yield and training loss, and sample cards per cycle and task with their frames
(params `report_html`; frames as `sampling.num_frames` samples them).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from videostar.core import config
from videostar.evaluation import html


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--metrics", type=Path, required=True)
    parser.add_argument("--cycles", type=int, required=True)
    parser.add_argument("--samples", type=Path, required=True, help="data/cycles")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    page = html.build_page(
        args.metrics,
        args.samples,
        args.cycles,
        config.value("sampling.num_frames", int),
        config.section(html.PageConfig, "report_html"),
    )
    args.out.write_text(page, encoding="utf-8")
    print(f"report_html: wrote {args.out} ({len(page.encode()):,} bytes)")


if __name__ == "__main__":
    main()
