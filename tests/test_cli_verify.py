"""`videostar verify` end to end on small JSONL files (stages/cli.py).

    .venv/bin/python -m pytest tests/test_cli_verify.py -q

A fake embedder replaces the sentence model: these tests are about lines, order, fields and exit
codes; the model itself is exercised in tests/test_labels.py.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

import videostar.labels.verifier as labels_mod
from videostar.cli import main as cli
from videostar.cli.main import main

GOOD = [
    {"labels": [{"type": "category", "value": "left"}], "text": "It moves left.", "id": "a"},
    {
        "labels": [{"name": "final_score", "type": "number", "value": 65.6}],
        "text": "The final score is 80.",
        "id": "b",
    },
    {
        "labels": [{"type": "temporal_range", "value": [0.25, 0.4]}],
        "text": "from 2.5s to 4s",
        "duration": 10,
        "id": "c",
    },
    {
        "labels": [{"type": "bbox", "value": [0.1, 0.2, 0.5, 0.6]}],
        "text": "[32, 48, 160, 144]",
        "frame_size": [320, 240],
        "id": "d",
    },
    {"labels": [{"type": "sentence", "value": "same"}], "text": "Same.", "id": "e"},
]
GOOD_OK = {"a": True, "b": False, "c": True, "d": True, "e": True}


@pytest.fixture(autouse=True)
def fake_model(monkeypatch, tmp_path):
    """Texts equal to the gold (up to case and final dot) embed identically; others orthogonally.

    Runs every test in its own empty directory, so the project's params.yaml is not picked up.
    """
    monkeypatch.chdir(tmp_path)
    loads = []

    def load(cfg):
        loads.append(cfg.model)

        def embed(strings):
            keys = [s.lower().rstrip(".") for s in strings]
            vocab = {k: i for i, k in enumerate(dict.fromkeys(keys))}
            return np.eye(len(vocab))[[vocab[k] for k in keys]]

        return embed

    monkeypatch.setattr(labels_mod, "_load_embedder", load)
    return loads


def write_lines(path, lines):
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")


def read_out(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_good_file(tmp_path, capsys, fake_model):
    src, dst = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    write_lines(src, [json.dumps(row) for row in GOOD])
    assert main(["verify", str(src), str(dst)]) == 0
    out = read_out(dst)
    assert [r["id"] for r in out] == [r["id"] for r in GOOD]
    for row, original in zip(out, GOOD, strict=True):
        assert {k: v for k, v in row.items() if k not in ("ok", "verdicts")} == original
        assert row["ok"] is GOOD_OK[row["id"]]
        (verdict,) = row["verdicts"]
        assert set(verdict) == {"name", "type", "ok", "score", "parsed"}
        assert verdict["type"] == original["labels"][0]["type"]
    assert out[0]["verdicts"][0]["name"] == "category"  # name defaults to the type
    assert out[1]["verdicts"][0]["name"] == "final_score"
    assert fake_model == ["all-MiniLM-L6-v2"]  # one model load for the whole file
    assert "wrote 5 line(s)" in capsys.readouterr().err


def test_malformed_lines_are_reported_and_skipped(tmp_path, capsys):
    src, dst = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    lines = [
        json.dumps(GOOD[0]),  # 1
        "{not json",  # 2
        "",  # 3: blank lines are ignored
        json.dumps([1, 2]),  # 4
        json.dumps({"text": "no labels"}),  # 5
        json.dumps({"labels": [{"type": "colour", "value": "red"}], "text": "red"}),  # 6
        json.dumps({"labels": [{"type": "category", "value": "left"}], "text": 42}),  # 7
        '{"labels": [{"type": "number", "value": NaN}], "text": "x"}',  # 8
        json.dumps({"labels": [], "text": "x"}),  # 9
        json.dumps({**GOOD[2], "duration": -1}),  # 10
        json.dumps({**GOOD[3], "frame_size": [320]}),  # 11
        json.dumps(GOOD[1]),  # 12
    ]
    write_lines(src, lines)
    assert main(["verify", str(src), str(dst)]) == 1
    assert [r["id"] for r in read_out(dst)] == ["a", "b"]
    err = capsys.readouterr().err
    for lineno in (2, 4, 5, 6, 7, 8, 9, 10, 11):
        assert f"in.jsonl:{lineno}: " in err
    for lineno in (1, 3, 12):
        assert f"in.jsonl:{lineno}: " not in err
    assert "unknown label type 'colour'" in err
    assert "skipped 9 malformed line(s)" in err


def test_params_file_sets_thresholds(tmp_path):
    src, dst = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    write_lines(src, [json.dumps(GOOD[1])])  # 80 vs gold 65.6: 22% off
    params = tmp_path / "p.yaml"
    params.write_text("verify:\n  number:\n    rel_tol: 0.25\n", encoding="utf-8")
    assert main(["verify", str(src), str(dst), "--params", str(params)]) == 0
    assert read_out(dst)[0]["ok"] is True


def test_params_yaml_in_cwd_is_used(tmp_path):
    write_lines(tmp_path / "in.jsonl", [json.dumps(GOOD[1])])
    (tmp_path / "params.yaml").write_text(
        "train: {lr: 1}\nverify:\n  number: {rel_tol: 0.25}\n", encoding="utf-8"
    )
    assert main(["verify", "in.jsonl", "out.jsonl"]) == 0
    assert read_out(tmp_path / "out.jsonl")[0]["ok"] is True


def test_params_without_verify_section_gives_defaults(tmp_path):
    src, dst = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    write_lines(src, [json.dumps(GOOD[1])])
    params = tmp_path / "p.yaml"
    params.write_text("train: {lr: 1}\n", encoding="utf-8")
    assert main(["verify", str(src), str(dst), "--params", str(params)]) == 0
    assert read_out(dst)[0]["ok"] is False


def test_bad_params_exit_2(tmp_path, capsys):
    src, dst = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    write_lines(src, [json.dumps(GOOD[0])])
    params = tmp_path / "p.yaml"
    params.write_text("verify:\n  number:\n    rel_tolerance: 0.25\n", encoding="utf-8")
    assert main(["verify", str(src), str(dst), "--params", str(params)]) == 2
    assert "rel_tolerance" in capsys.readouterr().err
    assert not dst.exists()


def test_missing_input_exit_2(tmp_path):
    assert main(["verify", str(tmp_path / "nope.jsonl"), str(tmp_path / "out.jsonl")]) == 2


def test_sentence_checks_are_batched_across_chunks(tmp_path, monkeypatch):
    calls = []
    original = labels_mod.Verifier.verify_many

    def spy(self, items):
        calls.append(len(items))
        return original(self, items)

    monkeypatch.setattr(labels_mod.Verifier, "verify_many", spy)
    monkeypatch.setattr(cli, "CHUNK_LINES", 2)
    src, dst = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    write_lines(src, [json.dumps(row) for row in GOOD])
    assert main(["verify", str(src), str(dst)]) == 0
    assert calls == [2, 2, 1]
    assert [r["id"] for r in read_out(dst)] == [r["id"] for r in GOOD]


def test_subcommand_required(capsys):
    with pytest.raises(SystemExit) as e:
        main([])
    assert e.value.code == 2
