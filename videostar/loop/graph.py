"""The STaR cycle graph as data: which stage runs for which key, with which model.

``graph(iter, no_rationalization, restart_from_base)`` is what dvc.yaml's ``foreach`` loops unroll
(params.yaml ``graph``, composed from ``iter`` and the ``loop`` section by the resolver in
hydra_plugins/). Every decision about a cycle lives here, so stage flags and params cannot disagree:

- ``answer``: keys whose questions are answered (step 1) and verified, with the generating model
  (the previous cycle's). The ablation's first cycle would repeat ``cycle_1`` byte for byte (same
  model, same questions), so it is not generated twice: ``norat_1`` trains on ``cycle_1``'s answers.
- ``rationalize``: keys whose failures are rationalized (step 3) and re-verified: Video-STaR's chain.
- ``train``: every model fine-tuned on verified samples: ``init`` (the base when restarting from
  base, as STaR does, else the chain's previous model), ``data`` (the key whose verified samples
  it reads) and ``rationales`` (on/off). ``final`` is the paper's final model: the last cycle's
  data without rationalizations, from the same init as the last cycle.
- ``models``: every model evaluated, in report order.
"""

from __future__ import annotations

from typing import Any

BASE = "base"
STAR = "cycle"
ABLATION = "norat"


def graph(iterations: int, no_rationalization: bool, restart_from_base: bool) -> dict[str, Any]:
    n = int(iterations)
    if n < 1:
        raise ValueError(f"iter must be >= 1, got {n}")
    chains = [STAR] + ([ABLATION] if no_rationalization else [])
    answer: dict[str, dict[str, str]] = {}
    rationalize: dict[str, dict[str, str]] = {}
    train: dict[str, dict[str, str]] = {}
    for chain in chains:
        for k in range(1, n + 1):
            key, previous = f"{chain}_{k}", BASE if k == 1 else f"{chain}_{k - 1}"
            data = f"{STAR}_1" if (chain == ABLATION and k == 1) else key
            if data == key:
                answer[key] = {"model": previous}
            if chain == STAR:
                rationalize[key] = {"model": previous}
            train[key] = {
                "init": BASE if restart_from_base else previous,
                "data": data,
                "rationales": "on" if chain == STAR else "off",
            }
    last = f"{STAR}_{n}"
    train["final"] = {"init": train[last]["init"], "data": last, "rationales": "off"}
    models = [BASE, *(f"{c}_{k}" for c in chains for k in range(1, n + 1)), "label_sft", "final"]
    return {"answer": answer, "rationalize": rationalize, "train": train, "models": models}
