"""Entry grokking-dichotomy, the ℓ1 max-margin LP, the ℓ1-regularized logistic reference and the weight-decay optimizers."""

import cvxpy as cp
import numpy as np
import pytest

from implicit_bias import losses
from implicit_bias.engine import train
from implicit_bias.errors import InputError, NotSeparableError
from implicit_bias.experiments import get_entry
from implicit_bias.models.linear import LinearModel
from implicit_bias.optim import OPTIMIZERS
from implicit_bias.optim.weight_decay import WeightDecayFlow
from implicit_bias.problems import gaussian_regression
from implicit_bias.references import available
from implicit_bias.references.l1_margin import l1_max_margin, l1_regularized_logistic


def _failed(result):
    return [c.name for c in result.claims if not c.holds]


@pytest.mark.slow
def test_quick_claims_hold():
    entry = get_entry("grokking-dichotomy")
    result = entry.run(entry.quick)
    assert not _failed(result), _failed(result)
    assert "grokking" in result.figures
    assert {"series", "config", "step", "metric", "value"} <= set(result.metrics.columns)


@pytest.mark.slow
def test_without_weight_decay_there_is_no_late_phase(monkeypatch):
    """Negative control: the flow without its decay term (same grid, same clock) — the late-phase claims must fail."""
    import implicit_bias.experiments.grokking_dichotomy as exp
    from implicit_bias import compilation

    compilation.clear_cache()
    monkeypatch.setattr(exp.WeightDecayFlow, "modify_objective", lambda self, objective: objective)
    failed = " ".join(_failed(exp.run(exp.ENTRY.quick)))
    assert "late: test accuracy gain" in failed and "late: cos(w(T), ŵ₁)" in failed
    assert "≤ 1.25·log(α)/λ" in failed


def _separable(seed, n=12, d=20):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    return X, np.sign(X[:, 0] + 0.5 * X[:, 1])


def test_l1_max_margin_matches_an_independent_cvxpy_solve(seed):
    X, y = _separable(seed)
    ref = l1_max_margin(X, y)
    w = cp.Variable(X.shape[1])
    prob = cp.Problem(cp.Minimize(cp.norm1(w)), [cp.multiply(y, X @ w) >= 1])
    prob.solve(solver=cp.CLARABEL)
    assert ref.objective == pytest.approx(prob.value, rel=1e-6)
    assert np.min(y * (X @ ref.solution)) >= 1 - 1e-9
    mu = ref.arrays["dual"]                                    # dual certificate
    assert mu.min() >= -1e-12 and np.abs(X.T @ (mu * y)).max() <= 1 + 1e-8
    assert mu.sum() == pytest.approx(ref.objective, rel=1e-8)
    assert "max-margin-l1" in available()


def test_l1_max_margin_rejects_bad_input():
    X, y = _separable(0)
    with pytest.raises(InputError):
        l1_max_margin(X, y * 2)
    with pytest.raises(NotSeparableError):
        l1_max_margin(np.vstack([X[:1], X[:1]]), np.array([1.0, -1.0]))


def test_l1_regularized_logistic_satisfies_its_optimality_condition(seed):
    X, y = _separable(seed)
    ref = l1_regularized_logistic(X, y, 1e-2)
    assert ref.info["kkt_residual"] < 1e-2  # Clarabel's exponential-cone accuracy when the Newton polish is refused
    with pytest.raises(InputError):
        l1_regularized_logistic(X, y, -1.0)


def test_weight_decay_flow_reaches_ridge():
    """The flow on (1/2n)‖Xw − y‖² + (λ/2)‖w‖² from 0 converges to (XᵀX/n + λI)⁻¹Xᵀy/n (the entry's optimizer)."""
    p = gaussian_regression(10, 5, seed=1)
    lam = 0.3
    out = train(LinearModel(5), losses.square, WeightDecayFlow(rtol=1e-12, atol=1e-14), p, time_horizon=200.0,
                hparams={"weight_decay": lam})
    ridge = np.linalg.solve(p.X.T @ p.X / 10 + lam * np.eye(5), p.X.T @ p.y / 10)
    np.testing.assert_allclose(out.end_to_end[0], ridge, rtol=1e-8, atol=1e-10)
    assert OPTIMIZERS[WeightDecayFlow.name] is WeightDecayFlow
