"""Loading a user's own code by name: ``FILE.py:NAME`` or ``package.module:NAME``.

Used by ``--model FILE.py:factory`` (a user's parameterization, :mod:`implicit_bias.models.user`) and
``identify --param FILE.py:G``. A file is imported under a private module name; any error while importing
it becomes one :class:`~implicit_bias.errors.InputError` line.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path
from typing import Any, Callable

from implicit_bias.errors import InputError


def is_reference(spec: str) -> bool:
    """True when ``spec`` names user code (``FILE.py:NAME`` or ``module:NAME``) rather than a registered name."""
    target, sep, attr = spec.rpartition(":")
    return bool(sep and target and attr)


def load_callable(spec: str, flag: str = "--model") -> Callable[..., Any]:
    """The callable ``NAME`` of ``FILE.py`` or of an importable module, or an InputError saying what is wrong."""
    target, sep, attr = spec.rpartition(":")
    if not sep or not target or not attr.isidentifier():
        raise InputError(f"{flag} must be FILE.py:NAME or module:NAME, got {spec!r}")
    if target.endswith(".py"):
        path = Path(target)
        if not path.is_file():
            raise InputError(f"{flag}: file not found: {target}")
        name = f"_implicit_bias_user_{abs(hash(str(path.resolve())))}"
        module_spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(module_spec)
        try:
            sys.modules[name] = module
            module_spec.loader.exec_module(module)
        except Exception as err:  # noqa: BLE001 - the user's file: report it on one line
            sys.modules.pop(name, None)
            raise InputError(f"{flag}: cannot import {target}: {type(err).__name__}: {err}") from None
    else:
        try:
            module = importlib.import_module(target)
        except Exception as err:  # noqa: BLE001
            raise InputError(f"{flag}: cannot import module {target!r}: {type(err).__name__}: {err}") from None
    members = vars(module)
    if attr not in members:
        raise InputError(f"{flag}: {target} has no attribute {attr!r}")
    fn = members[attr]
    if not callable(fn):
        raise InputError(f"{flag}: {target}:{attr} is not callable")
    return fn
