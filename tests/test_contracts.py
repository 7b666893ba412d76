"""One contract over the registries themselves: a newly registered model, optimizer, reference or catalog entry
is tested here without anyone editing a list.

* every model (with GD, on square and logistic losses) and every step optimizer (the linear model on square
  loss, the diagonal model on logistic loss): a few steps on tiny data are finite, deterministic under a seed,
  the same vmapped as one configuration at a time (chunks of one, to 1e-12), and run in float32 (the fast tier:
  every model on square loss in float64; the rest, optimizers included, is marked slow);
* every model and optimizer derives from its base, declares hyper-parameters whose defaults satisfy their own
  constraints, and is described as JSON;
* every reference rejects non-finite data with the library's error and certifies its answer on its example;
* every catalog entry's configuration round-trips every field through ``--set``.

A component that needs more than the defaults declares a tiny ``example`` (models and references: on their
registration; optimizers: the ``example`` classmethod).
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

import implicit_bias as ib
from implicit_bias import losses
from implicit_bias.errors import InputError
from implicit_bias.experiments import catalog
from implicit_bias.hparams import describe
from implicit_bias.models import Model, available_models
from implicit_bias.optim import OPTIMIZERS, Optimizer
from implicit_bias.problems import Problem, gaussian_regression
from implicit_bias.references import available as available_references

STEPS, N_RECORDS = 6, 3
MODELS = available_models()
STEP_OPTIMIZERS = {name: cls for name, cls in OPTIMIZERS.items() if cls.kind == "steps"}
REFERENCES = available_references()


def _tiny_problem(loss: str, n_features: int = 4, n_samples: int = 6) -> Problem:
    p = gaussian_regression(n_samples, n_features, seed=3)
    if loss == "logistic":
        y = np.where(p.X @ np.linspace(1.0, -1.0, n_features) >= 0, 1.0, -1.0)
        return Problem(p.X, y)
    return Problem(p.X, p.y / max(1.0, float(np.max(np.abs(p.y)))))


def model_example(name: str, loss: str) -> tuple[Model, Problem]:
    """The model's declared example, or the model at d = 4 on tiny data."""
    spec = MODELS[name]
    if spec.example is not None:
        model, problem = spec.example()
        if loss == "logistic":
            problem = dataclasses.replace(problem, y=np.where(np.asarray(problem.y) >= np.median(problem.y), 1.0, -1.0))
        return model, problem
    return spec.factory(4), _tiny_problem(loss)


def _run(model, optimizer, problem, loss, **kw):
    hp = {"seed": [0, 1, 2]}
    kw.setdefault("hparams", hp)
    return ib.train(model, getattr(losses, loss), optimizer, problem, steps=STEPS, step_size=1e-2,
                    n_records=N_RECORDS, **kw)


def _same(a, b, atol: float):
    np.testing.assert_allclose(np.asarray(a.end_to_end, dtype=float), np.asarray(b.end_to_end, dtype=float),
                               rtol=0, atol=atol)
    np.testing.assert_allclose(a.records["loss"], b.records["loss"], rtol=0, atol=atol)


def _contract(model, optimizer, problem, loss):
    out = _run(model, optimizer, problem, loss)
    assert np.all(np.isfinite(out.records["loss"])) and not out.diverged.any()
    _same(out, _run(model, optimizer, problem, loss), 0.0)                      # deterministic under a seed
    # one configuration at a time (chunks of one: the looped program) == all three vmapped, to 1e-12
    _same(out, _run(model, optimizer, problem, loss, chunk_size=1), 1e-12)


def _float32(model, optimizer, problem, loss):
    """Runs in single precision (random draws differ by dtype: finiteness, not closeness)."""
    single = _run(model, optimizer, problem, loss, dtype="float32")
    assert single.end_to_end.dtype == np.float32 and np.all(np.isfinite(single.records["loss"]))


#: the fast tier runs square loss in float64; logistic loss and float32 are the slow tier.
VARIANTS = [pytest.param("square", False), pytest.param("logistic", False, marks=pytest.mark.slow),
            pytest.param("square", True, marks=pytest.mark.slow)]


@pytest.mark.parametrize("loss,float32", VARIANTS)
@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_model_trains_under_the_engine_contract(name, loss, float32):
    model, problem = model_example(name, loss)
    (_float32 if float32 else _contract)(model, ib.optim.GD(), problem, loss)


#: the cases every step optimizer is tried on (the slow tier): linear in float64 and float32, diagonal on logistic loss.
OPTIMIZER_CASES = [pytest.param(model, loss, float32, marks=pytest.mark.slow)
                   for model, loss, float32 in (("linear", "square", False), ("linear", "square", True),
                                                ("diagonal", "logistic", False))]


@pytest.mark.parametrize("model_name,loss,float32", OPTIMIZER_CASES)
@pytest.mark.parametrize("name", sorted(STEP_OPTIMIZERS))
def test_every_step_optimizer_trains_under_the_engine_contract(name, model_name, loss, float32):
    model, problem = model_example(model_name, loss)
    optimizer = STEP_OPTIMIZERS[name].example(model)
    if optimizer is None:
        pytest.skip(f"{name} does not apply to the {model_name} model")
    (_float32 if float32 else _contract)(model, optimizer, problem, loss)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_model_declares_itself(name):
    model, _ = model_example(name, "square")
    assert isinstance(model, Model)
    for h in model.hparams:
        value = model.own_value(h.name)
        assert value is not None, f"{name}: hyper-parameter {h.name} has no default"
        h.check(value)
    json.dumps(describe(model))


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_every_optimizer_declares_itself(name):
    cls = OPTIMIZERS[name]
    assert issubclass(cls, Optimizer)
    model, _ = model_example("linear", "square")
    optimizer = cls.example(model)
    if optimizer is None:
        model, _ = model_example("factorized", "square")
        optimizer = cls.example(model)
    assert optimizer is not None, f"{name}: no example for the linear or the factorized model"
    for h in optimizer.hparams:
        value = optimizer.own_value(h.name)
        if value is not None:
            h.check(value)
    json.dumps(describe(optimizer))


def test_a_typo_and_a_hyper_parameter_of_another_optimizer_are_errors():
    model, problem = model_example("diagonal", "square")
    with pytest.raises(InputError, match="init_scal.*valid: .*init_scale"):
        _run(model, ib.optim.GD(), problem, "square", hparams={"init_scal": [0.1]})
    with pytest.raises(InputError, match="'momentum'"):
        _run(model, ib.optim.GD(), problem, "square", hparams={"momentum": [0.5]})
    with pytest.raises(InputError, match="init_scale"):
        _run(model, ib.optim.GD(), problem, "square", hparams={"init_scale": [-1.0]})


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_every_reference_certifies_its_example_and_rejects_non_finite_data(name):
    spec = REFERENCES[name]
    problem, options = spec.example() if spec.example is not None else (_tiny_problem("square", 8, 4), {})
    ref = spec.compute(problem, **options)
    assert ref.status == "optimal", (name, ref.status)
    assert np.all(np.isfinite(np.asarray(ref.solution, dtype=float)))
    bad_y = np.array(problem.y, dtype=float, copy=True)
    bad_y[0] = np.nan
    with pytest.raises(InputError):
        spec.compute(dataclasses.replace(problem, y=bad_y), **options)


@pytest.mark.parametrize("name", sorted(catalog()))
def test_every_entry_round_trips_every_field_through_set(name):
    entry = catalog()[name]
    for quick in (False, True):
        config = entry.config(quick=quick)
        sets = {f.name: _as_text(getattr(config, f.name)) for f in dataclasses.fields(config)}
        assert entry.config(quick=quick, overrides=sets) == config, name


def _as_text(value) -> str:
    if isinstance(value, (tuple, list)):
        return ",".join(f"({_as_text(v)})" if isinstance(v, (tuple, list)) else _as_text(v) for v in value)
    if isinstance(value, float):
        return repr(value)
    return str(value)


def test_every_entry_spells_step_sizes_horizons_init_scales_and_seeds_one_way():
    """Config fields: ``step_size(s)``/``<what>_step_size(s)``, ``time_horizon``/``<what>_time_horizon``,
    ``init_scale(s)``/``<what>_init_scale(s)``, ``seed(s)``/``<what>_seed(s)``; a multiplier says so
    (``step_factor``, ``horizon_factor``). ``--set step_size=...`` works wherever there is a ``step_size``."""
    import re

    banned = re.compile(r"(^|_)(lr|eta|h|dt|step|steps?_?(scale|fraction)|horizon|time|alpha|T|scales?|rng|key)$"
                        r"|(^|_)init_scales?_")
    allowed = re.compile(r"^((\w+_)?(step_sizes?|steps|step_factor|time_horizon|horizon_factor|init_scales?|seeds?)"
                         r"|output_scales?|target_scale|ridge_scale|smaller_scale)$")  # the last four: not init scales
    for old in ("gd_step", "sgd_step", "small_step", "flat_step", "noise_step", "step_fraction", "ngd_step",
                "momentum_step", "adam_step", "sign_step", "step_scale", "full_step", "one_step", "horizon", "gd_time",
                "label_noise_step", "t6_scales", "relu_spread_scale", "smallest_scale", "init_scales_order3"):
        assert banned.search(old) and not allowed.match(old), old
    for name, entry in catalog().items():
        fields = [f.name for f in dataclasses.fields(entry.full)]
        wrong = [f for f in fields if banned.search(f) and not allowed.match(f)]
        assert not wrong, (name, wrong)
        if "step_size" in fields:
            assert entry.config(quick=True, overrides={"step_size": "0.001"}).step_size == 0.001, name
