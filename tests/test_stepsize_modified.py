"""Modified losses of backward error analysis against closed forms and exact averages.

* GD on a quadratic: the IGR flow is exp(−(hλ + h²λ²/2) t/h) per eigen-direction; the GD–flow
  distance at t = kh has slope 1 (plain flow) and 2 (modified flow) in h.
* SGD: the mean over *all* orderings of one epoch equals SGD's modified flow at t = mh to O(h³)
  (GD's modified flow only to O(h²)), for the reshuffled and the fixed partition.
* Heavy ball: the modified loss matches the dominant root of the recursion on a quadratic.
* Explicit gradient regularization: GD on L + λ‖∇L‖² of a quadratic is (I − h(H + 2λH²))^k w0.
"""

import itertools
from dataclasses import dataclass
from typing import ClassVar

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

from implicit_bias import losses
from implicit_bias.engine import train
from implicit_bias.errors import InputError
from implicit_bias.hparams import HParam
from implicit_bias.metrics.rates import fit_loglog_slope
from implicit_bias.models.diagonal import DiagonalModel
from implicit_bias.models.linear import LinearModel
from implicit_bias.optim import GD, SGD, Adam, Flow, Momentum, make_optimizer
from implicit_bias.optim.modified import (GradientRegularized, IGRFlow, MomentumModifiedFlow, SGDModifiedFlow,
                                          check_describes, make_modified_flow, modified_flow_for)
from implicit_bias.problems import Problem

TIGHT = dict(solver="dopri8", rtol=1e-12, atol=1e-14)
#: one instance for every test and seed, so compiled programs are reused (the model hashes by identity)
UNIT_START = LinearModel(4, w0=np.ones(4))
GR = GradientRegularized(GD(), 0.1)


def _diagonal_quadratic(lam: np.ndarray) -> Problem:
    """L(w) = Σ λ_i w_i²/2 as least squares: X = diag(√(nλ)), y = 0 (n = d)."""
    n = len(lam)
    return Problem(np.diag(np.sqrt(n * lam)), np.zeros(n))


@pytest.fixture
def lam(seed):
    return np.sort(np.random.default_rng(seed).uniform(0.3, 3.0, size=4))


def test_igr_flow_is_the_closed_form_on_a_quadratic(lam):
    hs, t = np.array([0.2, 0.1, 0.05, 0.025, 0.0125]), 1.0
    model = UNIT_START
    out = train(model, losses.square, IGRFlow(**TIGHT), _diagonal_quadratic(lam), time_horizon=t,
                hparams={"step_size": hs}, record_steps=np.array([t]))
    closed = np.exp(-(hs[:, None] * lam + hs[:, None] ** 2 * lam ** 2 / 2) * t / hs[:, None])
    np.testing.assert_allclose(out.end_to_end, closed, rtol=1e-10, atol=1e-13)


def test_gd_to_flow_distance_slopes_are_one_and_two(lam):
    t = 1.0
    ks = np.array([16, 32, 64, 128, 256])
    hs = t / ks
    problem, model = _diagonal_quadratic(lam), UNIT_START
    gd = train(model, losses.square, GD(), problem, steps=int(ks.max()), hparams={"step_size": hs},
               record_steps=np.r_[0, ks])
    w_gd = gd.records["w"][np.arange(len(ks)), np.searchsorted(gd.steps, ks)]
    np.testing.assert_allclose(w_gd, (1 - hs[:, None] * lam) ** ks[:, None], rtol=1e-11)
    flows = train(model, losses.square, IGRFlow(**TIGHT), problem, time_horizon=t,
                  hparams={"step_size": np.r_[0.0, hs]}, record_steps=np.array([t]))
    np.testing.assert_allclose(flows.end_to_end[0], np.exp(-lam * t), rtol=1e-11)
    plain = np.linalg.norm(w_gd - flows.end_to_end[0], axis=1)
    modified = np.linalg.norm(w_gd - flows.end_to_end[1:], axis=1)
    assert fit_loglog_slope(hs, plain) == pytest.approx(1.0, abs=0.05)
    assert fit_loglog_slope(hs, modified) == pytest.approx(2.0, abs=0.05)


@dataclass(frozen=True)
class PacedSGDFlow(SGDModifiedFlow):
    """dθ/ds = −hp["speed"]·∇L̃: at s = 1 the modified flow at t = speed (one compile for every h)."""

    hparams: ClassVar[tuple[HParam, ...]] = SGDModifiedFlow.hparams + (HParam("speed", float, 1.0, low=0.0),)

    def modify_objective(self, objective):
        inner = super().modify_objective(objective)
        return lambda p, X, y, hp: hp["speed"] * inner(p, X, y, hp)


def _epoch_means(model, X, y, hs, orders, B):
    """Mean over the given index orders of the parameters after one SGD epoch (m = n/B steps), per h."""
    p0 = model.init({}, None)
    grad = jax.grad(lambda p, Xb, yb: losses.square.value(model.predict(p, Xb), yb))
    m = X.shape[0] // B

    def epoch(h, order):
        p = p0
        for k in range(m):
            idx = order[k * B:(k + 1) * B]
            p = jax.tree_util.tree_map(lambda a, g: a - h * g, p, grad(p, X[idx], y[idx]))
        return ravel_pytree(p)[0]

    run = jax.jit(jax.vmap(lambda h: jnp.mean(jax.vmap(lambda o: epoch(h, o))(orders), axis=0)))
    return np.asarray(run(jnp.asarray(hs)))


@pytest.mark.parametrize("partition", ["reshuffled", "fixed"])
def test_sgd_modified_flow_matches_the_exact_mean_over_orderings(partition):
    rng = np.random.default_rng(4)
    n, d, B = 4, 3, 2
    m = n // B
    X, y = rng.standard_normal((n, d)), rng.standard_normal(n)
    model = DiagonalModel(d, init_scale=0.8)
    hs = np.array([0.005, 0.0025, 0.00125, 0.000625])
    if partition == "reshuffled":
        orders = np.array(list(itertools.permutations(range(n))))
    else:
        blocks = [list(range(k * B, (k + 1) * B)) for k in range(m)]
        orders = np.array([sum((blocks[j] for j in perm), []) for perm in itertools.permutations(range(m))])
    mean = _epoch_means(model, jnp.asarray(X), jnp.asarray(y), hs, jnp.asarray(orders), B)
    hp = {"step_size": np.r_[hs, hs], "speed": np.r_[m * hs, m * hs],
          "n_batches": np.r_[np.full(len(hs), float(m)), np.ones(len(hs))]}
    flow = PacedSGDFlow(n_batches=m, partition=partition, **TIGHT)
    out = train(model, losses.square, flow, Problem(X, y), time_horizon=1.0, hparams=hp,
                record_steps=np.array([1.0]), record=_ParamsRecord())
    theta = out.records["theta"][:, -1]
    d_sgd = np.linalg.norm(mean - theta[:len(hs)], axis=1)
    if partition == "reshuffled":  # n_batches = 1 in hp turns the batch term off: GD's modified flow
        d_gd = np.linalg.norm(mean - theta[len(hs):], axis=1)
        assert fit_loglog_slope(hs, d_gd) == pytest.approx(2.0, abs=0.1)
    assert fit_loglog_slope(hs, d_sgd) == pytest.approx(3.0, abs=0.15)


@dataclass(frozen=True)
class _ParamsRecord:
    def __call__(self, params, hp, data):
        return {"theta": ravel_pytree(params)[0]}


def test_reshuffled_term_is_the_fixed_term_averaged_over_partitions():
    """(m−1)/(n−1)·(1/n)Σ‖∇ℓ_i − ∇L‖² = mean over partitions of (1/m)Σ_k‖∇L̂_k − ∇L‖² (n = 6, B = 2)."""
    from implicit_bias.optim.modified import batch_variance

    rng = np.random.default_rng(0)
    X, y = jnp.asarray(rng.standard_normal((6, 3))), jnp.asarray(rng.standard_normal(6))
    model = DiagonalModel(3, init_scale=0.6)
    p = model.init({}, None)
    objective = lambda q, Xb, yb, hp: losses.square.value(model.predict(q, Xb), yb)  # noqa: E731
    fixed = batch_variance(objective, 3, "fixed")
    perms = jnp.asarray(list(itertools.permutations(range(6))))
    values = jax.jit(jax.vmap(lambda perm: fixed(p, X[perm], y[perm], {})))(perms)
    reshuffled = float(batch_variance(objective, 3, "reshuffled")(p, X, y, {}))
    assert reshuffled == pytest.approx(float(np.mean(np.asarray(values))), rel=1e-12)


@pytest.mark.parametrize("beta", [0.0, 0.5, 0.9])
def test_momentum_modified_loss_matches_the_dominant_root(beta, lam):
    """−log r (dominant root of r² − (1+β−hλ)r + β) vs the modified rate: O(h³), the plain rate O(h²)."""
    lam0 = lam[-1]
    hs = np.array([0.02, 0.01, 0.005, 0.0025]) * (1 - beta) ** 2 / lam0  # expansion parameter hλ/(1 − β)²
    c = (1 + beta) / (4 * (1 - beta) ** 2)
    b = 1 + beta - hs * lam0
    r = (b + np.sqrt(b * b - 4 * beta)) / 2
    modified = hs / (1 - beta) * (lam0 + 2 * c * hs * lam0 ** 2)
    plain = hs / (1 - beta) * lam0
    assert fit_loglog_slope(hs, np.abs(-np.log(r) - plain)) == pytest.approx(2.0, abs=0.05)
    assert fit_loglog_slope(hs, np.abs(-np.log(r) - modified)) == pytest.approx(3.0, abs=0.1)


def test_momentum_modified_flow_is_its_closed_form(lam):
    hs, beta, t = np.array([0.05, 0.01]), 0.6, 0.7
    model = UNIT_START
    out = train(model, losses.square, MomentumModifiedFlow(momentum=beta, **TIGHT), _diagonal_quadratic(lam),
                time_horizon=t, hparams={"step_size": hs}, record_steps=np.array([t]))
    c = (1 + beta) / (4 * (1 - beta) ** 2)
    closed = np.exp(-(lam + 2 * c * hs[:, None] * lam ** 2) * t)
    np.testing.assert_allclose(out.end_to_end, closed, rtol=1e-10)


def test_explicit_gradient_regularization_on_a_quadratic(lam):
    hs, strengths, k = np.array([0.1, 0.05]), np.array([0.0, 0.2]), 30
    model = UNIT_START
    out = train(model, losses.square, GR, _diagonal_quadratic(lam), steps=k,
                hparams={"step_size": np.repeat(hs, 2), "gr_strength": np.tile(strengths, 2)}, n_records=3)
    h, s = np.repeat(hs, 2)[:, None], np.tile(strengths, 2)[:, None]
    np.testing.assert_allclose(out.end_to_end, (1 - h * (lam + 2 * s * lam ** 2)) ** k, rtol=1e-11)


def test_gradient_penalty_is_per_batch_or_full():
    rng = np.random.default_rng(1)
    X, y = rng.standard_normal((8, 3)), rng.standard_normal(8)
    model = DiagonalModel(3, init_scale=0.5)
    p = model.init({}, None)
    objective = lambda q, Xb, yb, hp: losses.square.value(model.predict(q, Xb), yb)  # noqa: E731
    grad = jax.grad(objective)
    Xb, yb = jnp.asarray(X[:2]), jnp.asarray(y[:2])
    sq = lambda g: float(sum(jnp.sum(a ** 2) for a in jax.tree_util.tree_leaves(g)))  # noqa: E731
    per_batch = GradientRegularized(SGD(batch_size=2), 0.3, per_batch=True).modify_objective(objective)
    full = GradientRegularized(SGD(batch_size=2), 0.3, full_data=(X, y)).modify_objective(objective)
    base = float(objective(p, Xb, yb, {}))
    assert float(per_batch(p, Xb, yb, {})) == pytest.approx(base + 0.3 * sq(grad(p, Xb, yb, {})), rel=1e-12)
    assert float(full(p, Xb, yb, {})) == pytest.approx(base + 0.3 * sq(grad(p, jnp.asarray(X), jnp.asarray(y), {})),
                                                      rel=1e-12)


def test_modified_flows_pick_the_right_class_and_strength():
    assert isinstance(make_modified_flow("igr", 0.1), IGRFlow)
    sgd = make_modified_flow("sgd", 0.1, n_batches=4, partition="fixed", rtol=1e-9)
    assert isinstance(sgd, SGDModifiedFlow) and sgd.n_batches == 4 and sgd.rtol == 1e-9
    assert float(modified_flow_for(Momentum(momentum=0.5), 0.2, 10).strength({})) == pytest.approx(0.2 * 1.5 / (4 * 0.25))
    assert modified_flow_for(SGD(batch_size=5), 0.2, 20).n_batches == 4
    assert isinstance(modified_flow_for(GD(), 0.2, 20), IGRFlow) and not isinstance(modified_flow_for(GD(), 0.2, 20),
                                                                                    SGDModifiedFlow)
    assert type(make_optimizer("igr-flow", step_size=0.3)) is IGRFlow
    assert type(make_optimizer("gradient-regularized", gr_strength=0.3).base) is GD


@pytest.mark.parametrize("call", [
    lambda: make_modified_flow("adam", 0.1),
    lambda: make_modified_flow("igr", 0.0),
    lambda: make_modified_flow("igr", -1.0),
    lambda: make_modified_flow("sgd", 0.1),
    lambda: make_modified_flow("sgd", 0.1, n_batches=0),
    lambda: make_modified_flow("igr", 0.1, n_batches=4),
    lambda: make_modified_flow("sgd", 0.1, n_batches=2, partition="random"),
    lambda: make_modified_flow("igr", 0.1, time_change="loss"),
    lambda: make_modified_flow("momentum", 0.1, momentum=1.0),
    lambda: check_describes("igr", "adam"),
    lambda: check_describes("sgd", "gd"),
    lambda: modified_flow_for(Adam(), 0.1, 10),
    lambda: modified_flow_for(SGD(batch_size=20), 0.1, 10),
    lambda: GradientRegularized(GD(), -0.1),
    lambda: GradientRegularized(SGD(batch_size=2), 0.1),
    lambda: GradientRegularized(Flow(), 0.1),
])
def test_bad_input_is_an_input_error(call):
    with pytest.raises(InputError):
        call()


def test_sgd_flow_refuses_more_batches_than_samples():
    problem = Problem(np.eye(3), np.ones(3))
    with pytest.raises(InputError):
        train(LinearModel(3), losses.square, SGDModifiedFlow(n_batches=5), problem, time_horizon=1.0, n_records=2)
