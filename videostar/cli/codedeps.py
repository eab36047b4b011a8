"""The code a stage runs, derived from its imports, so dvc.yaml's code deps can be checked.

A stage's command is ``python -m stages.<name> ...``. Its code dependencies are its own file and,
for every ``videostar`` module it imports transitively (at any depth, also inside functions), the
room the module lives in: ``videostar.lmm.training`` -> ``videostar/lmm``, a top-level module
``videostar.prompts`` -> ``videostar/prompts.py``. Third-party packages are pinned in
pyproject.toml and not tracked per stage.

    videostar deps            # list each stage's missing and extra code deps; exit 1 if any
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

PACKAGE = "videostar"
STAGE_MODULE = re.compile(r"python3? -m (stages\.\w+)")


def module_file(root: Path, module: str) -> Path | None:
    """The source file of a module of this repository, or None for third-party modules."""
    base = root / Path(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def imported_modules(path: Path) -> set[str]:
    """Every module named by an import statement anywhere in ``path`` (absolute imports only:
    the project does not use relative ones). ``from a import b`` yields ``a`` and ``a.b``."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                raise ValueError(f"{path}: relative imports are not supported here")
            found.add(node.module or "")
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def closure(root: Path, module: str) -> set[str]:
    """The project's modules ``module`` imports, transitively, including itself and the
    packages that contain them (importing ``a.b.c`` runs ``a/__init__`` and ``a/b/__init__``)."""
    seen: set[str] = set()
    todo = [module]
    while todo:
        name = todo.pop()
        parts = name.split(".")
        for i in range(1, len(parts) + 1):
            prefix = ".".join(parts[:i])
            if prefix in seen or module_file(root, prefix) is None:
                continue
            seen.add(prefix)
            todo.extend(imported_modules(module_file(root, prefix)))
    return seen


def is_docstring_only(path: Path) -> bool:
    body = ast.parse(path.read_text(encoding="utf-8")).body
    return all(isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant) for n in body)


def room(root: Path, module: str) -> str | None:
    """The dvc dependency that covers ``module``: its room folder or top-level file; None for a
    package ``__init__`` that holds only a docstring (nothing to run)."""
    parts = module.split(".")
    path = module_file(root, module)
    if path is None or parts[0] not in (PACKAGE, "stages"):
        return None
    if parts[0] == "stages":
        return path.relative_to(root).as_posix() if len(parts) > 1 else None
    if len(parts) == 1:
        return None if is_docstring_only(path) else path.relative_to(root).as_posix()
    top = root / PACKAGE / parts[1]
    return (top if top.is_dir() else top.with_suffix(".py")).relative_to(root).as_posix()


def code_deps(root: Path, stage_module: str) -> set[str]:
    rooms = {room(root, m) for m in closure(root, stage_module)}
    return {r for r in rooms if r}


def declared_code_deps(deps: list[str]) -> set[str]:
    return {d for d in deps if d.startswith(("stages/", f"{PACKAGE}/"))}


def check(root: Path, stages: dict[str, dict]) -> dict[str, dict[str, set[str]]]:
    """{stage: {"missing": ..., "extra": ...}} for every stage whose declared code deps differ
    from what its command imports. ``stages`` maps stage name -> {"cmd", "deps"} (resolved)."""
    problems = {}
    for name, stage in stages.items():
        match = STAGE_MODULE.search(stage["cmd"])
        if not match:
            raise ValueError(f"stage {name}: command does not run a stages.* module")
        needed = code_deps(root, match.group(1))
        declared = declared_code_deps(stage.get("deps", []))
        if needed != declared:
            problems[name] = {"missing": needed - declared, "extra": declared - needed}
    return problems


def resolved_stages(root: Path) -> dict[str, dict]:
    """dvc.yaml's stages after DVC's own templating (``foreach`` unrolled, ``${...}`` filled)."""
    from dvc.repo import Repo

    with Repo(str(root)) as repo:
        return {
            stage.addressing: {"cmd": stage.cmd, "deps": [d.def_path for d in stage.deps]}
            for stage in repo.index.stages
            if getattr(stage, "cmd", None)
        }
