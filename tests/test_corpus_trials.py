"""benchmarks/corpus_trials.py: the README's trials table is generated from the committed runs'
reports, never typed."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "benchmarks" / "corpus_trials.py"


@pytest.fixture(scope="module")
def trials():
    spec = importlib.util.spec_from_file_location("corpus_trials", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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
