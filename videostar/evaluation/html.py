"""One self-contained HTML page of a run, viewable with no network: tables, curves, samples.

    from videostar.evaluation import html
    page = html.build_page(Path("metrics"), Path("data/cycles"), n_cycles=3, num_frames=8,
                           config=html.PageConfig())
    Path("metrics/report.html").write_text(page, encoding="utf-8")

The page holds the results tables (``report.md``, written by ``report.write``), inline SVG plots
of accuracy and yield per cycle (``cycles.csv``) and of each model's training loss
(``curves/<model>/plots/metrics/loss.tsv``, where the training stages wrote one), and, per cycle
and task, a few sample cards: the sampled frames, the question, the generated text, the labels and
each verdict. Cards are grouped as *kept* (direct answer verified), *failed* (direct answer
rejected) and *rationalized* (the rationalization of a failure, verified or not); which samples
are shown is a seeded hash of their ids, so the same inputs give the same bytes. Frames are
embedded as data URIs, the filters are a few lines of inline script, and every generated text is
escaped: nothing is loaded from anywhere.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from videostar.core import seeding
from videostar.core.records import iter_jsonl
from videostar.evaluation import report
from videostar.video.frames import clip_ref, load_clips

GROUPS = ("kept", "failed", "rationalized")
# Okabe-Ito: distinguishable with every common colour-vision deficiency.
PALETTE = ("#0072b2", "#e69f00", "#009e73", "#d55e00", "#cc79a7", "#56b4e9", "#000000")
REFERENCES = ("#222222", "#8a8a8a")  # dashed horizontal lines


@dataclass(frozen=True)
class PageConfig:
    """params.yaml ``report_html``.

    cards_per_group: sample cards per cycle, task and group (kept, failed, rationalized).
    thumb_px: frame thumbnails are at most this many pixels high (smaller frames are not upscaled).
    max_curve_points: training curves are downsampled to at most this many points.
    seed: which samples are shown (ids sorted by ``seeding.derive(seed, "report_html", id)``).
    """

    cards_per_group: int = 3
    thumb_px: int = 64
    max_curve_points: int = 500
    seed: int = 0


# --- results tables ------------------------------------------------------------------------


def _inline(text: str) -> str:
    text = escape(text)
    text = re.sub(r"`([^`]+)`", r"<code>\1</code>", text)
    return re.sub(r"\*([^*]+)\*", r"<em>\1</em>", text)


def _table(lines: list[str]) -> str:
    rows = [[c.strip() for c in line.strip().strip("|").split("|")] for line in lines]
    head, body = rows[0], [r for r in rows[1:] if not all(set(c) <= {"-", ":"} for c in r)]
    out = ["<table><thead><tr>", *(f"<th>{_inline(c)}</th>" for c in head), "</tr></thead><tbody>"]
    for row in body:
        cells = [
            f'<td class="num">{escape(c)}</td>'
            if re.fullmatch(r"[\d.\s/-]+", c)
            else f"<td>{_inline(c)}</td>"
            for c in row
        ]
        out += ["<tr>", *cells, "</tr>"]
    return "".join(out) + "</tbody></table>"


def markdown_to_html(text: str) -> str:
    """The subset of Markdown ``report.md`` uses: headings (one level down), paragraphs, tables,
    `code` and *emphasis*."""
    out: list[str] = []
    block: list[str] = []

    def flush() -> None:
        if block and block[0].startswith("|"):
            out.append(_table(block))
        elif block:
            out.append(f"<p>{_inline(' '.join(block))}</p>")
        block.clear()

    for line in text.splitlines():
        if block and line.startswith("|") != block[0].startswith("|"):
            flush()
        if line.startswith("#"):
            flush()
            level = min(len(line) - len(line.lstrip("#")) + 1, 6)
            out.append(f"<h{level}>{_inline(line.lstrip('#').strip())}</h{level}>")
        elif line.strip():
            block.append(line)
        else:
            flush()
    flush()
    return "\n".join(out)


# --- plots ---------------------------------------------------------------------------------

Series = Mapping[str, list[tuple[float, float | None]]]


def ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """Round tick values covering [lo, hi] (steps of 1, 2 or 5 times a power of ten)."""
    raw = (hi - lo) / n
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    first, last = math.floor(lo / step + 1e-9), math.ceil(hi / step - 1e-9)
    return [round(k * step, 10) for k in range(first, last + 1)]


def downsample(points: list[tuple[float, float]], n: int) -> list[tuple[float, float]]:
    """At most ``n`` evenly spaced points, the first and the last included."""
    if len(points) <= n:
        return points
    return [points[i] for i in sorted({round(i * (len(points) - 1) / (n - 1)) for i in range(n)})]


def line_plot(
    title: str,
    series: Series,
    x_label: str,
    y_range: tuple[float, float] | None = None,
    references: Mapping[str, float] | None = None,
    size: tuple[int, int] = (560, 260),
) -> str:
    """An inline SVG line plot with an HTML legend; ``references``: dashed horizontal lines."""
    references = references or {}
    series = {name: s for name, s in series.items() if any(y is not None for _, y in s)}
    points = [(x, y) for s in series.values() for x, y in s if y is not None]
    if not points:
        return (
            f'<figure class="plot"><figcaption>{escape(title)}</figcaption><p>no data</p></figure>'
        )
    xs = [x for x, _ in points]
    ys = [y for _, y in points] + list(references.values())
    x0, x1 = min(xs), max(xs)
    x1 = x1 if x1 > x0 else x0 + 1
    y0, y1 = y_range or (min(0.0, min(ys)), max(ys))
    y1 = y1 if y1 > y0 else y0 + 1
    y_ticks = ticks(y0, y1)
    y0, y1 = min(y0, y_ticks[0]), max(y1, y_ticks[-1])
    x_ticks = [float(x) for x in range(int(x0), int(x1) + 1)] if x1 - x0 <= 12 else ticks(x0, x1)
    x_ticks = [x for x in x_ticks if x0 <= x <= x1]
    width, height = size
    left, right, top, bottom = 40, 14, 10, 34

    def sx(x: float) -> float:
        return left + (x - x0) / (x1 - x0) * (width - left - right)

    def sy(y: float) -> float:
        return top + (y1 - y) / (y1 - y0) * (height - top - bottom)

    svg = [
        f'<svg viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        f'aria-label="{escape(title)}">'
    ]
    for y in y_ticks:
        svg.append(
            f'<line class="grid" x1="{left}" x2="{width - right}" y1="{sy(y):.1f}" y2="{sy(y):.1f}"/>'
            f'<text x="{left - 5}" y="{sy(y) + 4:.1f}" text-anchor="end">{y:g}</text>'
        )
    for x in x_ticks:
        svg.append(
            f'<text x="{sx(x):.1f}" y="{height - bottom + 15}" text-anchor="middle">{x:g}</text>'
        )
    svg.append(
        f'<text x="{(left + width - right) / 2:.1f}" y="{height - 4}" text-anchor="middle">'
        f"{escape(x_label)}</text>"
    )
    legend = []
    for i, (name, line) in enumerate(series.items()):
        color = PALETTE[i % len(PALETTE)]
        legend.append(f'<span><i style="background:{color}"></i>{escape(name)}</span>')
        runs: list[list[tuple[float, float]]] = [[]]
        for x, y in line:
            if y is None:
                runs.append([])
            else:
                runs[-1].append((x, y))
        for run in runs:
            if len(run) > 1:
                coords = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in run)
                svg.append(f'<polyline points="{coords}" stroke="{color}"/>')
        if len(line) <= 40:
            for x, y in line:
                if y is not None:
                    svg.append(
                        f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="3" fill="{color}">'
                        f"<title>{escape(name)}: {x:g}, {y:.3f}</title></circle>"
                    )
    for i, (name, y) in enumerate(references.items()):
        color = REFERENCES[i % len(REFERENCES)]
        legend.append(
            f'<span><i class="dash" style="border-color:{color}"></i>{escape(name)}</span>'
        )
        svg.append(
            f'<line class="ref" x1="{left}" x2="{width - right}" y1="{sy(y):.1f}" '
            f'y2="{sy(y):.1f}" stroke="{color}"><title>{escape(name)}: {y:.3f}</title></line>'
        )
    svg.append("</svg>")
    legend_html = f'<div class="legend">{"".join(legend)}</div>' if len(legend) > 1 else ""
    return (
        f'<figure class="plot"><figcaption>{escape(title)}</figcaption>{"".join(svg)}'
        f"{legend_html}</figure>"
    )


def read_table(path: Path, delimiter: str = ",") -> list[dict[str, float | None]]:
    """A CSV/TSV of numbers; empty or non-finite cells are None."""

    def number(cell: str | None) -> float | None:
        try:
            value = float(cell) if cell else None
        except ValueError:
            return None
        return value if value is not None and math.isfinite(value) else None

    with open(path, encoding="utf-8", newline="") as f:
        return [
            {k: number(v) for k, v in row.items()} for row in csv.DictReader(f, delimiter=delimiter)
        ]


def cycle_plots(cycles: list[dict[str, float | None]], references: Mapping[str, float]) -> str:
    """Accuracy and yield per cycle, from ``cycles.csv`` (one row per cycle, 0 = base)."""
    columns = list(cycles[0]) if cycles else []

    def pick(names: dict[str, str]) -> dict[str, list[tuple[float, float | None]]]:
        return {label: [(r["cycle"], r.get(col)) for r in cycles] for col, label in names.items()}

    tasks = [c.removeprefix("accuracy_") for c in columns if c.startswith("accuracy_")]
    sets = [c for c in columns if c.endswith("_mean") and not c.startswith(("accuracy", "norat"))]
    yield_tasks = [
        c.removeprefix("yield_answer_") for c in columns if c.startswith("yield_answer_")
    ]
    return "".join(
        [
            line_plot(
                "Held-out accuracy (mean over adapted tasks) and other sets",
                pick({"accuracy_mean": "Video-STaR", "norat_accuracy_mean": "no rationalization"})
                | pick({s: s.removesuffix("_mean") for s in sets}),
                "cycle (0 = base)",
                (0.0, 1.0),
                references,
            ),
            line_plot(
                "Held-out accuracy per task (Video-STaR chain)",
                pick({f"accuracy_{t}": t for t in tasks if t != "mean"}),
                "cycle (0 = base)",
                (0.0, 1.0),
            ),
            line_plot(
                "Yield per cycle (fraction of training questions)",
                pick({"yield_answer": "direct answer", "yield_rationale": "rationalization"})
                | pick({"yield_kept": "kept"}),
                "cycle",
                (0.0, 1.0),
            ),
            line_plot(
                "Direct-answer yield per task",
                pick({f"yield_answer_{t}": t for t in yield_tasks}),
                "cycle",
                (0.0, 1.0),
            ),
        ]
    )


def loss_plots(curves_dir: Path, labels: Mapping[str, str], max_points: int) -> str:
    """One small training-loss plot per model that has ``<model>/plots/metrics/loss.tsv``."""
    found = {p.parents[2].name: p for p in curves_dir.glob("*/plots/metrics/loss.tsv")}
    order = [m for m in labels if m in found] + sorted(set(found) - set(labels))
    plots = []
    for model in order:
        rows = read_table(found[model], "\t")
        points = [(r["step"], r["loss"]) for r in rows if r.get("step") is not None]
        points = [(x, y) for x, y in points if y is not None]
        plots.append(
            line_plot(
                labels.get(model, model),
                {"loss": downsample(points, max_points)},
                "step",
                size=(360, 190),
            )  # fmt: skip
        )
    if not plots:
        return (
            f'<p class="note">No training curves under <code>{escape(str(curves_dir))}</code>.</p>'
        )
    return "".join(plots)


# --- sample cards --------------------------------------------------------------------------


def read_rows(path: Path) -> list[dict[str, Any]]:
    return list(iter_jsonl(path)) if path.is_file() else []


def pick_samples(
    answers: list[dict[str, Any]], rationales: list[dict[str, Any]], per_group: int, seed: int
) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """{task: {group: rows}}: the first ``per_group`` rows of each group by a seeded id hash."""
    grouped: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for group, rows in (
        ("kept", [r for r in answers if r.get("ok")]),
        ("failed", [r for r in answers if not r.get("ok")]),
        ("rationalized", rationales),
    ):
        for row in rows:
            grouped.setdefault(row["task"], {g: [] for g in GROUPS})[group].append(row)
    return {
        task: {
            group: sorted(
                rows, key=lambda r: (seeding.derive(seed, "report_html", r["id"]), r["id"])
            )[:per_group]
            for group, rows in groups.items()
        }
        for task, groups in sorted(grouped.items())
    }


def frame_strip(frames: np.ndarray, thumb_px: int) -> str:
    """The frames side by side as one image, a data URI: PNG at native size when the frames are
    no higher than ``thumb_px``, else JPEG scaled to that height (photographic frames)."""
    _, height, width, _ = frames.shape
    scaled = height > thumb_px
    size = (max(1, round(width * thumb_px / height)), thumb_px) if scaled else (width, height)
    tiles = [np.asarray(Image.fromarray(f).resize(size, Image.Resampling.LANCZOS)) for f in frames]
    gap = np.full((size[1], 1, 3), 255, np.uint8)
    strip = np.concatenate([part for tile in tiles for part in (tile, gap)][:-1], axis=1)
    buffer = io.BytesIO()
    if scaled:
        Image.fromarray(strip).save(buffer, format="JPEG", quality=80)
    else:
        Image.fromarray(strip).save(buffer, format="PNG", optimize=True)
    kind = "jpeg" if scaled else "png"
    return f"data:image/{kind};base64,{base64.b64encode(buffer.getvalue()).decode()}"


def _json(value: Any, limit: int = 160) -> str:
    text = (
        value if isinstance(value, str) else json.dumps(value, sort_keys=True, ensure_ascii=False)
    )
    return text if len(text) <= limit else text[: limit - 1] + "…"


def verdict_row(verdict: dict[str, Any]) -> str:
    ok = bool(verdict.get("ok"))
    score = verdict.get("score")
    return (
        f"<tr><td>{escape(str(verdict.get('name')))}</td>"
        f'<td class="{"ok" if ok else "bad"}">{"✓" if ok else "✗"}</td>'
        f'<td class="num">{"" if score is None else f"{score:.3g}"}</td>'
        f"<td><code>{escape(_json(verdict.get('parsed')))}</code></td></tr>"
    )


def card(row: dict[str, Any], group: str, image: str | None, direct: dict[str, Any] | None) -> str:
    """One sample: frames, question, generated text, labels and verdicts (all text escaped)."""
    # kept and failed say whether the direct answer passed; a rationalization says it here.
    status = ("verified" if row.get("ok") else "rejected") if group == "rationalized" else None
    frames = (
        f'<img class="frames" alt="sampled frames" src="{escape(image)}">'
        if image
        else '<p class="note">frames unavailable</p>'
    )
    verdicts = "".join(verdict_row(v) for v in row.get("verdicts") or [])
    labels = "; ".join(
        f"{label.get('name')} ({label.get('type')}): {_json(label.get('value'))}"
        for label in row.get("labels") or []
    )
    parts = [
        f'<article class="card {group}" data-verdict="{group}" data-task="{escape(row["task"])}">',
        f'<header><span class="badge {group}">{group}</span>'
        + (f'<span class="badge {status}">{status}</span>' if status else "")
        + f'<span class="id">{escape(str(row["id"]))}</span></header>',
        frames,
        f'<p class="q"><b>Q:</b> {escape(str(row.get("question", "")))}</p>',
    ]
    if direct is not None:
        parts.append(
            f'<p class="direct"><b>direct answer:</b> {escape(str(direct.get("text")))}</p>'
        )
    parts += [
        f'<p class="text">{escape(str(row.get("text", "")))}</p>',
        f'<p class="labels"><b>labels:</b> {escape(labels)}</p>',
        '<table class="verdicts"><thead><tr><th>label</th><th>ok</th><th>score</th>'
        f"<th>parsed</th></tr></thead><tbody>{verdicts}</tbody></table>",
    ]
    if row.get("error"):
        parts.append(f'<p class="note">error: {escape(str(row["error"]))}</p>')
    parts.append(
        f"<details><summary>prompt</summary><pre>{escape(str(row.get('prompt', '')))}</pre></details>"
    )
    return "".join(parts) + "</article>"


def cycle_names(cycles_dir: Path, n_cycles: int) -> list[str]:
    """The cycles with verified answers, in chain order: cycle_1..N, then norat_1..N."""
    names = [f"{chain}_{k}" for chain in ("cycle", "norat") for k in range(1, n_cycles + 1)]
    return [n for n in names if (cycles_dir / n / "verified" / "answers.jsonl").is_file()]


def samples_section(
    cycles_dir: Path,
    names: list[str],
    labels: Mapping[str, str],
    num_frames: int,
    config: PageConfig,
) -> tuple[str, list[str]]:
    """The sample cards of every cycle and the tasks met; frames decoded once per clip."""
    picked = {}
    counts = {}
    for name in names:
        answers = read_rows(cycles_dir / name / "verified" / "answers.jsonl")
        rationales = read_rows(cycles_dir / name / "verified" / "rationales.jsonl")
        by_id = {r["id"]: r for r in answers}
        picked[name] = (
            pick_samples(answers, rationales, config.cards_per_group, config.seed),
            {r["id"]: by_id.get(r["id"]) for r in rationales},
            answers[0].get("model") if answers else None,
        )
        counts[name] = {
            task: (
                sum(1 for r in answers if r["task"] == task and r.get("ok")),
                sum(1 for r in answers if r["task"] == task),
                sum(1 for r in rationales if r["task"] == task and r.get("ok")),
                sum(1 for r in rationales if r["task"] == task),
            )
            for task in {r["task"] for r in answers}
        }
    refs = [
        clip_ref(row)
        for groups, _, _ in picked.values()
        for by_group in groups.values()
        for rows in by_group.values()
        for row in rows
    ]
    clips, _ = load_clips(refs, num_frames, desc="report_html")
    images = {ref: frame_strip(clips[ref].frames, config.thumb_px) for ref in clips}
    tasks = sorted({task for groups, _, _ in picked.values() for task in groups})
    out = []
    for name in names:
        groups, directs, model = picked[name]
        title = labels.get(name, name)
        out.append(
            f'<section class="cycle" data-cycle="{escape(name)}"><h3>{escape(title)} '
            f"<small>{escape(name)}; answers by {escape(str(model))}</small></h3>"
        )
        for task, by_group in groups.items():
            kept, answered, rationalized, tried = counts[name][task]
            out.append(
                f'<div class="task" data-task="{escape(task)}"><h4>{escape(task)} <small>kept '
                f"{kept}/{answered} direct answers; {rationalized}/{tried} rationalizations "
                "verified</small></h4><div class=cards>"
            )
            for group in GROUPS:
                for row in by_group[group]:
                    direct = directs.get(row["id"]) if group == "rationalized" else None
                    out.append(card(row, group, images.get(clip_ref(row)), direct))
            out.append("</div></div>")
        out.append("</section>")
    return "".join(out), tasks


# --- the page ------------------------------------------------------------------------------

STYLE = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1d2330;background:#f5f6f8}
main{max-width:1240px;margin:0 auto;padding:20px 28px 60px}
h1{font-size:26px;margin:8px 0 4px}h2{font-size:20px;margin:34px 0 10px;border-bottom:2px solid #d9dde5;padding-bottom:4px}
h3{font-size:17px;margin:26px 0 8px}h4{font-size:15px;margin:18px 0 6px}small{color:#5b6475;font-weight:normal}
p{max-width:900px}code{background:#eceff4;padding:0 3px;border-radius:3px;font-size:12px}
table{border-collapse:collapse;margin:8px 0 16px;background:#fff}th,td{border:1px solid #d9dde5;padding:3px 8px;text-align:left}
th{background:#eef1f6}td.num{text-align:right;font-variant-numeric:tabular-nums}
.plots{display:flex;flex-wrap:wrap;gap:14px}
.plot{margin:0;background:#fff;border:1px solid #d9dde5;border-radius:6px;padding:8px 10px}
figcaption{font-weight:600;margin-bottom:4px}
svg text{font-size:11px;fill:#5b6475}svg .grid{stroke:#e6e9ef}svg polyline{fill:none;stroke-width:2}
svg .ref{stroke-width:1.5;stroke-dasharray:5 4}
.legend{display:flex;flex-wrap:wrap;gap:4px 12px;font-size:12px;max-width:560px}
.legend i{display:inline-block;width:14px;height:3px;margin:0 5px 3px 0;vertical-align:middle}
.legend i.dash{height:0;border-top:2px dashed}
#filters{position:sticky;top:0;z-index:1;background:#fff;border:1px solid #d9dde5;border-radius:6px;padding:8px 12px;display:flex;flex-wrap:wrap;gap:6px 18px}
#filters label{white-space:nowrap;margin-right:8px}#filters b{margin-right:4px}
.cards{display:flex;flex-wrap:wrap;gap:10px}
.card{width:370px;background:#fff;border:1px solid #d9dde5;border-left:5px solid #999;border-radius:6px;padding:8px 10px;font-size:13px}
.card.kept{border-left-color:#009e73}.card.failed{border-left-color:#d55e00}.card.rationalized{border-left-color:#0072b2}
.card header{display:flex;gap:6px;align-items:center;margin-bottom:6px}
.card .id{color:#5b6475;font-size:11px;margin-left:auto;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.badge{font-size:11px;padding:1px 7px;border-radius:9px;color:#fff;background:#777}
.badge.kept,.badge.verified{background:#009e73}.badge.failed,.badge.rejected{background:#d55e00}.badge.rationalized{background:#0072b2}
.frames{width:100%;image-rendering:pixelated;border-radius:3px;display:block}
.card p{margin:5px 0}.card .text{background:#f3f5f9;padding:4px 6px;border-radius:4px;white-space:pre-wrap;overflow-wrap:anywhere}
.card .direct{color:#5b6475;overflow-wrap:anywhere}.card .labels{overflow-wrap:anywhere}
.verdicts{font-size:12px;width:100%;margin:4px 0}.verdicts td{white-space:nowrap}.verdicts td:last-child{white-space:normal;overflow-wrap:anywhere;width:100%}
td.ok{color:#009e73;font-weight:700}td.bad{color:#d55e00;font-weight:700}
details{font-size:12px;color:#5b6475}pre{white-space:pre-wrap;margin:4px 0}
.note{color:#5b6475;font-style:italic}[hidden]{display:none!important}
"""

# Hide every element whose data-verdict / data-task / data-cycle is unticked in #filters.
SCRIPT = """
function applyFilters() {
  const on = {};
  for (const box of document.querySelectorAll('#filters input')) {
    on[box.name] = on[box.name] || new Set();
    if (box.checked) on[box.name].add(box.value);
  }
  for (const el of document.querySelectorAll('[data-verdict],[data-task],[data-cycle]')) {
    el.hidden = Object.keys(on).some(k => el.dataset[k] !== undefined && !on[k].has(el.dataset[k]));
  }
}
document.getElementById('filters').addEventListener('change', applyFilters);
"""


def filters(options: Mapping[str, Iterable[tuple[str, str]]]) -> str:
    """Checkbox rows, ``{data attribute: [(value, label)]}``, all ticked."""
    out = ['<form id="filters">']
    for attribute, values in options.items():
        boxes = "".join(
            f'<label><input type="checkbox" name="{attribute}" value="{escape(value)}" checked> '
            f"{escape(label)}</label>"
            for value, label in values
        )
        out.append(f"<span><b>{attribute}:</b> {boxes}</span>")
    return "".join(out) + "</form>"


def build_page(
    metrics_dir: Path,
    cycles_dir: Path,
    n_cycles: int,
    num_frames: int,
    config: PageConfig,
    curves_dir: Path | None = None,
) -> str:
    """The whole page as one string; missing inputs (curves, a cycle's rationales) are noted."""
    curves_dir = curves_dir or metrics_dir / "curves"
    metrics = report.load_metrics(metrics_dir)
    labels = {"base": "base"} | {
        name: label for label, name in report.model_rows(n_cycles, metrics["models"])
    }
    report_md = metrics_dir / "report.md"
    tables = (
        markdown_to_html(report.without_title(report_md.read_text(encoding="utf-8")))
        if report_md.is_file()
        else '<p class="note">No report.md.</p>'
    )
    cycles_csv = metrics_dir / "cycles.csv"
    cycles = read_table(cycles_csv) if cycles_csv.is_file() else []
    references = {
        f"{labels[name]} (mean)": metrics["models"][name]["accuracy"]["mean"]
        for name in ("label_sft", "final")
        if name in metrics["models"]
    }
    names = cycle_names(cycles_dir, n_cycles)
    samples, tasks = samples_section(cycles_dir, names, labels, num_frames, config)
    controls = filters(
        {
            "verdict": [(g, g) for g in GROUPS],
            "task": [(t, t) for t in tasks],
            "cycle": [(n, n) for n in names],
        }
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Video-STaR report</title><style>{STYLE}</style></head>
<body><main>
<h1>Video-STaR report</h1>
<p class="note">Built from <code>{escape(str(metrics_dir))}</code> and <code>{escape(str(cycles_dir))}</code>
({n_cycles} cycles). Samples: {config.cards_per_group} per cycle, task and group, chosen by a seeded
hash of their ids (seed {config.seed}); {num_frames} frames per clip, sampled as the model sees them.</p>
<h2>Results</h2>
{tables}
<h2>Curves</h2>
<div class="plots">{cycle_plots(cycles, references) if cycles else '<p class="note">No cycles.csv.</p>'}</div>
<h3>Training loss</h3>
<div class="plots">{loss_plots(curves_dir, labels, config.max_curve_points)}</div>
<h2>Samples</h2>
<p><b>kept</b>: the direct answer to the step-by-step prompt was verified (training data);
<b>failed</b>: it was rejected; <b>rationalized</b>: a failure answered again with the gold labels
as a hint, then verified (kept) or rejected.</p>
{controls}
{samples}
</main><script>{SCRIPT}</script></body></html>
"""
