"""natural-gd: a Gauss–Newton step on a known answer, function-space invariance, and bad input."""

import numpy as np
import pytest

from implicit_bias import losses
from implicit_bias.engine import train
from implicit_bias.errors import InputError
from implicit_bias.models.diagonal import DiagonalModel
from implicit_bias.models.linear import LinearModel
from implicit_bias.optim import make_optimizer
from implicit_bias.optim.natural import NaturalGD
from implicit_bias.problems import Problem


def _problem(seed=0, n=4, d=6):
    rng = np.random.default_rng(seed)
    return Problem(rng.standard_normal((n, d)), rng.standard_normal(n))


def test_one_step_of_size_one_solves_linear_least_squares():
    p = _problem()
    model = LinearModel(6)
    out = train(model, losses.square, NaturalGD(model=model), p, steps=1, step_size=1.0, n_records=2)
    w = out.end_to_end[0]
    np.testing.assert_allclose(p.X @ w, p.y, atol=1e-12)              # Gauss–Newton: f ← f − (f − y)
    np.testing.assert_allclose(w, np.linalg.pinv(p.X) @ p.y, atol=1e-12)  # from 0, inside rowspan(X)


def test_predictions_move_like_function_space_gd_in_another_parameterization():
    """Diagonal w = u⊙v: f_1 − f_0 = −h(f_0 − y) + O(h²) (the u-v cross term); halving h divides the defect by 4."""
    p = _problem(1)
    model = DiagonalModel(6, param="uv", init_scale=0.7)
    out = train(model, losses.square, NaturalGD(model=model), p, steps=1,
                hparams={"step_size": [0.02, 0.01]}, n_records=2)
    f0 = p.X @ model.initial_end_to_end()
    defects = [np.linalg.norm(p.X @ out.end_to_end[i] - (f0 - h * (f0 - p.y))) for i, h in enumerate((0.02, 0.01))]
    assert defects[0] < 0.1 * 0.02 * np.linalg.norm(f0 - p.y)   # small against the first-order move
    assert 3.0 < defects[0] / defects[1] < 5.0


def test_plain_gd_is_not_invariant():
    p = _problem(1)
    model = DiagonalModel(6, param="uv", init_scale=0.7)
    out = train(model, losses.square, make_optimizer("gd"), p, steps=1, step_size=0.02, n_records=2)
    f0 = p.X @ model.initial_end_to_end()
    assert np.linalg.norm(p.X @ out.end_to_end[0] - (f0 - 0.02 * (f0 - p.y))) > 1e-2 * 0.02 * np.linalg.norm(p.y)


def test_bad_input():
    p = _problem()
    bound = train(LinearModel(6), losses.square, make_optimizer("natural-gd", damping=1e-6), p, steps=1, step_size=1.0)
    given = train(LinearModel(6), losses.square, NaturalGD(model=LinearModel(6), damping=1e-6), p, steps=1, step_size=1.0)
    np.testing.assert_array_equal(bound.end_to_end, given.end_to_end)  # the engine binds the model it trains
    with pytest.raises(InputError, match="model"):
        NaturalGD().modify_objective(lambda params, X, y, hp: 0.0)
    for bad in (-1.0, float("inf"), "x"):
        with pytest.raises(InputError):
            NaturalGD(model=LinearModel(6), damping=bad)
