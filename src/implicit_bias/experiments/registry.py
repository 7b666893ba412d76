"""The catalog: every module in :mod:`implicit_bias.experiments` that defines ``ENTRY`` is an entry.

An entry is a frozen configuration dataclass plus a pure ``run(config) -> Result``.
Quick mode is another configuration (``entry.quick``), not a branch inside ``run``.
A new result is a new module with an ``ENTRY``; nothing here needs editing.
"""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
import re
import typing
from dataclasses import dataclass
from typing import Any, Callable

from implicit_bias.errors import InputError
from implicit_bias.results import Result


@dataclass(frozen=True)
class Entry:
    """One catalog experiment.

    Attributes:
      name: command-line name, e.g. ``"min-norm-regression"``.
      summary: one line for ``implicit-bias list``.
      description: two sentences: what it demonstrates and why it matters.
      paper: the paper(s) it comes from.
      run: ``run(config) -> Result``; pure (no files written).
      full: the default (paper-sized) configuration.
      quick: the quick configuration (about a minute or less on a 2-core CPU).
    """

    name: str
    summary: str
    description: str
    paper: str
    run: Callable[[Any], Result]
    full: Any
    quick: Any

    def config(self, quick: bool = False, overrides: dict[str, str] | None = None) -> Any:
        """The configuration to run: quick or full, with ``--set key=value`` overrides applied."""
        base = self.quick if quick else self.full
        return apply_overrides(base, overrides or {})

    def meta(self) -> dict[str, str]:
        return {"name": self.name, "summary": self.summary, "description": self.description,
                "paper": self.paper}


def _parse_value(field_type: Any, text: str, name: str) -> Any:
    origin = typing.get_origin(field_type)
    if origin is typing.Union or str(origin) == "<class 'types.UnionType'>":
        args = [a for a in typing.get_args(field_type) if a is not type(None)]
        if text.lower() == "none" and len(args) < len(typing.get_args(field_type)):
            return None
        field_type = args[0]
        origin = typing.get_origin(field_type)
    try:
        if field_type is bool:
            if text.lower() in ("1", "true", "yes", "on"):
                return True
            if text.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError(text)
        if field_type is int:
            return int(float(text)) if float(text).is_integer() else int(text)
        if field_type is float:
            return float(text)
        if field_type is str:
            return text
        if origin is tuple:
            (inner, *rest) = typing.get_args(field_type)
            if typing.get_origin(inner) is tuple:  # a tuple of tuples: "(a,b),(c,d)"
                groups = re.findall(r"\(([^()]*)\)", text)
                if not groups and text.strip():
                    raise ValueError(text)
                return tuple(_parse_value(inner, g, name) for g in groups)
            parts = [p for p in text.replace("(", "").replace(")", "").split(",") if p.strip()]
            if rest and rest[0] is not Ellipsis:  # tuple[X, Y]: one type per position
                kinds = (inner, *rest)
                if len(parts) != len(kinds):
                    raise ValueError(text)
                return tuple(_parse_value(k, p.strip(), name) for k, p in zip(kinds, parts))
            return tuple(_parse_value(inner, p.strip(), name) for p in parts)
    except ValueError:
        raise InputError(f"--set {name}={text}: expected a value of type {getattr(field_type, '__name__', field_type)}") from None
    raise InputError(f"--set {name}: cannot parse values of type {field_type}")


def apply_overrides(config: Any, overrides: dict[str, str]) -> Any:
    """``dataclasses.replace`` with string values parsed to each field's declared type."""
    if not overrides:
        return config
    hints = typing.get_type_hints(type(config))
    fields = {f.name for f in dataclasses.fields(config)}
    changes = {}
    for key, text in overrides.items():
        if key not in fields:
            raise InputError(f"unknown setting '{key}'; valid settings: {', '.join(sorted(fields))}")
        changes[key] = _parse_value(hints[key], text, key)
    try:
        return dataclasses.replace(config, **changes)
    except (ValueError, TypeError) as err:
        raise InputError(f"invalid setting: {err}") from None


_CATALOG: dict[str, Entry] | None = None


def catalog() -> dict[str, Entry]:
    """Every entry, by name, in a stable order (module order, then name)."""
    global _CATALOG
    if _CATALOG is None:
        import implicit_bias.experiments as pkg

        found: dict[str, Entry] = {}
        for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name):
            if info.name.startswith("_") or info.name == "registry":
                continue
            module = importlib.import_module(f"{pkg.__name__}.{info.name}")
            entry = getattr(module, "ENTRY", None)
            if isinstance(entry, Entry):
                if entry.name in found:
                    raise RuntimeError(f"two catalog entries named {entry.name}")
                found[entry.name] = entry
        _CATALOG = dict(sorted(found.items()))
    return _CATALOG


def get_entry(name: str) -> Entry:
    """The entry called ``name``; an :class:`InputError` listing the valid names otherwise."""
    entries = catalog()
    if name not in entries:
        raise InputError(f"unknown experiment '{name}'; valid names: {', '.join(entries)}")
    return entries[name]
