"""The engine's contract: divergence semantics, arbitrary record points, compiled-program reuse,
the automatic flow solver and the compilation cache."""

import jax
import numpy as np
import pytest

import implicit_bias as ib
from implicit_bias import compilation, losses, optim
from implicit_bias.models import LinearModel
from implicit_bias.models.diagonal import DiagonalModel
from implicit_bias.optim.flow import choose_solver, top_curvature
from implicit_bias.problems import gaussian_regression, sparse_regression


def _gd_path(X, y, h, steps):
    """Independent numpy GD on (1/2n)‖Xw − y‖² from 0; returns iterates and first non-finite-loss step."""
    n = X.shape[0]
    w, path, first_bad = np.zeros(X.shape[1]), [], -1
    with np.errstate(over="ignore", invalid="ignore"):
        for k in range(steps + 1):
            path.append(w.copy())
            r = X @ w - y
            if first_bad < 0 and not np.isfinite(0.5 * np.mean(r * r)):
                first_bad = k
            w = w - h * X.T @ r / n
    return np.array(path), first_bad


def test_diverged_run_is_frozen_at_its_last_finite_record(seed):
    p = gaussian_regression(10, 30, seed=seed)
    lam = np.linalg.eigvalsh(p.X.T @ p.X / 10).max()
    h = 30.0 / lam
    out = ib.train(LinearModel(30), losses.square, optim.GD(), p, steps=1000, hparams={"step_size": [0.5 / lam, h]})
    path, first_bad = _gd_path(p.X, p.y, h, 1000)
    assert first_bad > 0
    assert out.diverged_at[1] == first_bad            # the first iterate whose loss is not finite
    assert out.diverged_at[0] == -1 and not out.diverged[0]
    last = np.searchsorted(out.steps, first_bad) - 1  # last record point strictly before it
    frozen = out.records["w"][1, last]
    np.testing.assert_allclose(frozen, path[out.steps[last]], rtol=1e-10)
    np.testing.assert_array_equal(out.end_to_end[1], frozen)
    assert np.all(out.records["w"][1, last:] == frozen)   # later records repeat the frozen point
    assert np.all(np.isfinite(out.records["loss"][1]))


@pytest.mark.parametrize("record_steps", [[0, 1, 2, 3, 7, 13, 50], [0, 5, 9, 10, 11, 97]])
def test_records_at_arbitrary_steps_match_recursion(record_steps):
    p = gaussian_regression(8, 20, seed=5)
    out = ib.train(LinearModel(20), losses.square, optim.GD(), p, steps=record_steps[-1], step_size=0.3,
                   record_steps=np.array(record_steps))
    path, _ = _gd_path(p.X, p.y, 0.3, record_steps[-1])
    np.testing.assert_allclose(out.records["w"][0], path[record_steps], rtol=1e-11, atol=1e-13)


def test_second_call_reuses_the_compiled_program():
    p = sparse_regression(20, 50, 3, n_test=0, seed=0)
    kw = dict(steps=100, step_size=0.01, n_records=6)
    first = ib.train(DiagonalModel(50), losses.square, optim.GD(), p, hparams=ib.grid(init_scale=[0.1, 0.2]), **kw)
    again = ib.train(DiagonalModel(50), losses.square, optim.GD(), p, hparams=ib.grid(init_scale=[0.3, 0.4]), **kw)
    assert again.info["compile_cached"]
    # a swept value is data, not a constant: the cached program gives the fresh run's numbers
    compilation.clear_cache()
    fresh = ib.train(DiagonalModel(50), losses.square, optim.GD(), p, hparams=ib.grid(init_scale=[0.3, 0.4]), **kw)
    assert not fresh.info["compile_cached"]
    np.testing.assert_array_equal(again.end_to_end, fresh.end_to_end)
    assert not np.allclose(first.end_to_end, again.end_to_end)


def test_changed_structure_recompiles():
    p = sparse_regression(20, 50, 3, n_test=0, seed=0)
    ib.train(DiagonalModel(50), losses.square, optim.GD(), p, steps=100, step_size=0.01)
    other = ib.train(DiagonalModel(50), losses.square, optim.GD(), p, steps=101, step_size=0.01)
    deeper = ib.train(DiagonalModel(50, depth=3), losses.square, optim.GD(), p, steps=100, step_size=0.01)
    assert not other.info["compile_cached"] and not deeper.info["compile_cached"]


def test_top_curvature_of_least_squares_is_the_top_eigenvalue(seed):
    p = gaussian_regression(15, 40, seed=seed)
    obj = lambda w, X, y, hp: 0.5 * jax.numpy.mean((X @ w - y) ** 2)  # noqa: E731
    lam = float(top_curvature(obj, jax.numpy.zeros(40), p.X, p.y, {}, iterations=200))
    np.testing.assert_allclose(lam, np.linalg.eigvalsh(p.X.T @ p.X / 15).max(), rtol=1e-6)


@pytest.mark.parametrize("curvature, horizon, n_params, expected", [
    (10.0, 1e4, 100, "kvaerno5"),   # 28,600 explicit steps vs 300 × 26
    (0.2, 1e4, 100, "tsit5"),       # 570 explicit steps
    (10.0, 1e4, 10_000, "tsit5"),   # a huge Jacobian does not pay
    (10.0, 10.0, 100, "tsit5"),     # short horizon
])
def test_choose_solver(curvature, horizon, n_params, expected):
    assert choose_solver(curvature, horizon, n_params) == expected


def test_auto_flow_picks_implicit_on_stiff_least_squares():
    p = sparse_regression(20, 100, 5, n_test=0, seed=0)
    out = ib.train(LinearModel(100), losses.square, optim.Flow(solver="auto"), p, time_horizon=1e4, n_records=4)
    assert out.info["solver"] == "kvaerno5"
    assert out.solver_ok.all() and out.solver_steps[0] < 1000
    ref = np.linalg.pinv(p.X) @ p.y
    np.testing.assert_allclose(out.end_to_end[0], ref, rtol=1e-8, atol=1e-10)


def test_auto_flow_keeps_explicit_when_not_stiff():
    p = gaussian_regression(20, 100, seed=0)   # X_ij ~ N(0, 1/d): λ_max T ≈ 2e3
    out = ib.train(LinearModel(100), losses.square, optim.Flow(solver="auto"), p, time_horizon=1e2, n_records=4)
    assert out.info["solver"] == "tsit5"


def test_unknown_solver_is_an_input_error():
    with pytest.raises(ib.InputError, match="auto"):
        optim.Flow(solver="euler")


def test_enable_compilation_cache(tmp_path):
    before = jax.config.jax_compilation_cache_dir
    try:
        where = compilation.enable_compilation_cache(tmp_path / "jax-cache")
        assert where.is_dir()
        assert jax.config.jax_compilation_cache_dir == str(where)
        assert compilation.enable_compilation_cache(where) == where   # idempotent
    finally:
        jax.config.update("jax_compilation_cache_dir", before)
        compilation._ENABLED.clear()
