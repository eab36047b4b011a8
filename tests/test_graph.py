"""The cycle graph as data, params composition and typed params sections."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest

from videostar.cli.compose import compose_params
from videostar.core import config
from videostar.loop.graph import graph

REPO = Path(__file__).resolve().parents[1]


def test_params_yaml_is_composed_from_conf(tmp_path):
    """The committed params.yaml is exactly what `dvc exp run` would compose from conf/."""
    out = compose_params(REPO, output=tmp_path / "params.yaml")
    assert out.read_text() == (REPO / "params.yaml").read_text()


def test_graph_default_shape():
    g = graph(3, no_rationalization=True, restart_from_base=True)
    assert list(g["answer"]) == ["cycle_1", "cycle_2", "cycle_3", "norat_2", "norat_3"]
    assert g["answer"]["cycle_2"] == {"model": "cycle_1"}
    assert g["answer"]["norat_3"] == {"model": "norat_2"}
    assert list(g["rationalize"]) == ["cycle_1", "cycle_2", "cycle_3"]
    assert g["rationalize"] == {k: g["answer"][k] for k in g["rationalize"]}
    # every model restarts from the base; the ablation's first cycle reuses cycle 1's answers
    assert {t["init"] for t in g["train"].values()} == {"base"}
    assert g["train"]["norat_1"] == {"init": "base", "data": "cycle_1", "rationales": "off"}
    assert g["train"]["cycle_3"] == {"init": "base", "data": "cycle_3", "rationales": "on"}
    assert g["train"]["final"] == {"init": "base", "data": "cycle_3", "rationales": "off"}
    assert g["models"] == ["base", "cycle_1", "cycle_2", "cycle_3", "norat_1", "norat_2",
                           "norat_3", "label_sft", "final"]  # fmt: skip


def test_graph_is_consistent():
    """Every model a stage reads is made by an earlier stage; every data key is generated."""
    for n in (1, 2, 4):
        for norat in (False, True):
            for restart in (False, True):
                g = graph(n, norat, restart)
                made = ["base"]
                for name, item in g["train"].items():
                    assert item["data"] in g["answer"]
                    if item["rationales"] == "on":
                        assert item["data"] in g["rationalize"]
                    made.append(name)
                for key, item in g["answer"].items():
                    assert made.index(item["model"]) < made.index(key)
                assert set(g["models"]) == set(made) | {"label_sft"}


def test_restart_from_base_off_chains_each_model_to_its_predecessor():
    g = graph(3, no_rationalization=True, restart_from_base=False)
    assert g["train"]["cycle_1"]["init"] == "base"
    assert g["train"]["cycle_3"]["init"] == "cycle_2"
    assert g["train"]["norat_2"]["init"] == "norat_1"
    assert g["train"]["final"]["init"] == "cycle_2"  # as the last cycle's model


def test_graph_rejects_zero_cycles():
    with pytest.raises(ValueError, match="iter"):
        graph(0, True, True)


def test_iter_and_loop_drive_the_graph(tmp_path):
    out = compose_params(
        REPO,
        overrides=["iter=4", "loop.no_rationalization=true", "loop.restart_from_base=false"],
        output=tmp_path / "params.yaml",
    )
    assert config.load_params(out)["graph"] == graph(4, True, False)


def test_one_seed_param_drives_every_seed(tmp_path):
    out = compose_params(REPO, overrides=["seed=7"], output=tmp_path / "params.yaml")
    params = config.load_params(out)
    seeds = [
        params[s]["seed"]
        for s in ("world", "corpus", "pretrain", "questions", "sampling", "train", "evalsets")
    ]
    assert seeds == [7] * 7 and params["model"]["tiny"]["seed"] == 7


def test_videostar_params_command(tmp_path, monkeypatch):
    from videostar.cli.main import main

    shutil.copytree(REPO / "conf", tmp_path / "conf")
    shutil.copytree(REPO / "hydra_plugins", tmp_path / "hydra_plugins")
    monkeypatch.chdir(tmp_path)
    assert main(["params", "iter=2", "loop.no_rationalization=true"]) == 0
    assert list(config.load_params("params.yaml")["graph"]["train"]) == [
        "cycle_1", "cycle_2", "norat_1", "norat_2", "final"
    ]  # fmt: skip


def sections():
    """Every params section a stage loads, with the class it loads into."""
    from stages.base import ModelConfig
    from stages.generate import SamplingParams
    from videostar.data.prepare import PrepareConfig
    from videostar.evaluation.evalsets import EvalSetsConfig
    from videostar.evaluation.html import PageConfig
    from videostar.labels import VerifyConfig
    from videostar.lmm.config import TrainConfig
    from videostar.loop.finetune import CycleTrainConfig
    from videostar.loop.questions import QuestionsConfig
    from videostar.prompts import PromptsConfig
    from videostar.toyworld.world import CorpusConfig, WorldConfig

    return {
        "world": WorldConfig, "prepare": PrepareConfig, "corpus": CorpusConfig,
        "model": ModelConfig, "pretrain": TrainConfig, "questions": QuestionsConfig,
        "evalsets": EvalSetsConfig, "sampling": SamplingParams, "verify": VerifyConfig,
        "train": CycleTrainConfig, "prompts": PromptsConfig, "report_html": PageConfig,
    }  # fmt: skip


def explicit_and_agreeing(cls, data: dict, where: str) -> None:
    """Every field of ``cls`` is set in params (no knob lives only in code), and every code
    default equals the params value (so running a function without params does the same)."""
    hints = dataclasses.fields(cls)
    missing = sorted({f.name for f in hints} - set(data))
    assert not missing, f"{where}: knobs missing from params.yaml: {missing}"
    loaded = config.from_dict(cls, data, where)
    for f in hints:
        value = getattr(loaded, f.name)
        if dataclasses.is_dataclass(value):
            explicit_and_agreeing(type(value), data[f.name], f"{where}.{f.name}")
        elif f.default is not dataclasses.MISSING:
            assert f.default == value, f"{where}.{f.name}: code {f.default!r}, params {value!r}"


@pytest.mark.parametrize("name", sorted(sections()))
def test_every_knob_is_in_params_and_code_defaults_agree(name):
    params = config.load_params(REPO / "params.yaml")
    explicit_and_agreeing(sections()[name], params[name], name)


def test_every_params_section_has_a_reader():
    params = config.load_params(REPO / "params.yaml")
    assert set(params) - set(sections()) == {"seed", "iter", "loop", "graph"}


def test_unknown_params_key_fails_loudly():
    from videostar.data.prepare import PrepareConfig

    with pytest.raises(config.ConfigError, match="unknown keys"):
        config.from_dict(
            PrepareConfig, {"manifest": "x", "num_frames": 8, "max_reject_fraktion": 0.1}
        )


def test_stages_track_the_data_files_params_name():
    """The evaluation files and the general data that params name are deps of their stages."""
    from videostar.cli.codedeps import resolved_stages

    params = config.load_params(REPO / "params.yaml")
    stages = resolved_stages(REPO)
    files = {params["evalsets"]["transfer"], params["evalsets"]["retention"]}
    assert files <= set(stages["evalsets"]["deps"])
    general = {params["train"]["general_data"], params["train"]["general_videos"]}
    for name, stage in stages.items():
        if name == "label_sft" or name.startswith("train@"):
            assert general <= set(stage["deps"]), name
