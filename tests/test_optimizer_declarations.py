"""Every optimizer is a declared component: an Optimizer with a table of the quantities it reads from ``hp``.

Fast (no training): walks ``implicit_bias.optim.OPTIMIZERS`` and every Optimizer subclass of the package.
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from implicit_bias.errors import InputError
from implicit_bias.hparams import HParam, describe
from implicit_bias.optim import OPTIMIZERS, register_optimizer
from implicit_bias.optim.base import Optimizer
from implicit_bias.optim.coupled_weight_decay import ExponentialStepGD, WeightDecayed
from implicit_bias.optim.label_noise import LabelNoiseSGD
from implicit_bias.optim.modified import GradientRegularized
from implicit_bias.optim.steepest import SteepestDescent
from implicit_bias.optim.steps import Momentum, Nesterov

#: names declared by several optimizers with different constraints, on purpose: steepest descent's
#: decay power may be 0 (constant steps) while normalized GD's must lie in (0, 1] (steps shrink, sum
#: diverges); the hypentropy β of mirror descent must be positive, the mirror flow's may be 0.
DIFFERENT_ON_PURPOSE = {"decay_power", "beta"}


def _package_optimizers() -> list[type]:
    """Every Optimizer subclass defined in ``implicit_bias.optim`` (registered or not)."""
    out, todo = [], [Optimizer]
    while todo:
        cls = todo.pop()
        for sub in cls.__subclasses__():
            todo.append(sub)
            if sub.__module__.startswith("implicit_bias.optim") and sub not in out:
                out.append(sub)
    return out


ALL = sorted(set(OPTIMIZERS.values()) | set(_package_optimizers()), key=lambda c: (c.__module__, c.__qualname__))


def _default(cls: type) -> Optimizer | None:
    try:
        return cls()
    except InputError:  # needs a required option (e.g. preconditioned-gd's P)
        return None


def _field_defaults(cls: type) -> dict:
    return {f.name: f.default for f in dataclasses.fields(cls) if f.default is not dataclasses.MISSING}


def test_registry_holds_optimizers_only():
    for name, cls in OPTIMIZERS.items():
        assert isinstance(cls, type) and issubclass(cls, Optimizer), name
        assert cls.kind in ("steps", "flow"), name
    with pytest.raises(TypeError, match="subclass of Optimizer"):
        register_optimizer("not-an-optimizer", dict)
    assert "not-an-optimizer" not in OPTIMIZERS


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_declarations_agree_with_fields(cls):
    table = {h.name: h for h in cls.hparams}
    assert len(table) == len(cls.hparams), "a name declared twice"
    assert all(isinstance(h, HParam) for h in cls.hparams)
    assert not hasattr(cls, "swept")
    assert "describe" not in vars(cls), "the generic implicit_bias.hparams.describe describes optimizers"
    defaults = _field_defaults(cls)
    for name, h in table.items():
        if name in defaults:
            h.check(defaults[name], cls.__name__)  # the field's default lies within the declared constraint
            assert h.default == defaults[name], f"{cls.__name__}.{name}: declared default differs from the field's"


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_default_instance_describes_and_reads_its_quantities(cls):
    opt = _default(cls)
    if opt is None:
        pytest.skip("not default-constructible")
    assert opt.kind == cls.kind  # no field shadows the family the engine reads
    text = json.dumps(describe(opt), allow_nan=False)
    assert cls.name in text
    fields = {f.name for f in dataclasses.fields(opt)}
    for name, h in opt.declared().items():
        swept = object()
        assert opt.hparam({name: swept}, name) is swept
        own = getattr(opt, name) if name in fields else h.default
        assert opt.hparam({}, name) == own


def test_same_name_same_constraint_unless_intended():
    seen: dict[str, set] = {}
    for cls in ALL:
        for h in cls.hparams:
            seen.setdefault(h.name, set()).add((h.kind, h.low, h.high, h.low_open, h.high_open))
    differ = {name for name, constraints in seen.items() if len(constraints) > 1}
    assert differ == DIFFERENT_ON_PURPOSE


def test_renamed_fields_are_the_sweep_keys():
    assert Momentum(0.5).momentum == 0.5 and Nesterov(0.3).momentum == 0.3  # positional: the momentum
    assert LabelNoiseSGD(distribution="rademacher").kind == "steps"
    for cls in (Momentum, LabelNoiseSGD, ExponentialStepGD, GradientRegularized):
        assert {h.name for h in cls.hparams} <= {f.name for f in dataclasses.fields(cls)}, cls.__name__


def test_wrappers_declare_their_base_quantities():
    assert set(WeightDecayed(ExponentialStepGD()).declared()) == {"weight_decay", "step_growth"}
    assert set(GradientRegularized(Momentum()).declared()) == {"gr_strength", "momentum"}
    wrapped = WeightDecayed(ExponentialStepGD(step_growth=0.25))
    assert wrapped.base.hparam({}, "step_growth") == 0.25


def test_cross_checks():
    with pytest.raises(InputError, match="norm_index"):
        SteepestDescent().check_hparams({"normalized": np.array([0.0, 1.0])})
    SteepestDescent().check_hparams({"normalized": np.array([0.0]), "norm_index": np.array([1.0])})
