"""benchmarks/corpus_trials.py: the README's trials table is generated from the committed runs'
reports, never typed."""

import gzip
import subprocess
import sys
from pathlib import Path

import pytest

from tests.scripts import load_script

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "benchmarks" / "corpus_trials.py"


@pytest.fixture(scope="module")
def trials():
    return load_script("corpus_trials")


def test_summary_reads_the_means_and_direct_yields_of_a_report(trials):
    summary = trials.summary((REPO / "metrics/report.md").read_text())
    assert set(summary) == {"base", "label SFT", "cycle 3", "final", "blinks", "timing", "event"}
    assert all(0 <= float(summary[m]) <= 1 for m in ("base", "label SFT", "cycle 3", "final"))
    for task in ("blinks", "timing", "event"):
        yields = [float(y) for y in summary[task].split(" → ")]
        assert len(yields) >= 1 and all(0 <= y <= 1 for y in yields)


def test_the_committed_trials_table_is_what_the_script_writes(tmp_path):
    out = tmp_path / "trials.md"
    subprocess.run([sys.executable, str(SCRIPT), "--out", str(out)], cwd=REPO, check=True,
                   capture_output=True)  # fmt: skip
    assert out.read_text() == (REPO / "metrics/trials.md").read_text()


def test_probe_counts_reads_one_row_of_a_probe_table(trials):
    probe = (REPO / "metrics/trials/transfer/default-label_sft.md").read_text()
    counts = trials.probe_counts(probe)["the bare question"].split(" / ")
    assert len(counts) == 4 and all(0 <= int(c) <= 32 for c in counts)


def test_transfer_table_leaves_the_cycle_1_cell_blank_where_it_was_not_probed(trials, tmp_path):
    probe = (REPO / "metrics/trials/transfer/default-label_sft.md").read_text()
    for name in ("a-base", "a-label_sft", "b-base", "b-label_sft", "b-cycle_1"):
        (tmp_path / f"{name}.md").write_text(probe)
    listing = tmp_path / "transfer.yaml"
    listing.write_text("- {files: a, change: none}\n- {files: b, change: more}\n")
    rows = [line for line in trials.transfer_table(listing) if line.startswith("| a ")
            or line.startswith("| b ")]  # fmt: skip
    answer_prompt = trials.probe_counts(probe)["the answer prompt (both)"]
    assert rows[0].endswith("|  |") and rows[1].endswith(f"| {answer_prompt} |")


def test_recipe_table_reads_the_curve_and_the_corpus_loss_of_each_trial(trials, tmp_path):
    losses = [1.0] * 4000 + [0.2] * 2000 + [0.01] * 6000
    with gzip.open(tmp_path / "t-loss.tsv.gz", "wt") as f:
        f.write("step\tloss\n" + "".join(f"{i}\t{v}\n" for i, v in enumerate(losses)))
    (tmp_path / "t-corpus_loss.md").write_text(
        "| kind | rows | token loss | whole response top-1 |\n|---|---|---|---|\n"
        "| caption | 96 | 0.01 | 0.990 |\n| sentence_hint | 96 | 0.2 | 0.500 |\n"
        "| text_question | 96 | 0.1 | 0.750 |\n"
    )
    listing = tmp_path / "base-recipe.yaml"
    listing.write_text("- {files: t, change: lower lr}\n")
    row = trials.recipe_table(listing)[-1]
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells == ["t", "lower lr", "1.000", "0.200", "0.010", "0.010", "0.010", "0.010",
                     "6000", "0.990", "0.500", "0.750"]  # fmt: skip
