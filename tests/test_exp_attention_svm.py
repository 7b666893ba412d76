"""Entry attention-svm, the attention model (log-space softmax derivative) and the attention-SVM reference."""

import dataclasses

import cvxpy as cp
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from implicit_bias.errors import InputError
from implicit_bias.experiments import get_entry
from implicit_bias.experiments.attention_svm import token_selection_problem
from implicit_bias.models.attention import AttentionModel, attend
from implicit_bias.references import available
from implicit_bias.references.attention_svm import attention_svm


def _failed(result):
    return [c.name for c in result.claims if not c.holds]


@pytest.mark.slow
def test_quick_claims_hold():
    entry = get_entry("attention-svm")
    result = entry.run(entry.quick)
    assert not _failed(result), _failed(result)
    assert "angle_to_svm" in result.figures


@pytest.mark.slow
def test_a_rotated_svm_fails(monkeypatch):
    """Negative control: rotate the reference slightly (1 − cos ≈ 1e-3) — the direction claims must fail."""
    import implicit_bias.experiments.attention_svm as exp

    def rotated(X, y, v, param="p"):
        ref = attention_svm(X, y, v, param)
        noise = np.random.default_rng(0).standard_normal(ref.solution.shape)
        return dataclasses.replace(ref, solution=ref.solution + 0.05 * np.linalg.norm(ref.solution) * noise / np.linalg.norm(noise))

    monkeypatch.setattr(exp, "attention_svm", rotated)
    failed = " ".join(_failed(exp.run(exp.ENTRY.quick)))
    assert "p → token-selection SVM" in failed and "W → Frobenius" in failed


def test_log_space_derivative_matches_autodiff_and_survives_large_margins():
    rng = np.random.default_rng(0)
    a, g = rng.standard_normal((3, 5)), rng.standard_normal((3, 5))
    naive = lambda a: jnp.sum(jax.nn.softmax(a, axis=-1) * g)  # noqa: E731
    np.testing.assert_allclose(jax.grad(lambda a: jnp.sum(attend(a, g)))(a), jax.grad(naive)(a), rtol=1e-10, atol=1e-14)
    # two tokens, margin 60: ∂f/∂a_1 = s_1 s_2 (γ_1 − γ_2) exactly; the naive form cancels to rounding noise
    a2, g2 = jnp.array([0.0, -60.0]), jnp.array([1.0, 0.5])
    exact = np.exp(-60.0) / (1 + np.exp(-60.0)) ** 2 * 0.5
    ours = float(jax.grad(lambda a: attend(a, g2))(a2)[0])
    assert ours == pytest.approx(exact, rel=1e-12)
    wrong = float(jax.grad(lambda a: jnp.sum(jax.nn.softmax(a) * g2))(a2)[0])
    assert abs(wrong - exact) > 1e-3 * exact


@pytest.mark.parametrize("param", ["p", "W", "KQ"])
def test_model_shapes_and_predictions(param):
    p = token_selection_problem(4, 3, 5, 2.0, 0.0, seed=1)
    model = AttentionModel(5, value=p.meta["value"], param=param, init_scale=0.1)
    params = model.init({}, jax.random.PRNGKey(0))
    f = model.predict(params, p.X)
    q = np.asarray(model.end_to_end(params))
    logits = p.X @ q if param == "p" else np.einsum("ntd,nd->nt", p.X, p.X[:, 0] @ q.T)
    s = np.exp(logits - logits.max(1, keepdims=True))
    s /= s.sum(1, keepdims=True)
    np.testing.assert_allclose(f, np.sum(s * (p.X @ p.meta["value"]), 1), rtol=1e-12)


def test_svm_references_against_independent_solves():
    p = token_selection_problem(4, 3, 6, 2.0, 0.0, seed=2)
    v, opt = p.meta["value"], p.meta["opt"]
    rows = [(i, t) for i in range(4) for t in range(3) if t != opt[i]]
    D = np.array([p.X[i, opt[i]] - p.X[i, t] for i, t in rows])
    Z = np.array([p.X[i, 0] for i, _ in rows])
    ref_p = attention_svm(p.X, p.y, v, "p")
    w = cp.Variable(6)
    cp.Problem(cp.Minimize(cp.sum_squares(w)), [D @ w >= 1]).solve(solver=cp.SCS, eps=1e-10)
    np.testing.assert_allclose(ref_p.solution, w.value, atol=1e-5)
    assert ref_p.info["equal_scores"] and ref_p.info["score_gap"] == pytest.approx(2.0)
    ref_w, ref_n = attention_svm(p.X, p.y, v, "W"), attention_svm(p.X, p.y, v, "KQ")
    margins = lambda W: np.einsum("kd,de,ke->k", D, W, Z)  # noqa: E731
    assert margins(ref_w.solution).min() >= 1 - 1e-8 and margins(ref_n.solution).min() >= 1 - 1e-6
    nuc = lambda W: np.linalg.svd(W, compute_uv=False).sum()  # noqa: E731
    assert nuc(ref_n.solution) <= nuc(ref_w.solution) + 1e-7          # each is optimal for its own norm
    assert np.linalg.norm(ref_w.solution) <= np.linalg.norm(ref_n.solution) + 1e-7
    assert "attention-svm" in available()


def test_reference_rejects_bad_input():
    p = token_selection_problem(3, 3, 4, 2.0, 0.0, seed=0)
    with pytest.raises(InputError):
        attention_svm(p.X, p.y, np.ones(3), "p")
    with pytest.raises(InputError):
        attention_svm(p.X, p.y, p.meta["value"], "Q")
    tied = p.X.copy()
    tied[:, :, 0] = 0.0
    with pytest.raises(InputError, match="tied"):
        attention_svm(tied, p.y, p.meta["value"], "p")
