"""Entry tensor-factorization, the CP tensor model and tensor-completion data."""

import jax
import numpy as np
import pytest

from implicit_bias.errors import InputError
from implicit_bias.experiments import get_entry
from implicit_bias.models.registry import make_model
from implicit_bias.models.tensor import TensorModel, norm_dynamics
from implicit_bias.problems.tensor import load_tensor_problem, tensor_completion


def _failed(result):
    return [c.name for c in result.claims if not c.holds]


@pytest.mark.slow
def test_quick_claims_hold():
    entry = get_entry("tensor-factorization")
    result = entry.run(entry.quick)
    assert not _failed(result), _failed(result)
    assert "component_norms" in result.figures


@pytest.mark.slow
def test_unbalanced_init_breaks_the_identity_and_a_small_control_init_is_low_rank(monkeypatch):
    """Negative controls, in one run: start every run unbalanced (the flow rows too) — the identity claim
    must fail; and give the large-init control the smallest σ — it must then find the low-rank fit, so
    the control claim fails (the spread over components comes from the large init, not the data)."""
    from dataclasses import replace

    import implicit_bias.experiments.tensor_factorization as exp
    from implicit_bias import compilation

    compilation.clear_cache()  # compiled programs hold the original init
    original = exp.TensorModel.init

    def tilted(self, hp, key):
        return original(self, {**hp, "init_tilt": 0.3}, key)

    monkeypatch.setattr(exp.TensorModel, "init", tilted)
    failed = " ".join(_failed(exp.run(replace(exp.ENTRY.quick, large_init_scale=0.02))))
    assert "flow from a balanced init" in failed
    assert "control: from a large init" in failed


@pytest.mark.parametrize("order", [3, 4])
def test_einsum_tensor_matches_entrywise_predictions_and_balanced_norms(order):
    model = TensorModel(order, 3, 4, init_scale=0.7)
    params = model.init({}, jax.random.PRNGKey(order))
    W = np.asarray(model.end_to_end(params))
    idx = np.argwhere(np.ones(W.shape, dtype=bool))
    np.testing.assert_allclose(model.predict(params, idx), W[tuple(idx.T)], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(np.linalg.norm(params["factors"], axis=-1), 0.7, rtol=1e-12)
    np.testing.assert_allclose(model.component_norms(params), 0.7 ** order, rtol=1e-12)


def test_norm_identity_holds_iff_balanced():
    p = tensor_completion(3, 4, 2, 30, seed=1)
    model = TensorModel(3, 3, 4, init_scale=0.5)
    balanced = model.init({}, jax.random.PRNGKey(0))
    lhs, rhs = norm_dynamics(model, balanced, p.X, p.y)
    np.testing.assert_allclose(lhs, rhs, rtol=1e-10)
    tilted = model.init({"init_tilt": 0.4}, jax.random.PRNGKey(0))
    np.testing.assert_allclose(model.end_to_end(tilted), model.end_to_end(balanced), rtol=1e-10, atol=1e-14)
    lhs, rhs = norm_dynamics(model, tilted, p.X, p.y)
    assert np.max(np.abs(lhs - rhs) / np.abs(rhs)) > 0.05


def test_tensor_completion_data_and_loader(tmp_path):
    p = tensor_completion(3, 3, 1, 10, seed=0)
    assert p.X.shape == (10, 3) and p.X_test.shape == (17, 3)
    np.testing.assert_allclose(p.y, p.w_star[tuple(p.X.T)])
    np.savez(tmp_path / "t.npz", rows=p.X, values=p.y, shape=np.array(p.w_star.shape), w_star=p.w_star)
    with np.load(tmp_path / "t.npz") as f:
        q = load_tensor_problem(dict(f))
    np.testing.assert_array_equal(q.X, p.X)
    assert q.X_test.shape == p.X_test.shape
    with pytest.raises(InputError):
        load_tensor_problem({"rows": p.X, "values": p.y, "shape": np.array([3, 3])})
    with pytest.raises(InputError):
        load_tensor_problem({"rows": p.X + 5, "values": p.y, "shape": np.array([3, 3, 3])})
    model = make_model("tensor", 27, shape=(3, 3, 3), rank=2)
    assert (model.order, model.dim, model.rank) == (3, 3, 2)
    with pytest.raises(InputError):
        TensorModel(1, 2, 3)


@pytest.mark.parametrize("order", [3, 4])
def test_jump_time_interpolation_is_exact_on_the_small_init_law(order):
    """ṡ = s^(2−2/N) from s(0) = s0: s^−(1−2/N) = s0^−(1−2/N) − (1−2/N)t exactly, so the crossing of
    s_final/2 interpolated between coarse log-spaced records is the closed-form time."""
    from implicit_bias.experiments.tensor_factorization import _crossing_time

    p, s0, half = 1.0 - 2.0 / order, 1e-3, 0.5
    t = np.r_[0.0, np.geomspace(1e-2, 0.999 * s0 ** -p / p, 30)]
    s = (s0 ** -p - p * t) ** (-1.0 / p)
    s = np.r_[s, 2 * half]                       # a final record at 2·half: the target is s = half
    t = np.r_[t, t[-1] * 1.001]
    exact = (s0 ** -p - half ** -p) / p
    assert _crossing_time(t, s, order) == pytest.approx(exact, rel=1e-9)
