"""Command-line options generated from the components' own declarations.

``train`` and ``reference`` take, besides their fixed options, ``--NAME VALUE`` for every option a chosen
component declares: a model factory's keyword parameters, an optimizer's dataclass fields, the declared
hyper-parameters of both (:mod:`implicit_bias.hparams`), a reference's options. Nothing is listed by hand:
a new component's options appear on the command line, in ``implicit-bias describe`` and in the README's
tables (``implicit-bias describe --markdown``) with no edit here.

Values: ``x.npy`` is read as an array; ``true``/``false``; ``1,2,3`` a tuple of integers; an integer; a
number; else a string. ``--flag`` alone means true and ``--no-flag`` false.
"""

from __future__ import annotations

import dataclasses
import inspect
from typing import Any, Iterable

from implicit_bias.cli_support import parse_value
from implicit_bias.errors import InputError
from implicit_bias.hparams import HParam, describe


def option_name(name: str) -> str:
    """``init_scale`` -> ``--init-scale``."""
    return "--" + name.replace("_", "-")


def parse_extra_args(args: Iterable[str], known_flags: Iterable[str] = ()) -> dict[str, Any]:
    """``["--init-scale", "0.1", "--no-bias", "--momentum=0.5"]`` -> {"init_scale": 0.1, "bias": False, "momentum": 0.5}.

    ``known_flags``: names that are booleans (so ``--name`` takes no value)."""
    args, flags = list(args), set(known_flags)
    out: dict[str, Any] = {}
    i = 0
    while i < len(args):
        token = args[i]
        if not token.startswith("--") or len(token) < 3:
            raise InputError(f"unexpected argument {token!r}")
        key, sep, text = token[2:].partition("=")
        name = key.replace("-", "_")
        if sep:
            value = parse_value(text, token)
        elif name.startswith("no_") and (i + 1 >= len(args) or args[i + 1].startswith("--")):
            name, value = name[3:], False
        elif name in flags or i + 1 >= len(args) or (args[i + 1].startswith("--") and len(args[i + 1]) > 2):
            value = True
        else:
            i += 1
            value = parse_value(args[i], token)
        if name in out:
            raise InputError(f"{option_name(name)} given twice")
        out[name] = value
        i += 1
    return out


def factory_options(factory: Any, skip: int = 1) -> dict[str, Any]:
    """Keyword parameters of a factory after its first ``skip`` positional ones: name -> default."""
    params = list(inspect.signature(factory).parameters.values())[skip:]
    return {p.name: (None if p.default is inspect.Parameter.empty else p.default) for p in params
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}


def optimizer_options(cls: type) -> dict[str, Any]:
    """An optimizer class's constructor options (its dataclass fields): name -> default."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if not f.init or not f.metadata.get("option", True):
            continue
        default = f.default if f.default is not dataclasses.MISSING else None
        out[f.name] = default
    return out


def split_options(given: dict[str, Any], *, model_options: Iterable[str], optimizer_options: Iterable[str],
                  declared: dict[str, HParam], owner: str) -> tuple[dict, dict, dict]:
    """(model options, optimizer options, hyper-parameters) from the generated options; an option nobody
    declares is an InputError listing the valid ones. A name that is both a constructor option and a
    declared hyper-parameter goes to the constructor (its value is the component's own)."""
    model_set, opt_set = set(model_options), set(optimizer_options)
    unknown = sorted(set(given) - model_set - opt_set - set(declared))
    if unknown:
        valid = sorted(model_set | opt_set | set(declared))
        raise InputError(f"{', '.join(option_name(u) for u in unknown)}: not an option of {owner}; "
                         f"valid: {', '.join(option_name(v) for v in valid) or 'none'}")
    model_kw = {k: v for k, v in given.items() if k in model_set}
    opt_kw = {k: v for k, v in given.items() if k in opt_set and k not in model_set}
    hp = {k: v for k, v in given.items() if k not in model_set and k not in opt_set}
    return model_kw, opt_kw, hp


def problem_options(accepted: Iterable[str], problem: Any) -> dict[str, Any]:
    """Options a model takes from the data itself (a matrix problem's shape and kind, group ids), among ``accepted``."""
    accepted = set(accepted)
    return {k: (tuple(v) if k == "shape" else v) for k, v in problem.meta.items()
            if k in ("shape", "kind", "groups") and k in accepted}


def boolean_names(*defaults: dict[str, Any]) -> set[str]:
    """Names whose default is a bool (they may be given as ``--name`` / ``--no-name``)."""
    return {k for d in defaults for k, v in d.items() if isinstance(v, bool)}


def _rows(description: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(option, what, default and doc): swept hyper-parameters first, then the other construction options."""
    swept = {h["name"] for h in description.get("hparams", [])}
    rows = [(option_name(h["name"]), f"swept, {h['constraint']}", f"{h['default']!r}  {h['doc']}")
            for h in description.get("hparams", [])]
    rows += [(option_name(k), "option", repr(v)) for k, v in description.get("options", {}).items() if k not in swept]
    return rows


def component_description(kind: str, name: str) -> dict[str, Any]:
    """The description of the registered model, optimizer or reference ``name`` (``kind`` picks the registry)."""
    if kind == "model":
        from implicit_bias.models import available_models

        spec = available_models()[name]
        out = {"kind": "model", "name": name, "summary": spec.summary,
               "options": {k: _plain(v) for k, v in factory_options(spec.factory).items()}, "hparams": []}
        example = _example_model(spec)
        if example is not None:
            out["hparams"] = describe(example)["hparams"]
        return out
    if kind == "optimizer":
        from implicit_bias.optim import OPTIMIZERS

        cls = OPTIMIZERS[name]
        doc = (cls.__doc__ or "").strip().splitlines()
        rows = []
        defaults = optimizer_options(cls)
        for h in cls.hparams:
            row = h.describe()
            if row["default"] is None and h.name in defaults:
                row["default"] = _plain(defaults[h.name])
            rows.append(row)
        return {"kind": "optimizer", "name": name, "summary": doc[0] if doc else "",
                "options": {k: _plain(v) for k, v in defaults.items()}, "hparams": rows}
    from implicit_bias.references import available

    spec = available()[name]
    return {"kind": "reference", "name": name, "summary": spec.summary,
            "options": {k: None for k in spec.options}, "hparams": []}


def _plain(value: Any) -> Any:
    """A default as JSON can hold it (components, arrays and other objects by their type's name)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, tuple) and all(isinstance(v, (bool, int, float, str)) for v in value):
        return list(value)
    return type(value).__name__


def _example_model(spec: Any) -> Any:
    """The model at a small size with its defaults, to read its declarations (None if it needs more)."""
    try:
        return spec.factory(4)
    except InputError:  # a model that needs data-derived options (a matrix shape): its declared example
        return spec.example()[0] if spec.example is not None else None


def find_component(name: str) -> tuple[str, str]:
    """(kind, name) of a registered model, optimizer or reference; InputError listing them otherwise."""
    from implicit_bias.models import available_models
    from implicit_bias.optim import OPTIMIZERS
    from implicit_bias.references import available

    registries = (("model", available_models()), ("optimizer", OPTIMIZERS), ("reference", available()))
    for kind, registry in registries:
        if name in registry:
            return kind, name
    names = sorted({n for _, r in registries for n in r})
    raise InputError(f"no model, optimizer or reference is called {name!r}; valid: {', '.join(names)}")


def all_descriptions() -> list[dict[str, Any]]:
    """Every registered component's description, models then optimizers then references."""
    from implicit_bias.models import available_models
    from implicit_bias.optim import OPTIMIZERS
    from implicit_bias.references import available

    out = [component_description("model", n) for n in available_models()]
    out += [component_description("optimizer", n) for n in sorted(OPTIMIZERS)]
    out += [component_description("reference", n) for n in available()]
    return out


def markdown_tables(descriptions: list[dict[str, Any]]) -> str:
    """The README's component tables: one per kind, a row per component (name, summary, options)."""
    blocks = []
    for kind in ("model", "optimizer", "reference"):
        rows = [d for d in descriptions if d["kind"] == kind]
        lines = [f"| {kind} | what it is | options (`--name`; swept hyper-parameters in italics) |", "|---|---|---|"]
        for d in rows:
            swept = {h["name"] for h in d["hparams"]}
            names = [f"*{option_name(h)}*" for h in sorted(swept)]
            names += [option_name(k) for k in d["options"] if k not in swept]
            summary = d["summary"].replace("``", "`").replace("|", "\\|")
            lines.append(f"| `{d['name']}` | {summary} | {', '.join(names) or '—'} |")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def text_table(description: dict[str, Any]) -> str:
    """A description as aligned text lines."""
    rows = _rows(description)
    width = max((len(r[0]) for r in rows), default=0)
    kind_w = max((len(r[1]) for r in rows), default=0)
    head = f"{description['kind']} {description['name']}: {description['summary']}"
    return "\n".join([head] + [f"  {a.ljust(width)}  {b.ljust(kind_w)}  {c}" for a, b, c in rows])
