"""Typed params: every params.yaml section loads into a frozen dataclass that rejects unknown keys.

A typo in params.yaml must fail loudly rather than silently fall back to a default.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml

T = TypeVar("T")

PARAMS_FILE = Path("params.yaml")  # relative: stages run in the repo root


class ConfigError(ValueError):
    """A params section does not match its dataclass."""


def load_params(path: str | Path = PARAMS_FILE) -> dict[str, Any]:
    with open(path, encoding="utf-8") as f:
        params = yaml.safe_load(f) or {}
    if not isinstance(params, dict):
        raise ConfigError(f"{path}: top level must be a mapping")
    return params


def _convert(value: Any, hint: Any, where: str) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if dataclasses.is_dataclass(hint):
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a mapping, got {value!r}")
        return from_dict(hint, value, where)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        non_none = [a for a in args if a is not type(None)]
        return _convert(value, non_none[0], where) if len(non_none) == 1 else value
    if origin in (tuple,):
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        item = args[0] if args else Any
        return tuple(_convert(v, item, f"{where}[{i}]") for i, v in enumerate(value))
    if origin in (dict,):
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a mapping, got {value!r}")
        vt = args[1] if len(args) == 2 else Any
        return {k: _convert(v, vt, f"{where}.{k}") for k, v in value.items()}
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if hint in (int, float, str, bool) and not isinstance(value, hint):
        raise ConfigError(f"{where}: expected {hint.__name__}, got {value!r}")
    if hint is int and isinstance(value, bool):
        raise ConfigError(f"{where}: expected int, got {value!r}")
    return value


def from_dict(cls: type[T], data: dict[str, Any], where: str = "") -> T:
    """Build dataclass ``cls`` from ``data``; unknown or missing keys raise ConfigError."""
    where = where or cls.__name__
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(f"{where}: unknown keys {unknown}; known: {sorted(fields)}")
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for name, field in fields.items():
        if name in data:
            kwargs[name] = _convert(data[name], hints[name], f"{where}.{name}")
        elif field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            raise ConfigError(f"{where}: missing key {name!r}")
    return cls(**kwargs)


def _lookup(name: str, params: dict[str, Any] | None) -> Any:
    node: Any = load_params() if params is None else params
    for part in name.split("."):
        if not isinstance(node, dict) or part not in node:
            raise ConfigError(f"params.yaml has no key {name!r}")
        node = node[part]
    return node


def section(cls: type[T], name: str, params: dict[str, Any] | None = None) -> T:
    """Load params section ``name`` (dotted path allowed) into ``cls``."""
    return from_dict(cls, _lookup(name, params) or {}, name)


def value(name: str, kind: type[T], params: dict[str, Any] | None = None) -> T:
    """One scalar params key (dotted path), type-checked like a dataclass field."""
    return _convert(_lookup(name, params), kind, name)
