"""Training curves for `dvc plots`, written with dvclive: one folder per trained model.

    curves = Curves(Path("metrics/curves/cycle_1"))
    training.train(..., log=curves.log)          # loss, lr, grad_norm, examples per step
    curves.close()

The folder holds ``plots/metrics/<name>.tsv`` (columns ``step`` and the value; `dvc plots show`
and `dvc plots diff` draw them per model and across experiments) and ``metrics.json`` (the last
step's values). No timestamps are written, so the same run gives the same bytes.
"""

from __future__ import annotations

from pathlib import Path


class Curves:
    def __init__(self, folder: Path) -> None:
        from dvclive import Live

        self.folder = Path(folder)
        # dvclive neither edits dvc.yaml nor saves an experiment here: the stage's outputs do.
        self.live = Live(str(folder), save_dvc_exp=False, dvcyaml=None, report=None)
        self.steps = 0

    def log(self, step: int, record: dict[str, float]) -> None:
        """One step's values; steps arrive in order from 0."""
        if step != self.steps:
            raise ValueError(f"curves: step {step} logged after step {self.steps - 1}")
        # Each value is appended to its tsv at once. Live.next_step() is not called: it syncs
        # (dvclive 3.49 re-reads every tsv to post to Studio, even when Studio is off), which
        # made each step cost time linear in the steps so far (45 ms a step by step 12,000).
        self.live.step = step
        for name, value in record.items():
            self.live.log_metric(name, value)
        self.steps += 1

    def close(self) -> None:
        """Finish the files (``metrics.json``: the last step's values); a model that was not
        trained (no verified samples) gets an empty loss curve and summary, so the stage's
        outputs always exist."""
        self.live.end()
        if self.steps == 0:
            (self.folder / "plots" / "metrics").mkdir(parents=True, exist_ok=True)
            (self.folder / "plots" / "metrics" / "loss.tsv").write_text("step\tloss\n")
            (self.folder / "metrics.json").write_text("{}\n")
