"""Matrix problems, the factorized model, its conservation law, spectral metrics and the matrix references,
each against a closed form or an independent solver."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.optimize

import implicit_bias as ib
from implicit_bias import losses, optim
from implicit_bias.errors import InputError, ReferenceFailure
from implicit_bias.metrics.spectral import effective_rank, nuclear_norm, schatten_norm, singular_values
from implicit_bias.models import make_model
from implicit_bias.models.factorized import FactorizedModel, balance_gaps
from implicit_bias.problems.matrix import (
    load_matrix_problem,
    low_rank_matrix,
    matrix_completion,
    matrix_sensing,
    measure,
    norms_not_enough_problem,
    sensing_operator,
)
from implicit_bias.references import get_reference
from implicit_bias.references.nuclear_norm import commuting_flow_limit, min_frobenius_matrix, min_nuclear_norm

INITS = ("gaussian", "balanced", "identity", "orthogonal")


# ---------------------------------------------------------------- model


@pytest.mark.parametrize("shape,width", [((5, 3), None), ((3, 5), 4), ((4, 4), 6)])
@pytest.mark.parametrize("depth", [1, 2, 3])
def test_end_to_end_is_the_ordered_product_with_the_problem_shape(shape, width, depth):
    model = FactorizedModel(shape, depth, width=width)
    params = model.init({"init_scale": 1.0}, jax.random.PRNGKey(depth))
    assert [p.shape for p in params] == model.factor_shapes()
    W = np.asarray(params[0])
    for Wj in params[1:]:
        W = np.asarray(Wj) @ W
    np.testing.assert_allclose(np.asarray(model.end_to_end(params)), W, rtol=1e-13)
    assert W.shape == shape


def test_predictions_are_measurements_of_the_end_to_end_matrix(seed):
    sens = matrix_sensing((4, 6), 2, 9, n_test=0, seed=seed)
    comp = matrix_completion((4, 6), 2, 9, seed=seed)
    for problem in (sens, comp):
        model = FactorizedModel((4, 6), 3, kind=problem.meta["kind"])
        params = model.init({"init_scale": 2.0}, jax.random.PRNGKey(seed))
        W = np.asarray(model.end_to_end(params))
        np.testing.assert_allclose(np.asarray(model.predict(params, jnp.asarray(problem.X))), measure(problem, W),
                                   rtol=1e-12)


@pytest.mark.parametrize("init", ["balanced", "identity", "orthogonal"])
@pytest.mark.parametrize("depth", [1, 2, 4])
def test_init_has_the_requested_end_to_end_frobenius_norm(init, depth, seed):
    model = FactorizedModel((6, 6), depth, init_kind=init)
    alphas = jnp.array([1e-3, 0.1, 3.0])
    norms = jax.vmap(lambda a: model.init_frobenius({"init_scale": a}, jax.random.PRNGKey(seed)))(alphas)
    np.testing.assert_allclose(np.asarray(norms), np.asarray(alphas), rtol=1e-12)


@pytest.mark.parametrize("depth", [1, 2, 3])
def test_gaussian_init_has_the_requested_norm_in_mean_square(depth):
    model = FactorizedModel((8, 5), depth, init_kind="gaussian", init_scale=0.2)
    keys = jax.random.split(jax.random.PRNGKey(0), 400)
    norms = np.asarray(jax.vmap(lambda k: model.init_frobenius({}, k))(keys))
    assert abs(np.sqrt(np.mean(norms ** 2)) / 0.2 - 1) < 0.1


@pytest.mark.parametrize("init", ["balanced", "identity", "orthogonal"])
def test_structured_inits_are_balanced(init, seed):
    params = FactorizedModel((5, 7), 4, init_kind=init).init({"init_scale": 0.7}, jax.random.PRNGKey(seed))
    assert max(float(jnp.abs(C).max()) for C in balance_gaps(params)) < 1e-14


@pytest.mark.parametrize("kwargs", [dict(depth=0), dict(depth=1.5), dict(width=0), dict(init_kind="xavier"),
                                    dict(kind="regression"), dict(init_scale=-1.0), dict(shape=(0, 3))])
def test_bad_model_arguments_raise_one_line(kwargs):
    args = {"shape": (3, 3), **kwargs}
    with pytest.raises(InputError):
        FactorizedModel(**args)


def test_factory_takes_shape_and_kind_from_the_problem_and_rejects_arrays():
    model = make_model("factorized", 2, shape=(3, 4), depth=3, init="orthogonal", kind="completion", init_scale=None)
    assert (model.shape, model.depth, model.init_kind, model.kind) == ((3, 4), 3, "orthogonal", "completion")
    with pytest.raises(InputError):
        make_model("factorized", 2, depth=2)
    with pytest.raises(InputError):
        make_model("factorized", 2, shape=(3, 4), init=np.zeros(3))


# ---------------------------------------------------------------- conservation


def _grads(model, params, problem):
    X, y = jnp.asarray(problem.X), jnp.asarray(problem.y)
    return jax.grad(lambda p: losses.square.value(model.predict(p, X), y))(params)


@pytest.mark.parametrize("depth", [2, 3])
def test_one_gd_step_moves_the_balance_by_exactly_h_squared_terms(depth, seed):
    problem = matrix_sensing((5, 4), 2, 12, n_test=0, seed=seed)
    model = FactorizedModel((5, 4), depth, init_scale=1.0)
    params = model.init({}, jax.random.PRNGKey(seed))
    G = _grads(model, params, problem)
    h = 0.05
    after = [W - h * g for W, g in zip(params, G)]
    for C0, C1, (Gj, Gk) in zip(balance_gaps(params), balance_gaps(after), zip(G, G[1:])):
        expected = h ** 2 * (Gk.T @ Gk - Gj @ Gj.T)
        np.testing.assert_allclose(np.asarray(C1 - C0), np.asarray(expected), rtol=1e-9, atol=1e-15)
        assert float(jnp.abs(expected).max()) > 1e-8


def test_gradient_flow_conserves_the_balance(seed):
    problem = matrix_sensing((5, 5), 2, 15, n_test=0, seed=seed)
    model = FactorizedModel((5, 5), 3, init_scale=1.5)
    out = ib.train(model, losses.square, optim.Flow(solver="tsit5", rtol=1e-11, atol=1e-14), problem,
                   time_horizon=20.0, hparams={"seed": seed})
    W0 = model.init({}, jax.random.split(jax.random.PRNGKey(seed))[0])
    start = balance_gaps(W0)
    end = balance_gaps([jnp.asarray(p[0]) for p in out.params])
    for C0, C1 in zip(start, end):
        assert float(jnp.linalg.norm(C1 - C0) / jnp.linalg.norm(C0)) < 1e-8
    assert float(jnp.linalg.norm(out.params[0][0] - W0[0])) > 0.05 * float(jnp.linalg.norm(W0[0]))
    assert out.final_loss[0] < 1e-3 * out.records["loss"][0, 0]


def test_depth_one_descent_reaches_the_min_frobenius_reference_from_its_init(seed):
    problem = matrix_sensing((4, 5), 2, 8, n_test=0, seed=seed)
    model = FactorizedModel((4, 5), 1, init_scale=0.5)
    lam = np.linalg.eigvalsh(problem.X.reshape(8, -1) @ problem.X.reshape(8, -1).T / 8).max()
    out = ib.train(model, losses.square, optim.GD(), problem, steps=20_000, step_size=1.0 / lam,
                   hparams={"seed": seed})
    W0 = out.records["w"][0, 0]
    ref = min_frobenius_matrix(problem.X, problem.y, (4, 5), W0=W0)
    np.testing.assert_allclose(out.end_to_end[0], ref.solution, rtol=1e-8, atol=1e-10)
    assert np.linalg.norm(ref.solution - min_frobenius_matrix(problem.X, problem.y, (4, 5)).solution) > 1e-2


# ---------------------------------------------------------------- spectral metrics


def test_effective_rank_closed_forms():
    rng = np.random.default_rng(0)
    U, _ = np.linalg.qr(rng.standard_normal((7, 7)))
    for r in (1, 3, 5):
        W = 2.5 * U[:, :r] @ U[:, :r].T
        assert abs(effective_rank(W) - r) < 1e-10
    p = np.array([0.5, 0.25, 0.25])
    assert abs(effective_rank(sigma=4 * p) - np.exp(-np.sum(p * np.log(p)))) < 1e-12
    W = rng.standard_normal((3, 6, 4))
    np.testing.assert_allclose(effective_rank(W), effective_rank(1e-6 * W), rtol=1e-12)
    assert effective_rank(np.zeros((3, 3))) == 0.0


def test_schatten_norms_against_numpy(seed):
    W = np.random.default_rng(seed).standard_normal((2, 5, 4))
    np.testing.assert_allclose(schatten_norm(W, 2.0), np.linalg.norm(W, axis=(1, 2)), rtol=1e-12)
    np.testing.assert_allclose(schatten_norm(W, 1.0), [np.linalg.norm(w, "nuc") for w in W], rtol=1e-12)
    np.testing.assert_allclose(schatten_norm(W, np.inf), [np.linalg.norm(w, 2) for w in W], rtol=1e-12)
    s = singular_values(W)
    np.testing.assert_allclose(schatten_norm(W, 0.5), np.sum(np.sqrt(s), axis=1) ** 2, rtol=1e-12)
    np.testing.assert_allclose(nuclear_norm(W), s.sum(1), rtol=1e-12)
    # the 2×2 completion: ‖[[x,1],[1,0]]‖_* = √(x² + 4)
    x = np.array([0.0, 1.0, 30.0])
    Wx = np.stack([[[v, 1.0], [1.0, 0.0]] for v in x])
    np.testing.assert_allclose(nuclear_norm(Wx), np.sqrt(x ** 2 + 4), rtol=1e-12)
    with pytest.raises(InputError):
        schatten_norm(W, 0.0)


# ---------------------------------------------------------------- references


def _lp_on_eigenvalues(A, y, nonnegative):
    """Commuting A_i = Q diag(g_i) Qᵀ: min Σ|v| (or Σv, v ≥ 0) s.t. Σ_j g_ij v_j = y_i, by HiGHS."""
    _, Q = np.linalg.eigh(A[0])
    G = np.einsum("ji,mjk,ki->mi", Q, A, Q)
    m, d = G.shape
    if nonnegative:
        res = scipy.optimize.linprog(np.ones(d), A_eq=G, b_eq=y, bounds=[(0, None)] * d, method="highs")
    else:
        res = scipy.optimize.linprog(np.ones(2 * d), A_eq=np.hstack([G, -G]), b_eq=y, bounds=[(0, None)] * (2 * d),
                                     method="highs")
    assert res.status == 0
    return res.fun


@pytest.mark.parametrize("psd", [True, False])
def test_nuclear_norm_with_commuting_measurements_is_an_lp_on_eigenvalues(psd, seed):
    problem = matrix_sensing((8, 8), 2, 4, operator="commuting", psd=True, n_test=0, seed=seed)
    ref = min_nuclear_norm(problem.X, problem.y, (8, 8), psd=psd)
    assert ref.info["certified"]
    assert abs(ref.objective - _lp_on_eigenvalues(problem.X, problem.y, psd)) < 1e-6 * ref.objective


@pytest.mark.parametrize("kind", ["sensing", "completion"])
def test_nuclear_norm_interior_point_dual_and_scs_primal_agree(kind, seed):
    problem = (matrix_sensing((6, 5), 1, 14, n_test=0, seed=seed) if kind == "sensing"
               else matrix_completion((8, 7), 2, 30, seed=seed))
    shape = problem.meta["shape"]
    a = min_nuclear_norm(problem.X, problem.y, shape, solver="CLARABEL")
    b = min_nuclear_norm(problem.X, problem.y, shape, solver="SCS")
    for ref in (a, b):
        assert ref.info["certified"] and ref.info["relative_residual"] < 1e-6
        assert ref.info["dual_norm"] < 1 + 1e-6 and ref.info["relative_gap"] < 1e-5
    assert abs(a.objective - b.objective) < 1e-6 * a.objective
    assert np.linalg.norm(a.solution - b.solution) < 1e-4 * np.linalg.norm(a.solution)


def test_nuclear_norm_recovers_a_fully_observed_matrix_and_the_2x2_example():
    W = low_rank_matrix((6, 6), 2, seed=3)
    full = matrix_completion((6, 6), 2, 36, ground_truth=W, seed=3)
    ref = min_nuclear_norm(full.X, full.y, (6, 6))
    np.testing.assert_allclose(ref.solution, W, atol=1e-7)
    two = norms_not_enough_problem()
    ref2 = min_nuclear_norm(two.X, two.y, (2, 2))
    np.testing.assert_allclose(ref2.solution, [[0.0, 1.0], [1.0, 0.0]], atol=1e-7)
    assert abs(ref2.objective - 2.0) < 1e-8


def test_nuclear_norm_with_tolerance_and_tie_break():
    problem = matrix_sensing((5, 5), 1, 10, n_test=0, noise=0.01, seed=1)
    exact = min_nuclear_norm(problem.X, problem.y, (5, 5))
    loose = min_nuclear_norm(problem.X, problem.y, (5, 5), tolerance=0.05)
    assert loose.info["residual"] <= 0.05 * (1 + 1e-6) and loose.objective < exact.objective
    comm = matrix_sensing((8, 8), 2, 4, operator="commuting", psd=True, n_test=0, seed=0)
    first = min_nuclear_norm(comm.X, comm.y, (8, 8), psd=True)
    tied = min_nuclear_norm(comm.X, comm.y, (8, 8), psd=True, tie_break="frobenius")
    assert tied.objective <= first.objective * (1 + 1e-6)
    assert np.linalg.norm(tied.solution) <= np.linalg.norm(first.solution) * (1 + 1e-6)


def _eigen_lp(A, y):
    _, Q = np.linalg.eigh(A[0] + 0.37 * A[1])
    G = np.einsum("ji,mjk,ki->mi", Q, A, Q)
    res = scipy.optimize.linprog(np.ones(G.shape[1]), A_eq=G, b_eq=y, bounds=[(0, None)] * G.shape[1], method="highs")
    reduced = 1 - G.T @ res.eqlin.marginals
    return Q, G, (Q * res.x) @ Q.T, reduced[res.x <= 1e-9].min()


@pytest.mark.parametrize("alpha", [1.0, 1e-3])
def test_commuting_flow_limit_is_the_entropy_projection(alpha, seed):
    import cvxpy as cp

    d = 8
    problem = matrix_sensing((d, d), 2, 4, operator="commuting", psd=True, n_test=0, seed=seed)
    A, y = problem.X, problem.y
    ref = commuting_flow_limit(A, y, alpha)
    Q, G, _, _ = _eigen_lp(A, y)
    c = alpha / np.sqrt(d)
    v_ref = np.einsum("ji,jk,ki->i", Q, ref.solution, Q)
    # KKT certificate: G v = y and log(v/c) in the row space of G
    assert ref.info["residual"] < 1e-10
    log_ratio = np.log(v_ref / c)
    mu = np.linalg.lstsq(G.T, log_ratio, rcond=None)[0]
    assert np.abs(G.T @ mu - log_ratio).max() < 1e-6
    # an independent exponential-cone solve agrees to its own accuracy
    v = cp.Variable(d)
    cp.Problem(cp.Minimize(-cp.sum(cp.entr(v)) - cp.sum(v) * (1 + np.log(c))), [G @ v == y]).solve(solver="CLARABEL")
    np.testing.assert_allclose(v_ref, v.value, atol=1e-4 * np.abs(v_ref).max())


def test_commuting_flow_limit_reaches_the_lp_vertex_at_the_reduced_cost_rate(seed):
    problem = matrix_sensing((8, 8), 2, 4, operator="commuting", psd=True, n_test=0, seed=seed)
    _, _, W_lp, delta = _eigen_lp(problem.X, problem.y)
    dist = [np.linalg.norm(commuting_flow_limit(problem.X, problem.y, a).solution - W_lp) / np.linalg.norm(W_lp)
            for a in (1e-2, 1e-20, 1e-60, 1e-80)]
    assert all(b < a or b < 1e-9 for a, b in zip(dist, dist[1:])) and dist[0] > 1e-3
    if dist[3] > 1e-9:
        slope = np.log(dist[2] / dist[3]) / np.log(1e20)
        assert abs(slope - delta) < 0.1 * delta + 0.003
    else:
        assert dist[3] < 1e-8
    with pytest.raises(InputError):
        commuting_flow_limit(sensing_operator((4, 4), 3, symmetric=True, seed=seed), np.ones(3), 0.1)


def test_nuclear_norm_failures_are_reported():
    X = np.array([[0, 1], [0, 1]])
    with pytest.raises(ReferenceFailure):
        min_nuclear_norm(X, np.array([1.0, 2.0]), (2, 2))
    spec = get_reference("nuclear-norm")
    with pytest.raises(InputError):
        spec.compute(ib.problems.gaussian_regression(5, 10))
    with pytest.raises(InputError):
        spec.compute(norms_not_enough_problem(), alpha=0.1)
    assert get_reference("min-frobenius").compute(norms_not_enough_problem()).solution[0, 0] == 0.0


# ---------------------------------------------------------------- problems and loading


def test_generators(seed):
    W = low_rank_matrix((9, 7), 3, normalization="entries", seed=seed)
    assert np.linalg.matrix_rank(W, tol=1e-9) == 3 and abs(np.linalg.norm(W) - np.sqrt(63)) < 1e-9
    assert abs(np.linalg.norm(low_rank_matrix((9, 7), 3, normalization="spectral", seed=seed), 2) - 1) < 1e-12
    P = low_rank_matrix((6, 6), 2, psd=True, seed=seed)
    assert np.allclose(P, P.T) and np.linalg.eigvalsh(P).min() > -1e-12
    A = sensing_operator((5, 5), 6, operator="commuting", seed=seed)
    assert max(np.abs(A[i] @ A[j] - A[j] @ A[i]).max() for i in range(6) for j in range(6)) < 1e-12
    comp = matrix_completion((7, 7), 2, 12, symmetric=True, seed=seed)
    pairs = {tuple(r) for r in comp.X}
    assert all((j, i) in pairs for i, j in pairs)
    np.testing.assert_allclose(comp.y, comp.w_star[comp.X[:, 0], comp.X[:, 1]])
    assert len(comp.X) + len(comp.X_test) == 49 and not pairs & {tuple(r) for r in comp.X_test}
    sens = matrix_sensing((4, 3), 1, 5, n_test=7, seed=seed)
    np.testing.assert_allclose(sens.y, measure(sens, sens.w_star), rtol=1e-12)
    np.testing.assert_allclose(sens.y_test, measure(sens.X_test, sens.w_star), rtol=1e-12)


def test_loader_round_trips_and_builds_the_unobserved_test_split():
    comp = matrix_completion((5, 4), 1, 8, seed=0)
    p = load_matrix_problem({"rows": comp.X[:, 0], "cols": comp.X[:, 1], "values": comp.y, "shape": np.array([5, 4]),
                             "w_star": comp.w_star})
    assert p.meta == {"kind": "completion", "shape": (5, 4), "symmetric": False}
    np.testing.assert_array_equal(p.X, comp.X)
    np.testing.assert_array_equal(p.X_test, comp.X_test)
    np.testing.assert_allclose(p.y_test, comp.y_test)
    sens = matrix_sensing((3, 4), 1, 6, n_test=2, seed=0)
    q = load_matrix_problem({"A": sens.X, "y": sens.y, "A_test": sens.X_test, "y_test": sens.y_test})
    assert q.meta["kind"] == "sensing" and q.meta["shape"] == (3, 4) and q.X_test.shape == (2, 3, 4)
    same = load_matrix_problem({"rows": [0, 0], "cols": [1, 1], "values": [2.0, 2.0], "shape": [2, 2]})
    assert same.n_samples == 2


@pytest.mark.parametrize("arrays,needle", [
    ({"rows": [0, 3], "cols": [0, 1], "values": [1.0, 2.0], "shape": [3, 3]}, "out of range"),
    ({"rows": [0, -1], "cols": [0, 1], "values": [1.0, 2.0], "shape": [3, 3]}, "out of range"),
    ({"rows": [0, 1], "cols": [0, 5], "values": [1.0, 2.0], "shape": [3, 3]}, "out of range"),
    ({"rows": [0, 0], "cols": [1, 1], "values": [1.0, 2.0], "shape": [3, 3]}, "duplicate"),
    ({"rows": [0, 1], "cols": [0, 1], "values": [1.0], "shape": [3, 3]}, "same length"),
    ({"rows": [0.5], "cols": [0], "values": [1.0], "shape": [3, 3]}, "integer"),
    ({"rows": [0], "cols": [0], "values": [np.nan], "shape": [3, 3]}, "NaN"),
    ({"rows": [0], "cols": [0], "values": [1.0]}, "'shape' is missing"),
    ({"rows": [0], "cols": [0], "values": [1.0], "shape": [3, 3], "w_star": np.zeros((2, 2))}, "w_star"),
    ({"rows": [0], "cols": [0], "values": [1.0], "shape": [3, 4], "symmetric": True}, "not square"),
    ({"A": np.zeros((3, 2, 2)), "y": np.zeros(2)}, "'y' must have shape"),
    ({"A": np.zeros((3, 4)), "y": np.zeros(3)}, "(m, d1, d2)"),
    ({"A": np.stack([np.eye(2), np.eye(2)]), "y": np.array([1.0, 0.0])}, "duplicate"),
    ({"A": np.zeros((1, 2, 2)), "y": [0.0], "rows": [0]}, "not both"),
])
def test_loader_rejects_bad_input_with_one_line(arrays, needle):
    with pytest.raises(InputError) as err:
        load_matrix_problem({k: np.asarray(v) for k, v in arrays.items()})
    assert needle in str(err.value) and "\n" not in str(err.value)
