"""benchmarks/kept_labels.py: which gold labels the kept direct answers cover."""

from tests.scripts import load_script


def _row(task: str, value, ok: bool) -> dict:
    return {"task": task, "labels": [{"value": value}], "ok": ok}


def test_counts_the_labels_of_all_rows_and_of_the_kept_ones_per_task():
    rows = [_row("blinks", 1, True), _row("blinks", 1, True), _row("blinks", 0, False),
            _row("blinks", 3, False), _row("timing", [0.0, 0.5], True)]  # fmt: skip
    text = load_script("kept_labels").table(rows)
    assert "| blinks | 2 / 4 | 3 | 1 | 1 2 / 2, 0 0 / 1, 3 0 / 1 |" in text
    assert "| timing | 1 / 1 | 1 | 1 | [0.0, 0.5] 1 / 1 |" in text


def test_tabulates_what_the_failed_answers_concluded_per_gold_label():
    rows = [{**_row("blinks", 1, False), "text": "the red ball moves up. So the answer is It flickers."},
            {**_row("blinks", 1, False), "text": "the ball moves up. So the answer is It flickers."},
            {**_row("blinks", 2, False), "text": "the ball moves up. So the answer is 3."},
            {**_row("blinks", 2, True), "text": "the ball moves up. So the answer is 2."},
            {**_row("event", 1, False), "text": "x"}]  # fmt: skip
    text = load_script("kept_labels").failures(rows, "blinks")
    assert '| 1 | 2 | "So the answer is It flickers" 2 |' in text
    assert '| 2 | 1 | "So the answer is 3" 1 |' in text
    assert text.count("\n") == 4  # header, rule and one line per gold label with failures
