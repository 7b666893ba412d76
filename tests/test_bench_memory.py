"""Memory: XLA's program bytes, the liveness estimate of a step's work, the chunker's plans, and a sweep
that does not fit being chunked without being told."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import implicit_bias as ib
from implicit_bias import bench_memory as bm
from implicit_bias import memory
from implicit_bias.models.diagonal import DiagonalModel


def test_program_bytes_counts_arguments_outputs_and_temporaries():
    x = jnp.ones((1000,))
    compiled = jax.jit(lambda a: (a * 2.0).sum()).lower(x).compile()
    held = memory.program_bytes(compiled)
    assert held is not None and held >= 1000 * 8  # at least the argument


def test_step_work_bytes_follows_liveness():
    # b = a·2 and c = b + 1 are 1000 float64 each; b dies when c is made, so the peak holds two, not three
    def f(a):
        b = a * 2.0
        c = b + 1.0
        return (c * c).sum()

    work = memory.step_work_bytes(f, jnp.ones((1000,)))
    assert 2 * 8000 <= work < 3 * 8000


def test_plan_ledger_records_the_estimate():
    with memory.plan_ledger() as plans:
        size = memory.auto_chunk_size(100, 1000, budget=10_000)
    assert size == 8  # ten fit, rounded down to a power of two
    assert plans == [{"n_configs": 100, "per_config_bytes": 1000, "budget_bytes": 10_000, "chunk_size": 8}]
    assert memory.auto_chunk_size(100, 1000, budget=10 ** 6) == 100


def _sweep(M=32, **kw):
    p = ib.problems.sparse_regression(30, 300, 3, n_test=0, seed=0)
    hp = {"init_scale": np.geomspace(1e-3, 0.5, M)}
    return ib.train(DiagonalModel(300), ib.losses.square, ib.optim.GD(), p, steps=40, step_size=1e-3, hparams=hp,
                    n_records=8, **kw)


@pytest.mark.slow
def test_a_sweep_that_does_not_fit_runs_chunked_without_being_told():
    whole = _sweep(chunk_size=32)
    with memory.plan_ledger() as plans:
        _sweep(M=2)
    per_config = plans[-1]["per_config_bytes"]
    budget = 6 * per_config  # room for 6 of the 32 configurations
    with memory.limited(budget), memory.plan_ledger() as plans:
        split = _sweep()
    assert split.info["chunk_size"] == 4 and split.info["chunks"] == 8
    assert plans[-1]["budget_bytes"] == budget
    held = memory.program_bytes(bm.last_executable())  # the program of one chunk, as XLA laid it out
    assert held is not None and held <= budget
    np.testing.assert_allclose(split.end_to_end, whole.end_to_end, rtol=0, atol=1e-14)


@pytest.mark.slow
def test_estimate_against_measured_footprint():
    cases = {c.name: c for c in bm.default_cases(quick=True)}
    diag = bm.measure_case(cases["diagonal network (sparse regression)"])
    assert diag["measured_per_config_bytes"] > 0
    # the diagonal network's footprint is parameters and records: the estimate is conservative, not wasteful
    assert 0.4 <= diag["ratio_measured_to_estimate"] <= 1.0
    mlp = bm.measure_case(cases["lazy-vs-rich MLP"])
    # the estimate counts the step's live intermediates (n × width activations): above what the MLP's program holds
    assert 0.4 <= mlp["ratio_measured_to_estimate"] <= 1.0
    assert "ratio" in bm.format_footprints([diag, mlp])


def test_chunker_counts_the_activations_of_a_step():
    from implicit_bias.models.mlp import MLP

    n, width = 200, 64
    p = ib.problems.gaussian_regression(n, 5, seed=0)
    with memory.plan_ledger() as plans:
        ib.train(MLP(5, (width,)), ib.losses.square, ib.optim.GD(), p, steps=2, step_size=0.1,
                 hparams={"init_scale": [0.5, 1.0]}, n_records=2)
    # the n × width activations (and their gradient) of one configuration's step, not only its 6 × 448 parameters
    assert plans[-1]["per_config_bytes"] >= 2 * n * width * 8
