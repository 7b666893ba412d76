"""Per-configuration data: each configuration's own targets or sample weights, vmapped in one program, give the
numbers of separate runs on that data, and the engine's final loss and convergence flags use them."""

import numpy as np
import pytest

import implicit_bias as ib
from implicit_bias.errors import InputError
from implicit_bias.models import LinearModel
from implicit_bias.problems import Problem, gaussian_regression


def _problem():
    return gaussian_regression(8, 12, seed=4)


def test_own_targets_match_separate_runs():
    p = _problem()
    rng = np.random.default_rng(0)
    Y = rng.standard_normal((3, p.n_samples))
    kw = dict(steps=400, step_size=0.2, n_records=5)
    out = ib.train(LinearModel(12), ib.losses.square, ib.optim.GD(), p, config_data={"y": Y}, **kw)
    for m in range(3):
        alone = ib.train(LinearModel(12), ib.losses.square, ib.optim.GD(), Problem(p.X, Y[m]), **kw)
        np.testing.assert_allclose(out.end_to_end[m], alone.end_to_end[0], rtol=0, atol=1e-13)
        np.testing.assert_allclose(out.final_loss[m], alone.final_loss[0], rtol=1e-12)
        np.testing.assert_allclose(out.records["loss"][m], alone.records["loss"][0], rtol=1e-12)
        assert out.converged[m] == alone.converged[0]


def test_own_weights_train_on_a_subset_and_report_its_loss():
    p = ib.problems.planted_margin_classification(10, 4, margin=0.2, seed=1)
    weights = np.ones((2, 10))
    weights[1, 6:] = 0.0                      # the second configuration sees the first six points only
    out = ib.train(LinearModel(4), ib.losses.logistic, ib.optim.GD(), p, steps=300, step_size=0.5,
                   config_data={"weights": weights}, n_records=4)
    sub = ib.train(LinearModel(4), ib.losses.logistic, ib.optim.GD(), Problem(p.X[:6], p.y[:6]), steps=300,
                   step_size=0.5, n_records=4)
    np.testing.assert_allclose(out.end_to_end[1], sub.end_to_end[0], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(out.final_loss[1], sub.final_loss[0], rtol=1e-12)
    assert out.converged[1] == sub.converged[0]


def test_bad_config_data_is_an_input_error():
    p = _problem()
    run = lambda cd, **kw: ib.train(LinearModel(12), ib.losses.square, ib.optim.GD(), p, steps=2, step_size=0.1,  # noqa: E731
                                    config_data=cd, **kw)
    with pytest.raises(InputError, match="takes y, weights"):
        run({"labels": np.zeros((2, 8))})
    with pytest.raises(InputError, match="shape"):
        run({"y": np.zeros((2, 7))})
    with pytest.raises(InputError, match="positive sum"):
        run({"weights": np.zeros((2, 8))})
    with pytest.raises(InputError, match="configurations"):
        run({"y": np.zeros((2, 8))}, hparams={"seed": [0, 1, 2]})
