"""The engine against closed forms: GD and momentum recursions, the flow's matrix exponential,
divergence flags, minibatch sampling, log-spaced records and vmapped sweeps."""

import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg

import implicit_bias as ib
from implicit_bias import losses, optim
from implicit_bias.engine import _batch_indices
from implicit_bias.errors import InputError
from implicit_bias.models import LinearModel
from implicit_bias.problems import gaussian_regression


def _gd_loop(X, y, w0, h, steps, beta=0.0):
    """Independent numpy heavy-ball recursion on (1/2n)‖Xw − y‖² (beta = 0 is GD)."""
    n = X.shape[0]
    w, m, path = w0.copy(), np.zeros_like(w0), [w0.copy()]
    for _ in range(steps):
        g = X.T @ (X @ w - y) / n
        m = beta * m + g
        w = w - h * m
        path.append(w.copy())
    return np.array(path)


def test_gd_matches_numpy_recursion_at_every_record(seed):
    p = gaussian_regression(10, 30, seed=seed)
    out = ib.train(LinearModel(30), losses.square, optim.GD(), p, steps=300, step_size=0.7,
                   hparams={"init_scale": 1.0, "seed": seed})
    w0 = out.records["w"][0, 0]
    path = _gd_loop(p.X, p.y, w0, 0.7, 300)
    np.testing.assert_allclose(out.records["w"][0], path[out.steps], rtol=1e-11, atol=1e-13)


def test_momentum_matches_heavy_ball_recursion(seed):
    p = gaussian_regression(10, 30, seed=seed)
    out = ib.train(LinearModel(30), losses.square, optim.Momentum(momentum=0.8), p, steps=200, step_size=0.3)
    path = _gd_loop(p.X, p.y, np.zeros(30), 0.3, 200, beta=0.8)
    np.testing.assert_allclose(out.end_to_end[0], path[-1], rtol=1e-10, atol=1e-12)


def test_flow_matches_matrix_exponential(seed):
    p = gaussian_regression(8, 20, seed=seed)
    n, d = p.X.shape
    H, b = p.X.T @ p.X / n, p.X.T @ p.y / n
    out = ib.train(LinearModel(20), losses.square, optim.Flow(solver="dopri8", rtol=1e-12, atol=1e-14), p,
                   time_horizon=50.0, hparams={"init_scale": 0.5, "seed": seed}, n_records=12)
    w0 = out.records["w"][0, 0]
    aug = np.zeros((d + 1, d + 1))
    aug[:d, :d], aug[:d, d] = -H, b
    for t, w in zip(out.steps, out.records["w"][0]):
        exact = (scipy.linalg.expm(aug * t) @ np.r_[w0, 1.0])[:d]
        np.testing.assert_allclose(w, exact, rtol=1e-9, atol=1e-11)


def test_sweep_equals_separate_runs():
    p = gaussian_regression(10, 30, seed=3)
    sweep = ib.train(LinearModel(30), losses.square, optim.GD(), p, steps=100,
                     hparams=ib.grid(step_size=[0.1, 0.5], init_scale=[0.0, 1.0], seed=[0]))
    assert sweep.n_configs == 4
    for i in range(4):
        one = ib.train(LinearModel(30), losses.square, optim.GD(), p, steps=100,
                       hparams={k: v[i] for k, v in sweep.hparams.items()})
        np.testing.assert_allclose(sweep.end_to_end[i], one.end_to_end[0], rtol=1e-12, atol=1e-14)


def test_diverged_configuration_is_flagged_and_others_finish():
    p = gaussian_regression(10, 30, seed=0)
    lam = np.linalg.eigvalsh(p.X.T @ p.X / 10).max()
    out = ib.train(LinearModel(30), losses.square, optim.GD(), p, steps=3000,
                   hparams={"step_size": [0.5 / lam, 50.0 / lam]})
    assert not out.diverged[0] and out.converged[0]
    assert out.diverged[1] and not out.converged[1]
    assert 0 < out.diverged_at[1] < 3000
    assert np.all(np.isfinite(out.end_to_end[1]))  # frozen at the last finite iterate


def test_sgd_epochs_visit_each_sample_once():
    import jax

    key = jax.random.PRNGKey(0)
    for epoch in range(3):
        idx = np.concatenate([np.asarray(_batch_indices(key, jnp.asarray(epoch * 4 + j), 12, 3)) for j in range(4)])
        assert sorted(idx.tolist()) == list(range(12))


def test_normalized_gd_is_gd_on_log_loss():
    p = ib.problems.planted_margin_classification(20, 4, seed=1)
    out = ib.train(LinearModel(4), losses.exp, optim.NormalizedGD(), p, steps=1, step_size=0.3,
                   hparams={"init_scale": 0.1, "seed": 0}, record_steps=np.array([0, 1]))
    w0 = out.records["w"][0, 0]
    m = p.y * (p.X @ w0)
    grad = -(np.exp(-m)[:, None] * p.y[:, None] * p.X).mean(0) / np.exp(-m).mean()
    np.testing.assert_allclose(out.end_to_end[0], w0 - 0.3 * grad, rtol=1e-12)


def test_log_spaced_steps_cover_range():
    s = ib.log_spaced_steps(10_000, 50)
    assert s[0] == 0 and s[-1] == 10_000 and np.all(np.diff(s) > 0)
    big = s[s >= 10]
    ratios = big[1:] / big[:-1]
    assert ratios.max() < 1.35  # ≈ 10_000^(1/48) = 1.21 once the integers spread out


def test_grid_is_cartesian_product():
    g = ib.grid(a=[1, 2, 3], b=[10, 20])
    assert len(g["a"]) == 6
    assert set(zip(g["a"], g["b"])) == {(a, b) for a in (1, 2, 3) for b in (10, 20)}


@pytest.mark.parametrize("kwargs, match", [
    ({"steps": 0, "step_size": 0.1}, "steps"),
    ({"steps": 10, "step_size": -1.0}, "step_size"),
    ({"steps": 10}, "step size"),
])
def test_bad_arguments_raise_input_error(kwargs, match):
    p = gaussian_regression(5, 10, seed=0)
    with pytest.raises(InputError, match=match):
        ib.train(LinearModel(10), losses.square, optim.GD(), p, **kwargs)


def test_batch_larger_than_n_is_rejected():
    p = gaussian_regression(5, 10, seed=0)
    with pytest.raises(InputError, match="batch size"):
        ib.train(LinearModel(10), losses.square, optim.SGD(batch_size=6), p, steps=10, step_size=0.1)


def test_compile_ledger_counts_fresh_programs_only():
    import implicit_bias as ib
    from implicit_bias.compilation import compile_ledger

    problem = ib.problems.gaussian_regression(n_samples=5, n_features=7, seed=11)
    model = ib.models.LinearModel(7)
    with compile_ledger() as outer:
        with compile_ledger() as inner:
            ib.train(model, ib.losses.square, ib.optim.GD(), problem, steps=37, step_size=0.01)
        ib.train(model, ib.losses.square, ib.optim.GD(), problem, steps=37, step_size=0.02)  # same program: cached
        ib.train(model, ib.losses.square, ib.optim.GD(), problem, steps=41, step_size=0.01)  # new record grid
    assert len(inner) == 1 and len(outer) == 2 and all(t > 0 for t in outer)


@pytest.mark.slow
@pytest.mark.parametrize("model_name", ["linear", "diagonal"])
def test_swept_batch_size_equals_one_program_per_batch_size(model_name):
    """hparams["batch_size"] runs every batch size in one program; each configuration is exactly the run of
    SGD(batch_size=B) with the same seed (the same shuffles), to rounding; B = n is full-batch GD."""
    seed = 1
    import implicit_bias as ib

    problem = ib.problems.sparse_regression(12, 20, 2, n_test=0, seed=seed)
    model = ib.models.make_model(model_name, 20)
    sizes, seeds = [1, 3, 4, 12, 3], [0, 0, 1, 0, 2]
    swept = ib.train(model, ib.losses.square, ib.optim.SGD(), problem, steps=150, step_size=0.05,
                     hparams={"batch_size": sizes, "seed": seeds}, n_records=4)
    for i, (B, s) in enumerate(zip(sizes, seeds)):
        opt = ib.optim.GD() if B == 12 else ib.optim.SGD(batch_size=B)
        alone = ib.train(model, ib.losses.square, opt, problem, steps=150, step_size=0.05, hparams={"seed": s},
                         n_records=4)
        np.testing.assert_allclose(swept.end_to_end[i], alone.end_to_end[0], rtol=1e-10, atol=1e-12)
        loss0 = alone.records["loss"][0]  # rounding is relative to the loss's scale, not to a loss near 0
        np.testing.assert_allclose(swept.records["loss"][i], loss0, rtol=1e-10, atol=1e-12 * loss0[0])
    assert not np.allclose(swept.end_to_end[0], swept.end_to_end[3])  # B = 1 is not GD


@pytest.mark.parametrize("hparams, optimizer, message", [
    ({"batch_size": [0, 2]}, "sgd", "between 1 and"), ({"batch_size": [13]}, "sgd", "between 1 and"),
    ({"batch_size": [2.5]}, "sgd", "integers"), ({"batch_size": [2]}, "sgd4", "must be None"),
])
def test_bad_swept_batch_sizes_are_refused(hparams, optimizer, message):
    import implicit_bias as ib

    problem = ib.problems.sparse_regression(12, 20, 2, n_test=0, seed=0)
    opt = ib.optim.SGD(batch_size=4) if optimizer == "sgd4" else ib.optim.SGD()
    with pytest.raises(InputError, match=message):
        ib.train(ib.models.LinearModel(20), ib.losses.square, opt, problem, steps=5, step_size=0.05, hparams=hparams)


def test_weighted_losses_equal_the_mean_over_the_weighted_samples():
    import implicit_bias as ib

    rng = np.random.default_rng(0)
    f, y = rng.standard_normal(6), np.sign(rng.standard_normal(6))
    w = np.array([0.5, 0.25, 0.25, 0, 0, 0])
    picked = np.array([0, 0, 1, 2])  # sample 0 twice: weights 1/2, 1/4, 1/4
    for loss in (ib.losses.square, ib.losses.exp, ib.losses.logistic):
        np.testing.assert_allclose(loss.value(f, y, w), loss.value(f[picked], y[picked]), rtol=1e-13)
        np.testing.assert_allclose(loss.log_value(f, y, w), loss.log_value(f[picked], y[picked]), rtol=1e-13)
    big = np.full(3, 1e4)  # huge margins: log space stays finite
    assert np.isfinite(ib.losses.exp.log_value(big, np.ones(3), np.array([0.5, 0.5, 0.0])))


def test_programs_with_and_without_a_progress_bar_share_the_persistent_cache(tmp_path):
    """No program holds a host callback: JAX writes it to its disk cache, and a second process that shows a
    progress bar (the host splits the run into calls of the same program) finds it there and gets the same numbers."""
    import subprocess
    import sys

    script = ("import sys, numpy as np, jax; jax.config.update('jax_enable_x64', True)\n"
              "from implicit_bias.compilation import enable_compilation_cache\n"
              "from implicit_bias import progress\n"
              "enable_compilation_cache(sys.argv[1], min_compile_seconds=0.0)\n"
              "import implicit_bias as ib\n"
              "class Bar:\n"
              "    ticks = []\n"
              "    def start(self, d, t): pass\n"
              "    def update(self, c): self.ticks.append(c)\n"
              "    def stop(self): pass\n"
              "p = ib.problems.sparse_regression(10, 30, 2, n_test=0, seed=0)\n"
              "def run():\n"
              "    return ib.train(ib.models.DiagonalModel(30), ib.losses.square, ib.optim.GD(), p, steps=500,\n"
              "                    step_size=0.01, hparams={'init_scale': [0.1, 1.0]})\n"
              "if sys.argv[2] == 'bar':\n"
              "    with progress.reporting(Bar()):\n"
              "        r = run()\n"
              "    assert len(Bar.ticks) > 5 and Bar.ticks == sorted(Bar.ticks) and Bar.ticks[-1] == 500, Bar.ticks\n"
              "else:\n"
              "    r = run()\n"
              "print(repr(r.end_to_end.tolist()))\n")
    outputs, listings = [], []
    for mode in ("plain", "bar"):
        proc = subprocess.run([sys.executable, "-c", script, str(tmp_path), mode], capture_output=True, text=True,
                              timeout=300, env={**__import__("os").environ, "JAX_PLATFORMS": "cpu"})
        assert proc.returncode == 0, proc.stderr[-2000:]
        outputs.append(proc.stdout)
        listings.append(sorted(f.name for f in tmp_path.iterdir() if f.name.startswith("jit_program")))
    assert listings[0] and listings[0] == listings[1]
    assert outputs[0] == outputs[1]
