"""Declared hyper-parameters: one validator checks values against their constraints and rejects unknown keys."""

import numpy as np
import pytest

from implicit_bias.errors import InputError
from implicit_bias.hparams import HParam, table, validate

STEP = HParam("step_size", float, None, "step size h", low=0.0, low_open=True)
SEED = HParam("seed", int, 0, "seed", low=0)
RETAIN = HParam("retain", float, 0.5, "retain probability", low=0.0, high=1.0, low_open=True)


def test_values_inside_their_constraints_pass_and_keep_their_type():
    out = validate({"step_size": [0.1, 1.0], "seed": [0, 3], "retain": 1.0}, table([STEP, SEED, RETAIN]))
    assert out["seed"].dtype == np.int64 and out["step_size"].dtype == np.float64
    np.testing.assert_array_equal(out["retain"], [1.0])


@pytest.mark.parametrize("key,value,message", [
    ("step_size", 0.0, r"\(0, inf\)"), ("step_size", np.nan, "step_size"), ("seed", 1.5, "integer"),
    ("seed", -1, "integer in"), ("retain", 0.0, r"\(0, 1\]"), ("retain", 1.01, "retain"),
])
def test_values_outside_their_constraints_are_one_line_errors(key, value, message):
    with pytest.raises(InputError, match=message):
        validate({key: value}, table([STEP, SEED, RETAIN]))


def test_an_unknown_key_lists_the_valid_ones():
    with pytest.raises(InputError, match=r"'init_scal'.*valid: retain, seed, step_size"):
        validate({"init_scal": 0.1}, table([STEP, SEED, RETAIN]), owner="gd")


def test_one_name_declared_twice_must_agree():
    assert table([STEP], [STEP]) == {"step_size": STEP}
    with pytest.raises(TypeError, match="declared twice"):
        table([STEP], [HParam("step_size", float, 0.1)])


def test_the_engine_checks_its_own_hyper_parameters():
    import implicit_bias as ib

    p = ib.problems.gaussian_regression(4, 6, seed=0)
    with pytest.raises(InputError, match="step_size"):
        ib.train(ib.models.LinearModel(6), ib.losses.square, ib.optim.GD(), p, steps=3, hparams={"step_size": [0.1, -1.0]})
    with pytest.raises(InputError, match="seed"):
        ib.train(ib.models.LinearModel(6), ib.losses.square, ib.optim.GD(), p, steps=3, step_size=0.1,
                 hparams={"seed": [-2]})
