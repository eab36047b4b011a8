"""The offline HTML report: every cycle and task shown, frames embedded, nothing fetched, escaped,
deterministic; the stage writes it and `videostar screenshot` renders it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
import yaml

from videostar.cli import main as cli
from videostar.core.records import write_json, write_jsonl
from videostar.evaluation import html, report
from videostar.video.clips import write_video

REPO = Path(__file__).resolve().parents[1]
TASKS = ("direction", "timing")
CYCLES = ("cycle_1", "cycle_2", "norat_2")
EVIL = '<script>alert("x")</script>'


class Page(HTMLParser):
    """Tags with their attributes, and the text, of a page."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def model_metrics(mean: float) -> dict:
    return {
        "accuracy": {"direction": mean, "timing": mean, "mean": mean},
        "sets": {"retention": {"caption": 0.9, "mean": 0.9}},
    }


def generated(task: str, i: int, kind: str, ok: bool, text: str) -> dict:
    label = (
        {"name": "direction", "type": "category", "value": "up"}
        if task == "direction"
        else {"name": "visible", "type": "temporal_range", "value": [0.0, 0.5]}
    )
    return {
        "id": f"{task}-{i}",
        "video": f"data/videos/{task}-{i % 2}.mp4",
        "task": task,
        "question": f"Question {i} about {task}?",
        "labels": [label],
        "model": "models/base",
        "prompt_kind": kind,
        "prompt": f"Question: {i}",
        "text": EVIL if (task, i, kind) == ("direction", 0, "answer") else text,
        "ok": ok,
        "verdicts": [
            {
                "name": label["name"],
                "type": label["type"],
                "ok": ok,
                "score": 0.5,
                "parsed": {"words": ["up"]},
            }
        ],  # fmt: skip
        "error": None,
    }


def make_artifacts(root: Path) -> None:
    """Two toy videos, verified rows of three cycles, the metrics files, one loss curve."""
    rng = np.random.default_rng(0)
    for task in TASKS:
        for v in range(2):
            write_video(root / f"data/videos/{task}-{v}.mp4",
                        rng.integers(0, 255, (4, 16, 16, 3), dtype=np.uint8), fps=4)  # fmt: skip
    for cycle in CYCLES:
        folder = root / "data/cycles" / cycle / "verified"
        answers = [generated(t, i, "answer", i % 2 == 0, "It moves up.") for t in TASKS for i in range(6)]  # fmt: skip
        write_jsonl(folder / "answers.jsonl", answers)
        if cycle.startswith("cycle"):
            rationales = [generated(r["task"], int(r["id"].split("-")[1]), "rationale", True,
                                    "So the answer is up.") for r in answers if not r["ok"]]  # fmt: skip
            write_jsonl(folder / "rationales.jsonl", rationales)
    metrics = root / "metrics"
    for name, mean in {"base": 0.2, "cycle_1": 0.5, "cycle_2": 0.6, "norat_1": 0.3,
                       "norat_2": 0.35, "label_sft": 0.7, "final": 0.55}.items():  # fmt: skip
        write_json(metrics / "models" / f"{name}.json", model_metrics(mean))
    for name in ("cycle_1", "cycle_2", "norat_1", "norat_2", "final", "label_sft"):
        write_json(metrics / "train" / f"{name}.json", {"yield": {
            "answer": 0.5, "rationale": 0.4, "kept": 0.9,
            "answer_by_task": {"direction": 0.9, "timing": 0.1},
            "rationale_by_task": {"direction": 0.1, "timing": 0.7}}})  # fmt: skip
    write_json(metrics / "majority.json", {"direction": 0.25, "timing": 0.25, "mean": 0.25})
    report.write(metrics, 2)
    curve = metrics / "curves" / "cycle_1" / "plots" / "metrics"
    curve.mkdir(parents=True)
    lines = [f"{s}\t{2.0 / (1 + s / 50):.4f}" for s in range(1200)]
    (curve / "loss.tsv").write_text("step\tloss\n" + "\n".join(lines) + "\n")


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, str]:
    root = tmp_path_factory.mktemp("run")
    make_artifacts(root)
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)  # rows name their videos relative to the repository root
        page = html.build_page(Path("metrics"), Path("data/cycles"), 2, 4, html.PageConfig())
    return root, page


def test_every_cycle_and_task_appears(built):
    _, page = built
    parsed = Page(page)
    cycles = {a["data-cycle"] for tag, a in parsed.tags if "data-cycle" in a}
    tasks = {a["data-task"] for tag, a in parsed.tags if tag == "div" and "data-task" in a}
    assert cycles == set(CYCLES) and tasks == set(TASKS)
    verdicts = {a["data-verdict"] for tag, a in parsed.tags if tag == "article"}
    assert verdicts == {"kept", "failed", "rationalized"}
    text = "".join(parsed.text)
    assert "Video-STaR cycle 2 (with rationales)" in text and "no rationalization, cycle 2" in text
    assert "label-template SFT" in text  # the results tables


def test_frames_are_embedded_and_nothing_is_fetched(built):
    _, page = built
    parsed = Page(page)
    images = [a["src"] for tag, a in parsed.tags if tag == "img"]
    assert images and all(src.startswith("data:image/png;base64,") for src in images)
    for tag, attrs in parsed.tags:
        assert tag not in ("link", "iframe", "object", "embed"), tag
        for key in ("src", "href", "action", "xlink:href"):
            value = attrs.get(key) or ""
            assert not value.startswith(("http:", "https:", "//")), (tag, key, value)
        if tag == "script":
            assert "src" not in attrs
    assert "http://" not in page and "https://" not in page and "@import" not in page


def test_untrusted_text_is_escaped(built):
    _, page = built
    assert EVIL not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert page.count("<script>") == 1  # the filters' own inline script


def test_training_curves_are_drawn_downsampled(built):
    _, page = built
    svg = page.split("Training loss", 1)[1].split("<h2>", 1)[0]
    polylines = [a["points"] for tag, a in Page(svg).tags if tag == "polyline"]
    assert len(polylines) == 1 and 100 < len(polylines[0].split()) <= 500


def test_missing_curves_are_a_note(built, tmp_path):
    root, _ = built
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        page = html.build_page(Path("metrics"), Path("data/cycles"), 2, 4, html.PageConfig(),
                               curves_dir=tmp_path / "none")  # fmt: skip
    assert "No training curves" in page


def test_same_inputs_give_the_same_bytes(built):
    root, page = built
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        mp.setenv("VIDEOSTAR_FRAME_CACHE", "off")  # decoded again, not read from the cache
        again = html.build_page(Path("metrics"), Path("data/cycles"), 2, 4, html.PageConfig())
    assert again == page


def test_samples_are_picked_by_seeded_hash():
    rows = [{"id": f"v{i}", "task": "t", "ok": i % 2 == 0} for i in range(40)]
    one = html.pick_samples(rows, [], 3, seed=0)
    assert one == html.pick_samples(list(reversed(rows)), [], 3, seed=0)
    assert [len(one["t"][g]) for g in html.GROUPS] == [3, 3, 0]
    assert all(r["ok"] for r in one["t"]["kept"]) and not any(r["ok"] for r in one["t"]["failed"])
    assert html.pick_samples(rows, [], 3, seed=1) != one


def test_plot_helpers():
    points = [(float(i), float(i)) for i in range(2000)]
    small = html.downsample(points, 500)
    assert len(small) == 500 and small[0] == points[0] and small[-1] == points[-1]
    assert html.ticks(0, 1) == [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert html.ticks(0.13, 2.4) == [0.0, 0.5, 1.0, 1.5, 2.0, 2.5]
    table = html.markdown_to_html("## A <b>\n\n| m | x |\n|---|---|\n| `a` | 0.5 |\n")
    assert "<h3>A &lt;b&gt;</h3>" in table and "<code>a</code>" in table
    assert '<td class="num">0.5</td>' in table


def test_a_series_without_points_gets_no_legend_entry():
    plot = html.line_plot("t", {"shown": [(0, 0.5), (1, 0.6)], "absent": [(0, None), (1, None)],
                                "also": [(0, 0.1), (1, 0.2)]}, "x")  # fmt: skip
    assert "shown" in plot and "also" in plot and "absent" not in plot


def test_the_stage_writes_the_page(built, tmp_path):
    root, page = built
    params = {"sampling": {"num_frames": 4}, "report_html": {"cards_per_group": 3, "thumb_px": 64,
              "max_curve_points": 500, "seed": 0}}  # fmt: skip
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    out = tmp_path / "report.html"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    subprocess.run(
        [sys.executable, "-m", "stages.report_html", "--metrics", "metrics", "--cycles", "2",
         "--samples", "data/cycles", "--out", str(out)],
        cwd=root, env=env, check=True, capture_output=True,
    )  # fmt: skip
    assert out.read_text(encoding="utf-8") == page


def test_screenshot_without_chromium_says_so(built, monkeypatch, capsys):
    root, _ = built
    (root / "page.html").write_text("<p>x</p>")
    monkeypatch.setattr(cli.shutil, "which", lambda name: None)
    assert cli.main(["screenshot", "--page", str(root / "page.html")]) == 2
    assert "no Chromium found" in capsys.readouterr().err


@pytest.mark.skipif(
    not shutil.which("chromium"), reason="needs Chromium (apt-get install chromium)"
)
def test_screenshot_renders_a_png(built, tmp_path):
    root, page = built
    (root / "report.html").write_text(page, encoding="utf-8")
    out = tmp_path / "report.png"
    assert cli.main(["screenshot", "--page", str(root / "report.html"), "--out", str(out),
                     "--height", "800"]) == 0  # fmt: skip
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
