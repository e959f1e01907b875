"""Typed sections of a YAML tree: a dataclass field per key, checked by one generic loader.

:func:`knob` declares a field with its bounds or allowed values; :func:`load_section` reads a dataclass
from a mapping, converting each value to the field's annotated type (int, float, str, tuples, dicts,
optional values, nested sections) and stopping at the first wrong one with a :class:`ParamsError` that
names the full dotted key and what it accepts. :mod:`emoaugnet.params` declares the project's sections.
"""

from __future__ import annotations

import difflib
import math
import types
import typing
from dataclasses import MISSING, field, fields, is_dataclass
from typing import Any, Mapping

from emoaugnet.errors import EmoAugNetError


class ParamsError(EmoAugNetError, ValueError):
    """A value in params.yaml is missing or not allowed."""


def knob(*, low: float | None = None, high: float | None = None, low_open: bool = False,
         choices: tuple[str, ...] | None = None, key: str | None = None, default: Any = MISSING) -> Any:
    """A dataclass field read from params.yaml: ``key`` (dotted, relative to its section; the field
    name by default), numeric bounds (``low_open``: strictly greater than ``low``), or allowed values.
    A field with a ``default`` may be absent from the file."""
    meta = {"low": low, "high": high, "low_open": low_open, "choices": choices, "key": key}
    return field(default=default, metadata=meta)


def get(tree: Mapping[str, Any], dotted: str, default: Any = MISSING, full: str | None = None) -> Any:
    """The value at ``dotted`` in ``tree`` (``full``: the key's whole name, for the message)."""
    node: Any = tree
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            if default is not MISSING:
                return default
            raise ParamsError(f"params: missing key `{full or dotted}`")
        node = node[part]
    return node


def _choice(value: Any, dotted: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ParamsError(f"params: `{dotted}` is {value!r}; allowed values: {', '.join(allowed)}")
    return value


def number(value: Any, dotted: str, *, integer: bool, low: float | None = None, high: float | None = None,
            low_open: bool = False) -> Any:
    kind = int if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kind) or not math.isfinite(value):
        raise ParamsError(f"params: `{dotted}` is {value!r}; expected {'an integer' if integer else 'a number'}")
    if low is not None and (value <= low if low_open else value < low):
        raise ParamsError(f"params: `{dotted}` is {value!r}; must be {'>' if low_open else '>='} {low}")
    if high is not None and value > high:
        raise ParamsError(f"params: `{dotted}` is {value!r}; must be <= {high}")
    return value if integer else float(value)


def _convert(value: Any, kind: Any, dotted: str, meta: Mapping[str, Any]) -> Any:
    """``value`` checked and converted to the annotated type ``kind`` (see :func:`knob`)."""
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if is_dataclass(kind):
        return load_section(kind, value, dotted)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        return _convert(value, next(a for a in args if a is not type(None)), dotted, meta)
    if kind is bool:
        if not isinstance(value, bool):
            raise ParamsError(f"params: `{dotted}` is {value!r}; expected true or false")
        return value
    if kind is int or kind is float:
        return number(value, dotted, integer=kind is int, low=meta.get("low"), high=meta.get("high"),
                       low_open=meta.get("low_open", False))
    if kind is str:
        if meta.get("choices"):
            return _choice(value, dotted, meta["choices"])
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            raise ParamsError(f"params: `{dotted}` is {value!r}; expected a string")
        return str(value)
    if origin is tuple:
        items = [] if value is None else ([value] if isinstance(value, (str, int)) else value)
        items = list(items) if isinstance(items, tuple) else items      # a field's default, when the key is absent
        if not isinstance(items, list):
            raise ParamsError(f"params: `{dotted}` is {value!r}; expected a list")
        return tuple(_convert(v, args[0], f"{dotted}[{i}]", meta) for i, v in enumerate(items))
    if origin is dict:
        if not isinstance(value, Mapping):
            raise ParamsError(f"params: `{dotted}` is {value!r}; expected a mapping")
        return dict(value)
    raise TypeError(f"params: no rule for field type {kind!r} of `{dotted}`")


def load_section(cls: type, tree: Any, prefix: str) -> Any:
    """An instance of dataclass ``cls`` from the mapping ``tree`` found at dotted ``prefix``."""
    if not isinstance(tree, Mapping):
        raise ParamsError(f"params: `{prefix}` must be a mapping of keys")
    hints = typing.get_type_hints(cls)
    values = {}
    for f in fields(cls):
        if not f.init or "key" not in f.metadata:
            continue
        dotted_key = f.metadata["key"] or f.name
        dotted = f"{prefix}.{dotted_key}" if prefix else dotted_key
        raw = get(tree, dotted_key, f.default, full=dotted)
        values[f.name] = _convert(raw, hints[f.name], dotted, f.metadata)
    return cls(**values)


def declared_keys(cls: type, prefix: str = "") -> list[str]:
    """The dotted keys dataclass ``cls`` reads (a nested section's keys under its name); a free mapping
    (a ``dict`` field) ends in ``.*``: any key below it is allowed."""
    hints = typing.get_type_hints(cls)
    keys: list[str] = []
    for f in fields(cls):
        if not f.init or "key" not in f.metadata:
            continue
        dotted = f"{prefix}.{f.metadata['key'] or f.name}" if prefix else (f.metadata["key"] or f.name)
        kind = hints[f.name]
        if is_dataclass(kind):
            keys += declared_keys(kind, dotted)
        else:
            keys.append(f"{dotted}.*" if typing.get_origin(kind) is dict else dotted)
    return keys


def _matches(pattern: list[str], path: list[str]) -> bool:
    return len(pattern) >= len(path) and all(a in ("*", b) for a, b in zip(pattern, path))


def check_keys(tree: Mapping[str, Any], known: list[str]) -> None:
    """Refuse the first key of ``tree`` that is none of the dotted ``known`` keys nor on the way to one
    (``*`` stands for any one part); the message names the key's full path and the nearest known key."""
    patterns = [k.split(".") for k in known]

    def walk(node: Mapping[str, Any], path: list[str]) -> None:
        for key, value in node.items():
            here = [*path, str(key)]
            matching = [p for p in patterns if _matches(p, here)]
            if not matching:
                siblings = sorted({p[len(path)] for p in patterns if len(p) > len(path) and _matches(p, path)} - {"*"})
                close = difflib.get_close_matches(str(key), siblings, n=1)
                hint = (f"did you mean `{'.'.join([*path, close[0]])}`?" if close
                        else f"known keys there: {', '.join(siblings)}")
                raise ParamsError(f"params: unknown key `{'.'.join(here)}`; {hint}")
            if not any(len(p) == len(here) for p in matching) and isinstance(value, Mapping):
                walk(value, here)

    walk(tree, [])
