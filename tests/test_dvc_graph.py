"""dvc.yaml cannot go stale: each stage depends on exactly the code it imports; stages are thin."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from videostar.cli import codedeps

REPO = Path(__file__).resolve().parents[1]
STAGES = sorted(p.stem for p in (REPO / "stages").glob("*.py") if p.stem != "__init__")


def project_imports(path: Path) -> set[str]:
    return {
        m for m in codedeps.imported_modules(path) if m.split(".")[0] in ("stages", "videostar")
    }


def test_every_stage_depends_on_exactly_the_code_it_imports():
    problems = codedeps.check(REPO, codedeps.resolved_stages(REPO))
    assert not problems, (
        f"dvc.yaml code deps differ from the imports (`videostar deps`): {problems}"
    )


def test_every_stage_module_is_used_by_dvc_yaml():
    used = {
        codedeps.STAGE_MODULE.search(stage["cmd"]).group(1).split(".")[1]
        for stage in codedeps.resolved_stages(REPO).values()
    }
    assert used == set(STAGES)


@pytest.mark.parametrize("stage", STAGES)
def test_no_stage_imports_another_stage(stage):
    imported = project_imports(REPO / "stages" / f"{stage}.py")
    assert not {m for m in imported if m.startswith("stages")}, imported


def module_graph() -> dict[str, set[str]]:
    """videostar module -> the videostar modules it imports (resolved to existing modules)."""
    graph = {}
    for path in (REPO / "videostar").rglob("*.py"):
        parts = path.relative_to(REPO).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        targets = set()
        for module in project_imports(path):
            while module and codedeps.module_file(REPO, module) is None:
                module = module.rpartition(".")[0]
            if module and module != name and module.startswith("videostar"):
                targets.add(module)
        graph[name] = targets
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        state[node] = 2
        stack.pop()
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_the_import_graph_has_no_cycle():
    graph = module_graph()
    assert find_cycle(graph) is None, find_cycle(graph)
    # between rooms too: a room never imports a room that imports it back
    rooms: dict[str, set[str]] = {}
    for module, targets in graph.items():
        room = ".".join(module.split(".")[:2])
        rooms.setdefault(room, set()).update(".".join(t.split(".")[:2]) for t in targets)
    rooms = {room: targets - {room} for room, targets in rooms.items()}
    assert find_cycle(rooms) is None, find_cycle(rooms)


def test_the_package_init_runs_nothing():
    """Every stage imports videostar/__init__.py but does not depend on it: it must stay inert."""
    assert codedeps.is_docstring_only(REPO / "videostar" / "__init__.py")


def test_code_deps_follow_imports_at_any_depth(tmp_path):
    """A synthetic project: imports inside functions, transitive imports and rooms all count."""
    files = {
        "stages/__init__.py": '"""Stages."""\n',
        "stages/one.py": "from videostar.alpha import tool\n\ndef main():\n    import videostar.beta.x\n",
        "stages/two.py": "import json\n",
        "videostar/__init__.py": '"""Pkg."""\n',
        "videostar/alpha/__init__.py": "",
        "videostar/alpha/tool.py": "from videostar import gamma\n",
        "videostar/beta/__init__.py": "",
        "videostar/beta/x.py": "",
        "videostar/gamma.py": "X = 1\n",
        "videostar/unused/__init__.py": "",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    assert codedeps.code_deps(tmp_path, "stages.one") == {
        "stages/one.py", "videostar/alpha", "videostar/beta", "videostar/gamma.py"
    }  # fmt: skip
    assert codedeps.code_deps(tmp_path, "stages.two") == {"stages/two.py"}
    stages = {
        "one": {
            "cmd": "python -m stages.one",
            "deps": ["stages/one.py", "videostar/alpha", "data"],
        },
        "two": {"cmd": "python -m stages.two", "deps": ["stages/two.py", "videostar/unused"]},
    }
    assert codedeps.check(tmp_path, stages) == {
        "one": {"missing": {"videostar/beta", "videostar/gamma.py"}, "extra": set()},
        "two": {"missing": set(), "extra": {"videostar/unused"}},
    }


def test_bytecode_never_changes_a_code_dependency(tmp_path):
    """Room folders are deps: the __pycache__ Python writes into them must be ignored by DVC, or
    the first run would make every stage stale for the next."""
    from dvc.repo import Repo

    with Repo(str(REPO)) as repo:
        room = Path(repo.root_dir) / "videostar" / "data"
        bytecode = room / "__pycache__" / "prepare.cpython-311.pyc"
        assert repo.dvcignore.is_ignored(repo.fs, str(bytecode))
        assert repo.dvcignore.is_ignored(repo.fs, str(room / "prepare.pyc"))
        assert not repo.dvcignore.is_ignored(repo.fs, str(room / "prepare.py"))


def test_dvc_lock_holds_only_the_stages_of_dvc_yaml():
    """DVC never drops the entry of a renamed or removed stage; such leftovers double-count in
    `benchmarks/stage_times.py` and read as stages that still exist."""
    locked = set(yaml.safe_load((REPO / "dvc.lock").read_text())["stages"])
    stale = locked - set(codedeps.resolved_stages(REPO))
    assert not stale, f"remove these leftovers from dvc.lock: {sorted(stale)}"


def test_the_shipped_base_is_the_one_dvc_lock_names():
    """The default's pretrained base is committed (a `cache: false` output) so that a fresh
    clone's `dvc repro` skips its pretraining; a base or lock committed without the other would
    make that run pretrain again, or start the loop from a model the lock does not describe."""
    status = subprocess.run(
        [sys.executable, "-m", "dvc", "status", "--json", "base"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    changes = json.loads(status.stdout).get("base", [])
    outs = [change["changed outs"] for change in changes if "changed outs" in change]
    assert not outs, f"models/base or metrics/base.json differ from dvc.lock: {outs}"
