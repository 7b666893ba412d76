"""A sweep's specification: what to train, over which grid, checked whole before anything is computed.

A :class:`SweepSpec` is plain data (from a TOML file, command-line flags, or both: a flag overrides
the file). :func:`resolve` turns it into a :class:`ResolvedSweep` — the problem, model, optimizer and
loss built through the same factories as ``implicit-bias train``, the flat grid (M,) per
hyper-parameter, the chunk size — or raises an :class:`InputError` (unknown key, impossible value,
missing horizon). The fingerprint of the resolved sweep (spec with the data's hash in place of its
path) tells a resumed run from a different one.

TOML form (every key optional except model, a data source, the horizon and the grid)::

    data = "d.npz"                 # or: problem = "sparse-regression" + [problem_options]
    model = "diagonal"
    optimizer = "gd"
    loss = "square"
    steps = 2000                   # or: time = 50.0 (optimizer "flow")
    references = ["q-alpha"]
    chunk_size = 64
    zip = [["init_scale", "step_size"]]
    [grid]
    init_scale = "logspace(-4,0,64)"
    step_size = [0.01]
    seed = "0..3"
    [model_options]                # options of the model's factory (as ``train``'s flags)
    [optimizer_options]            # as ``train --opt key=value``
"""

from __future__ import annotations

import dataclasses
import hashlib
import inspect
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from implicit_bias.errors import InputError
from implicit_bias.models.base import Model
from implicit_bias.optim.base import Optimizer

#: largest default chunk (configurations per compiled call) when none is given.
DEFAULT_CHUNK = 256


@dataclass(frozen=True)
class SweepSpec:
    """What a sweep runs. ``grid`` maps a hyper-parameter to its axis text (see :mod:`implicit_bias.sweeps`)
    or a list of numbers; ``zip`` lists groups of axes paired element by element."""

    model: str = ""
    optimizer: str = "gd"
    loss: str = "square"
    grid: dict[str, Any] = field(default_factory=dict)
    zip: tuple[tuple[str, ...], ...] = ()
    data: str | None = None
    problem: str | None = None
    problem_options: dict[str, Any] = field(default_factory=dict)
    model_options: dict[str, Any] = field(default_factory=dict)
    optimizer_options: dict[str, Any] = field(default_factory=dict)
    steps: int | None = None
    time: float | None = None
    references: tuple[str, ...] = ()
    chunk_size: int | None = None
    n_records: int = 32
    dtype: str = "float64"

    def merged(self, overrides: Mapping[str, Any]) -> "SweepSpec":
        """This spec with ``overrides`` on top: None or empty values are "not given"; grid axes are
        replaced one by one, option tables key by key."""
        changes: dict[str, Any] = {}
        for key, value in overrides.items():
            if value is None or (isinstance(value, (list, tuple, dict)) and not value):
                continue
            if key in ("grid", "problem_options", "model_options", "optimizer_options"):
                changes[key] = {**getattr(self, key), **dict(value)}
            else:
                changes[key] = value
        return dataclasses.replace(self, **_normalized(changes))


def _normalized(values: dict[str, Any]) -> dict[str, Any]:
    out = dict(values)
    if "zip" in out:
        out["zip"] = tuple(tuple(g) for g in out["zip"])
    if "references" in out:
        refs = out["references"]
        out["references"] = tuple([refs] if isinstance(refs, str) else refs)
    return out


_FIELDS = {f.name for f in dataclasses.fields(SweepSpec)}
_TOML_ONLY = {"out", "ray"}


def load_spec_file(path: str | Path) -> tuple[SweepSpec, dict[str, Any]]:
    """(spec, execution settings {out, ray}) from a TOML file; InputError on an unknown key or bad TOML."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"sweep spec not found: {path}")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise InputError(f"cannot read {path} as TOML: {err}") from None
    unknown = sorted(set(raw) - _FIELDS - _TOML_ONLY)
    if unknown:
        raise InputError(f"{path}: unknown key(s) {', '.join(unknown)}; valid: {', '.join(sorted(_FIELDS | _TOML_ONLY))}")
    for table in ("grid", "problem_options", "model_options", "optimizer_options"):
        if table in raw and not isinstance(raw[table], dict):
            raise InputError(f"{path}: '{table}' must be a table ([{table}])")
    settings = {k: raw.pop(k) for k in list(raw) if k in _TOML_ONLY}
    if raw.get("data") is not None and not Path(raw["data"]).is_absolute():
        raw["data"] = str(path.parent / raw["data"])  # a data file is found next to its spec
    try:
        return SweepSpec(**_normalized(raw)), settings
    except TypeError as err:
        raise InputError(f"{path}: {err}") from None


@dataclass(frozen=True)
class ResolvedSweep:
    """A checked sweep: built components, the flat grid (name -> (M,)) and the chunk size K."""

    spec: SweepSpec
    problem: Any
    model: Model
    optimizer: Optimizer
    loss: Any
    hparams: dict[str, np.ndarray]
    chunk_size: int
    data_sha256: str

    @property
    def n_configs(self) -> int:
        return len(next(iter(self.hparams.values())))

    @property
    def axes(self) -> list[str]:
        return list(self.hparams)

    @property
    def is_flow(self) -> bool:
        return self.optimizer.kind == "flow"

    def record(self) -> dict[str, Any]:
        """The resolved spec as JSON-able data (the data file's hash instead of its path)."""
        spec = dataclasses.asdict(self.spec)
        spec["data"] = None if self.spec.data is None else Path(self.spec.data).name
        spec["chunk_size"] = self.chunk_size
        spec["model_options"] = {k: _describe_value(v) for k, v in self.spec.model_options.items()}
        spec["optimizer_options"] = {k: _describe_value(v) for k, v in self.spec.optimizer_options.items()}
        return {"spec": spec, "data_sha256": self.data_sha256, "n_configs": self.n_configs}

    def fingerprint(self) -> str:
        from implicit_bias.store.serialize import fingerprint

        return fingerprint("sweep", self.record())


def _describe_value(v: Any) -> Any:
    if isinstance(v, np.ndarray):
        return {"array_sha256": hashlib.sha256(np.ascontiguousarray(v).tobytes()).hexdigest(), "shape": list(v.shape)}
    return v


def _data_hash(problem: Any) -> str:
    h = hashlib.sha256()
    for name in ("X", "y", "X_test", "y_test"):
        a = getattr(problem, name, None)
        if a is not None:
            a = np.ascontiguousarray(np.asarray(a))
            h.update(f"{name}{a.shape}{a.dtype}".encode())
            h.update(a.tobytes())
    return h.hexdigest()


def make_problem(name: str, options: Mapping[str, Any]) -> Any:
    """A generated problem: ``sparse-regression`` is :func:`implicit_bias.problems.sparse_regression`
    (any generator the package exports), called with ``options`` as keywords."""
    import implicit_bias.problems as problems

    generators = {n.replace("_", "-"): getattr(problems, n) for n in problems.__all__
                  if callable(getattr(problems, n)) and n not in ("Problem", "load_problem", "validate_labels")}
    if name not in generators:
        raise InputError(f"unknown problem '{name}'; valid: {', '.join(sorted(generators))} (or --data FILE.npz)")
    fn = generators[name]
    try:
        inspect.signature(fn).bind(**options)
    except TypeError as err:
        raise InputError(f"problem '{name}': {err}") from None
    return fn(**options)


def build_model(spec: SweepSpec, grid: dict[str, np.ndarray], problem: Any) -> Any:
    """The model from its factory (a registered name or ``FILE.py:factory``) with the spec's options, those
    the data carries (as ``train``), and, when the depth is swept, the largest swept depth as its depth."""
    from implicit_bias.cli_components import problem_options
    from implicit_bias.cli_components import factory_options
    from implicit_bias.models import model_factory

    factory = model_factory(spec.model)
    accepted = factory_options(factory)
    opts = dict(spec.model_options)
    unknown = sorted(set(opts) - set(accepted))
    if unknown:
        raise InputError(f"model '{spec.model}' does not take option(s) {', '.join(unknown)}; "
                         f"valid: {', '.join(accepted) or 'none'}")
    opts.update({k: v for k, v in problem_options(accepted, problem).items() if k not in opts})
    if "depth" in grid and "depth" in accepted and "depth" not in opts:
        opts["depth"] = int(np.max(grid["depth"]))  # the model's depth bounds the swept depths
    return factory(problem.n_features, **opts)


def build_optimizer(spec: SweepSpec) -> Any:
    """The optimizer by name with the spec's options (as ``train``)."""
    from implicit_bias.cli_components import optimizer_options
    from implicit_bias.optim import OPTIMIZERS, make_optimizer

    if spec.optimizer not in OPTIMIZERS:
        raise InputError(f"unknown optimizer '{spec.optimizer}'; valid: {', '.join(OPTIMIZERS)}")
    accepted = optimizer_options(OPTIMIZERS[spec.optimizer])
    unknown = sorted(set(spec.optimizer_options) - set(accepted))
    if unknown:
        raise InputError(f"optimizer '{spec.optimizer}' does not take option(s) {', '.join(unknown)}; "
                         f"valid: {', '.join(accepted) or 'none'}")
    return make_optimizer(spec.optimizer, **spec.optimizer_options)


def _check_grid(hp: dict[str, np.ndarray], model: Any, optimizer: Any) -> dict[str, np.ndarray]:
    """The grid checked against the declared tables (unknown key, value out of range) and by the model's
    and optimizer's own joint checks, as :func:`implicit_bias.engine.train` will check it."""
    from implicit_bias.engine import declared_hparams
    from implicit_bias.hparams import validate

    owner = f"model '{model.name}' with optimizer '{optimizer.name}'"
    hp = validate(hp, declared_hparams(model, optimizer), owner)
    model.check_hparams(hp)
    optimizer.check_hparams(hp)
    return hp


def _check_types(spec: SweepSpec) -> None:
    """InputError for a value of the wrong type (a TOML file can hold anything)."""
    def number(x: Any, kinds: tuple) -> bool:
        return isinstance(x, kinds) and not isinstance(x, bool)

    expect = {"model": (str,), "optimizer": (str,), "loss": (str,), "dtype": (str,), "data": (str, type(None)),
              "problem": (str, type(None)), "steps": (int, type(None)), "time": (int, float, type(None)),
              "chunk_size": (int, type(None)), "n_records": (int,)}
    for name, kinds in expect.items():
        value = getattr(spec, name)
        if not (number(value, kinds) if int in kinds or float in kinds else isinstance(value, kinds)) and value is not None:
            raise InputError(f"sweep spec: '{name}' must be {' or '.join(k.__name__ for k in kinds if k is not type(None))}, "
                             f"got {value!r}")
    if not all(isinstance(r, str) for r in spec.references):
        raise InputError(f"sweep spec: 'references' must be names, got {list(spec.references)!r}")
    for key, axis in spec.grid.items():
        items = axis if isinstance(axis, list) else [axis]
        if not all(isinstance(v, str) or number(v, (int, float)) for v in items):
            raise InputError(f"sweep spec: grid axis '{key}' must be a text such as \"0..7\" or a list of numbers")


def resolve(spec: SweepSpec) -> ResolvedSweep:
    """Build and check everything a sweep needs; InputError before any compute on bad input."""
    from implicit_bias import losses
    from implicit_bias.cli_support import load_data
    from implicit_bias.problems import validate_labels
    from implicit_bias.sweeps import parse_grid

    _check_types(spec)
    if not spec.model:
        raise InputError("a sweep needs a model (--model NAME)")
    if (spec.data is None) == (spec.problem is None):
        raise InputError("give the data as --data FILE.npz or a generated --problem NAME (one of them)")
    if not spec.grid:
        raise InputError("a sweep needs a grid: --grid name=values (e.g. --grid init_scale=logspace(-4,0,16))")
    if spec.dtype not in ("float64", "float32"):
        raise InputError(f"dtype must be float64 or float32, got {spec.dtype!r}")
    if not isinstance(spec.n_records, int) or spec.n_records < 2:
        raise InputError(f"n_records must be an integer >= 2, got {spec.n_records!r}")
    grid = parse_grid({k: v for k, v in spec.grid.items()}, [list(g) for g in spec.zip])
    problem = load_data(Path(spec.data)) if spec.data is not None else make_problem(spec.problem, spec.problem_options)
    loss = losses.get_loss(spec.loss)
    if loss.is_classification:
        validate_labels(problem.y)
    model = build_model(spec, grid, problem)
    optimizer = build_optimizer(spec)
    is_flow = optimizer.kind == "flow"
    if is_flow:
        if spec.time is None or not spec.time > 0:
            raise InputError("--optimizer flow needs a positive --time T")
        if spec.steps is not None:
            raise InputError("--steps applies to step methods; gradient flow takes --time T")
    else:
        if spec.steps is None or spec.steps < 1:
            raise InputError(f"--optimizer {spec.optimizer} needs a positive --steps N")
        if spec.time is not None:
            raise InputError("--time applies to --optimizer flow; use --steps for step methods")
        if "step_size" not in grid:
            raise InputError("step methods need the step size in the grid, e.g. --grid step_size=0.01")
        batch = grid.get("batch_size")
        if batch is not None and (np.any(batch < 1) or np.any(batch > problem.n_samples)):
            raise InputError(f"swept batch sizes must lie between 1 and the number of samples {problem.n_samples}")
    hp = _check_grid(grid, model, optimizer)
    M = len(next(iter(hp.values())))
    if spec.chunk_size is not None and (not isinstance(spec.chunk_size, int) or spec.chunk_size < 1):
        raise InputError(f"chunk size must be a positive integer, got {spec.chunk_size!r}")
    chunk = min(M, spec.chunk_size or DEFAULT_CHUNK)
    for name in spec.references:
        from implicit_bias.references import get_reference

        get_reference(name)
    return ResolvedSweep(spec, problem, model, optimizer, loss, hp, chunk, _data_hash(problem))
