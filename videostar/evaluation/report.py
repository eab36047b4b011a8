"""The results tables across models and cycles, for `dvc plots`, the README and people.

Inputs are the metrics files the pipeline writes: ``models/<model>.json`` (held-out accuracy per
evaluation set, stage ``evaluate``), ``train/<model>.json`` (yields and training counts, stage
``train``) and ``majority.json`` (the majority-answer baseline, stage ``majority``).

The headline is the paper's protocol: the final model (the last cycle's data without
rationalizations) against the label-template baseline ("Video-LLaVA+"). Intermediate cycles are
trained with rationalizations and are shown as such.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from videostar.core.records import read_json

HEADLINE = ("majority baseline", "base", "label-template SFT", "Video-STaR final")


def load_metrics(metrics_dir: Path) -> dict[str, Any]:
    """{"models": {name: metrics}, "train": {name: stats}, "majority": accuracy}."""
    return {
        "models": {p.stem: read_json(p) for p in sorted((metrics_dir / "models").glob("*.json"))},
        "train": {p.stem: read_json(p) for p in sorted((metrics_dir / "train").glob("*.json"))},
        "majority": read_json(metrics_dir / "majority.json"),
    }


def summary(metrics: dict[str, Any]) -> dict[str, float]:
    """Accuracy per adapted task and mean, then each other evaluation set's mean."""
    row = {task: value for task, value in metrics["accuracy"].items() if task != "mean"}
    row["mean"] = metrics["accuracy"]["mean"]
    for name, accuracy in metrics.get("sets", {}).items():
        row[name] = accuracy["mean"]
    return row


def model_rows(n_cycles: int, models: dict[str, Any]) -> list[tuple[str, str]]:
    """(row label, model name) in table order; models without metrics are left out."""
    rows = [("base", "base"), ("label-template SFT", "label_sft")]
    rows += [(f"no rationalization, cycle {k}", f"norat_{k}") for k in range(1, n_cycles + 1)]
    rows += [
        (f"Video-STaR cycle {k} (with rationales)", f"cycle_{k}") for k in range(1, n_cycles + 1)
    ]
    rows.append(("Video-STaR final", "final"))
    return [(label, name) for label, name in rows if name in models]


def results(n_cycles: int, metrics: dict[str, Any]) -> pd.DataFrame:
    """One row per model (and the majority baseline), indexed by row label."""
    models = metrics["models"]
    rows = {"majority baseline": dict(metrics["majority"])}
    for label, name in model_rows(n_cycles, models):
        rows[label] = summary(models[name])
    frame = pd.DataFrame.from_dict(rows, orient="index")
    tasks = [t for t in metrics["majority"] if t != "mean"]
    others = [c for c in frame.columns if c not in (*tasks, "mean")]
    return frame[[*tasks, "mean", *others]]


def cycles_frame(n_cycles: int, metrics: dict[str, Any]) -> pd.DataFrame:
    """One row per cycle (0 = base) for `dvc plots`: accuracy, the ablation's, yields."""
    models, train = metrics["models"], metrics["train"]
    with_ablation = any(f"norat_{k}" in models for k in range(1, n_cycles + 1))
    rows = []
    for k in range(n_cycles + 1):
        name = "base" if k == 0 else f"cycle_{k}"
        m = models[name]
        row: dict[str, Any] = {"cycle": k}
        row.update({f"accuracy_{t}": v for t, v in m["accuracy"].items()})
        row.update({f"{s}_mean": acc["mean"] for s, acc in m.get("sets", {}).items()})
        ablation = models.get("base" if k == 0 else f"norat_{k}")
        if with_ablation and ablation is not None:
            row["norat_accuracy_mean"] = ablation["accuracy"]["mean"]
        got = train.get(name, {}).get("yield", {})
        for kind in ("answer", "rationale", "kept"):
            row[f"yield_{kind}"] = got.get(kind)
        for kind in ("answer", "rationale"):
            for task, value in got.get(f"{kind}_by_task", {}).items():
                row[f"yield_{kind}_{task}"] = value
        rows.append(row)
    return pd.DataFrame(rows)


def yield_tasks(cycles: pd.DataFrame) -> list[str]:
    return [c.removeprefix("yield_answer_") for c in cycles if c.startswith("yield_answer_")]


def per_task_yields(cycles: pd.DataFrame) -> dict[str, pd.DataFrame]:
    done = cycles[cycles["cycle"] > 0]
    return {
        task: pd.DataFrame(
            {
                "cycle": done["cycle"],
                "answer": done[f"yield_answer_{task}"],
                "rationale": done.get(f"yield_rationale_{task}"),
            }
        )
        for task in yield_tasks(cycles)
    }


def to_markdown(frame: pd.DataFrame, index_name: str) -> str:
    columns = [index_name, *map(str, frame.columns)]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for label, row in frame.iterrows():
        cells = [
            "" if pd.isna(v) else (f"{v:.3f}" if isinstance(v, float) else str(v)) for v in row
        ]
        lines.append("| " + " | ".join([str(label), *cells]) + " |")
    return "\n".join(lines) + "\n"


def yields_table(cycles: pd.DataFrame) -> pd.DataFrame:
    """Direct-answer / rationalization yield per task and cycle, as 'answer / rationale'."""
    out = {}
    for _, row in cycles[cycles["cycle"] > 0].iterrows():
        out[f"cycle {int(row['cycle'])}"] = {
            task: f"{row[f'yield_answer_{task}']:.3f} / {row.get(f'yield_rationale_{task}', 0):.3f}"
            for task in yield_tasks(cycles)
        }
    return pd.DataFrame.from_dict(out, orient="index")


def headline(table: pd.DataFrame) -> pd.DataFrame:
    return table.loc[[label for label in HEADLINE if label in table.index]]


def has_ablation(table: pd.DataFrame) -> bool:
    return any(label.startswith("no rationalization") for label in table.index)


def markdown(table: pd.DataFrame, cycles: pd.DataFrame) -> str:
    return (
        "# Video-STaR results\n\n"
        "## Headline: the paper's protocol\n\n"
        "The final model is trained from the base on the last cycle's directly generated, "
        "verified answers only (no rationalizations), and compared with label-template SFT "
        "(the paper's Video-LLaVA+) trained with the same recipe. Held-out accuracy per adapted "
        "task and mean; `retention`: held-out captions of the pretraining corpus (general "
        "ability); other columns: transfer sets no stage trained on.\n\n"
        + to_markdown(headline(table), "model")
        + "\n## Every model\n\n"
        "Cycles 1..N are trained on direct answers *and* rationalizations (the intermediate "
        "models of the loop)"
        + ("; `no rationalization` is the ablation's chain" if has_ablation(table) else "")
        + ".\n\n"
        + to_markdown(table, "model")
        + "\n## Yield per cycle and task (direct answer / rationalization)\n\n"
        + to_markdown(yields_table(cycles), "cycle")
    )


def write(metrics_dir: Path, n_cycles: int) -> str:
    """Write report.md, cycles.csv and yields/<task>.csv under ``metrics_dir``; return report.md."""
    metrics = load_metrics(metrics_dir)
    cycles = cycles_frame(n_cycles, metrics)
    cycles.to_csv(metrics_dir / "cycles.csv", index=False, float_format="%.4f")
    yields_dir = metrics_dir / "yields"
    yields_dir.mkdir(exist_ok=True)
    for task, curves in per_task_yields(cycles).items():
        curves.to_csv(yields_dir / f"{task}.csv", index=False, float_format="%.4f")
    text = markdown(results(n_cycles, metrics), cycles)
    (metrics_dir / "report.md").write_text(text, encoding="utf-8")
    return text


# README blocks that `videostar readme` fills from committed artifacts (never typed by hand).
README_BLOCKS = {
    "results": "metrics/report.md",
    "seeds": "metrics/seeds.md",
    "lora": "metrics/lora.md",
    "trials": "metrics/trials.md",
    "stage_times": "metrics/stage_times.md",
    "ablation": "metrics/ablation.md",
}


def markers(block: str) -> tuple[str, str]:
    source = README_BLOCKS[block]
    return (
        f"<!-- {block}:begin (videostar readme copies {source} here) -->",
        f"<!-- {block}:end -->",
    )


def replace_block(text: str, block: str, body: str) -> str:
    """``text`` with the README block ``block`` replaced by ``body`` (a title line dropped)."""
    begin, end = markers(block)
    try:
        head, rest = text.split(begin, 1)
        _, tail = rest.split(end, 1)
    except ValueError:
        raise ValueError(f"README has no {begin!r} ... {end!r} block") from None
    return f"{head}{begin}\n{without_title(body).strip()}\n{end}{tail}"


def without_title(report: str) -> str:
    return report.split("\n", 1)[1] if report.startswith("# ") else report
