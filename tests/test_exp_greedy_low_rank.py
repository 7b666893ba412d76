"""Entry greedy-low-rank, the GLRL reference and the symmetric factorization model."""

import dataclasses

import jax
import numpy as np
import pytest

from implicit_bias import losses, optim
from implicit_bias.engine import train
from implicit_bias.errors import InputError
from implicit_bias.experiments import get_entry
from implicit_bias.models.registry import make_model
from implicit_bias.models.symmetric import SymmetricModel
from implicit_bias.references import available
from implicit_bias.references.glrl import glrl


def _failed(result):
    return [c.name for c in result.claims if not c.holds]


@pytest.mark.slow
def test_quick_claims_hold():
    entry = get_entry("greedy-low-rank")
    result = entry.run(entry.quick)
    assert not _failed(result), _failed(result)
    assert "distances" in result.figures


@pytest.mark.slow
def test_a_wrong_glrl_point_fails(monkeypatch):
    """Negative control: shift the GLRL reference by 1 % — the convergence claims must fail."""
    import implicit_bias.experiments.greedy_low_rank as exp

    def shifted(A, y, **kw):
        ref = glrl(A, y, **kw)
        return dataclasses.replace(ref, solution=ref.solution * 1.01)

    monkeypatch.setattr(exp, "glrl", shifted)
    failed = " ".join(_failed(exp.run(exp.ENTRY.quick)))
    assert "shrinks as α decreases" in failed or "‖W − W_GLRL‖" in failed


def _diagonal_sensing(values):
    d = len(values)
    A = np.stack([np.outer(e, e) for e in np.eye(d)])
    return A, np.asarray(values, dtype=float)


def test_glrl_on_an_observed_diagonal():
    """−∇f(0) = diag(y)/m: GLRL escapes along e_1 and stops at 2 e_1e_1ᵀ, where −∇f = −diag(0, 1, 1)/3 ⪯ 0."""
    A, y = _diagonal_sensing([2.0, -1.0, -1.0])
    ref = glrl(A, y)
    np.testing.assert_allclose(ref.solution, np.diag([2.0, 0.0, 0.0]), atol=1e-9)
    assert ref.info["stages"] == 1 and ref.info["stopped"]
    np.testing.assert_allclose(ref.arrays["escape_eigenvalues"], [2.0 / 3], rtol=1e-9)
    assert "glrl" in available()


def test_glrl_refuses_a_saddle():
    """With two positive diagonal targets the rank-1 limit 3 e_1e_1ᵀ is a saddle of the rank-1 problem
    (u may turn towards e_2): not a strict local minimum, so not certified."""
    from implicit_bias.errors import ReferenceFailure

    A, y = _diagonal_sensing([3.0, 2.0, -1.0])
    with pytest.raises(ReferenceFailure, match="strict local minimum"):
        glrl(A, y)


def test_glrl_agrees_with_small_init_flow_on_a_certified_instance():
    """An independent check: the engine's flow on UUᵀ from α = 1e-5 lands near the GLRL point."""
    from implicit_bias.problems.matrix import matrix_sensing

    p = matrix_sensing((5, 5), 1, 7, symmetric=True, psd=True, singular_values=[1.0], n_test=0, seed=0)
    ref = glrl(p.X, p.y)
    out = train(SymmetricModel(5), losses.square, optim.Flow(rtol=1e-10, atol=1e-14), p, time_horizon=400.0,
                hparams={"init_scale": 1e-5})
    assert np.linalg.norm(out.end_to_end[0] - ref.solution) / np.linalg.norm(ref.solution) < 1e-2


def test_glrl_rejects_bad_input():
    A, y = _diagonal_sensing([1.0, 2.0])
    with pytest.raises(InputError):
        glrl(A + np.triu(np.ones((2, 2)), 1)[None], y)
    with pytest.raises(InputError):
        glrl(A, y[:1])


def test_symmetric_model_predicts_inner_products_with_uut():
    model = make_model("symmetric", 16, shape=(4, 4), kind="sensing", init_scale=0.3)
    params = model.init({}, jax.random.PRNGKey(0))
    U = np.asarray(params["U"])
    assert np.linalg.norm(U) == pytest.approx(0.3)
    A = np.random.default_rng(0).standard_normal((3, 4, 4))
    np.testing.assert_allclose(model.predict(params, A), np.einsum("mij,ij->m", A, U @ U.T), rtol=1e-12)
    with pytest.raises(InputError):
        make_model("symmetric", 12, shape=(3, 4))
