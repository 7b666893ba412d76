"""Memory per configuration: what a compiled sweep holds against what the chunker estimates.

For a sweep of M configurations the engine's program holds F(M) = F₀ + M·b bytes (F₀: the data
and constants; b: one configuration's parameters, optimizer state, records and work arrays).
F is read from XLA's buffer assignment (:func:`implicit_bias.memory.program_bytes`) at two sweep
sizes M₁ < M₂, so b = (F(M₂) − F(M₁)) / (M₂ − M₁) is measured, not guessed; the estimate the
chunker used for the same sweep is read from :func:`implicit_bias.memory.plan_ledger`. A ratio
b / estimate ≤ 1 means the chunker plans conservatively (a chunk it picks fits); above 1 a
chunk it picks can exceed the budget.

References: JAX documentation, ``Compiled.memory_analysis`` and "GPU memory allocation".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from implicit_bias import compilation, memory


def last_executable() -> Any:
    """The executable the engine ran last (its in-process cache keeps the most recent one at the end)."""
    programs = compilation._EXECUTABLES  # read only: the engine's own cache of compiled programs
    return next(reversed(programs.values())) if programs else None


@dataclass(frozen=True)
class Case:
    """One sweep to measure: ``build()`` returns (model, loss, optimizer, problem, train keyword arguments);
    ``hparams(M)`` the sweep of M configurations."""

    name: str
    build: Callable[[], tuple]
    hparams: Callable[[int], dict]
    sizes: tuple[int, int] = (2, 8)
    notes: str = ""
    extra: dict = field(default_factory=dict)


def measure_case(case: Case) -> dict:
    """Measured bytes per configuration, the chunker's estimate and their ratio for one :class:`Case`."""
    import implicit_bias as ib

    model, loss, optimizer, problem, kw = case.build()
    footprints, estimates = [], []
    for M in case.sizes:
        with memory.plan_ledger() as plans:
            out = ib.train(model, loss, optimizer, problem, hparams=case.hparams(M), description=case.name, **kw)
        footprints.append(memory.program_bytes(last_executable()))
        estimates.append(plans[-1]["per_config_bytes"] if plans else None)
    (m1, m2), (f1, f2) = case.sizes, footprints
    measured = (f2 - f1) / (m2 - m1) if f1 is not None and f2 is not None else None
    estimate = estimates[-1]
    n_params = sum(int(np.prod(np.shape(x)[1:])) for x in _leaves(out.params))
    return {"case": case.name, "n_params": n_params, "sizes": list(case.sizes), "footprint_bytes": footprints,
            "measured_per_config_bytes": measured, "estimate_per_config_bytes": estimate,
            "ratio_measured_to_estimate": (measured / estimate) if measured and estimate else None,
            "fixed_bytes": (f1 - m1 * measured) if measured is not None else None, "notes": case.notes, **case.extra}


def _leaves(tree: Any) -> list:
    import jax

    return jax.tree_util.tree_leaves(tree)


def default_cases(quick: bool = True) -> list[Case]:
    """The diagonal network, deep matrix completion, the random-labels and lazy-vs-rich MLPs, linear gradient flow
    with an explicit and an implicit solver; at the paper's sizes unless ``quick`` (smaller stand-ins)."""
    import implicit_bias as ib
    from implicit_bias.models import LinearModel
    from implicit_bias.models.diagonal import DiagonalModel
    from implicit_bias.models.factorized import FactorizedModel
    from implicit_bias.models.mlp import MLP
    from implicit_bias.problems.matrix import matrix_completion
    from implicit_bias.problems.problem import Problem

    rng = np.random.default_rng(0)
    scales = lambda M: {"init_scale": np.geomspace(1e-2, 0.5, M)}  # noqa: E731
    d, n = (200, 50) if quick else (1000, 100)
    size, m_obs = (30, 250) if quick else (100, 2000)
    width, n_rl = (256, 200) if quick else (1024, 1000)
    p_flow = 32 if quick else 128

    def diagonal():
        p = ib.problems.sparse_regression(n, d, 5, n_test=0, seed=0)
        return DiagonalModel(d), ib.losses.square, ib.optim.GD(), p, dict(steps=8, step_size=1e-3, n_records=32)

    def factorized():
        p = matrix_completion((size, size), 5 if size >= 100 else 2, m_obs, seed=0)
        model = FactorizedModel((size, size), 3, init_scale=1e-2, kind="completion")
        return model, ib.losses.square, ib.optim.GD(), p, dict(steps=8, step_size=0.1, n_records=32)

    def random_labels():
        X = rng.standard_normal((n_rl, 64))
        p = Problem(X, np.sign(X[:, 0] + 1e-9), name="random-labels size")
        model = MLP(64, (width,), activation="relu", bias=True)
        return model, ib.losses.logistic, ib.optim.GD(), p, dict(steps=8, step_size=1.0, n_records=32,
                                                                 record_end_to_end=False)

    def lazy():
        X = rng.standard_normal((60, 10))
        p = Problem(X / np.linalg.norm(X, axis=1, keepdims=True), rng.standard_normal(60), name="lazy-vs-rich size")
        model = MLP(10, (512,), activation="relu", parameterization="ntk", symmetric_init=True)
        return model, ib.losses.square, ib.optim.GD(), p, dict(steps=8, step_size=0.1, n_records=30)

    def flow(solver):
        def build():
            p = ib.problems.sparse_regression(p_flow // 2, p_flow, 3, n_test=0, seed=0)
            return LinearModel(p_flow), ib.losses.square, ib.optim.Flow(solver=solver), p, dict(time_horizon=1.0,
                                                                                                 n_records=16)
        return build

    return [
        Case("diagonal network (sparse regression)", diagonal, scales, notes=f"n={n}, d={d}, GD"),
        Case("deep matrix completion (depth 3)", factorized, scales, notes=f"{size}x{size}, {m_obs} observed"),
        Case("random-labels MLP", random_labels, scales, notes=f"64-{width}-1 relu with biases, n={n_rl}, logistic"),
        Case("lazy-vs-rich MLP", lazy, lambda M: {"output_scale": np.geomspace(0.1, 100, M)},
             notes="10-512-1 relu, ntk, n=60"),
        Case("gradient flow, tsit5", flow("tsit5"), scales, notes=f"linear model P={p_flow}, n={p_flow // 2}"),
        Case("gradient flow, kvaerno5", flow("kvaerno5"), scales,
             notes=f"linear model P={p_flow}, n={p_flow // 2}; the P×P Jacobian and its LU factors"),
    ]


def measure_footprints(quick: bool = True, progress: Callable[[str], None] | None = None,
                       cases: list[Case] | None = None) -> list[dict]:
    """:func:`measure_case` for every case (default: :func:`default_cases`)."""
    say = progress or (lambda msg: None)
    rows = []
    for case in cases if cases is not None else default_cases(quick):
        say(f"memory: {case.name}")
        rows.append(measure_case(case))
    return rows


def format_footprints(rows: list[dict]) -> str:
    """One line per case: measured and estimated bytes per configuration and their ratio."""
    lines = ["memory per configuration (XLA buffer assignment, slope between two sweep sizes) vs the chunker's estimate:"]
    for r in rows:
        ratio = r["ratio_measured_to_estimate"]
        lines.append(f"  {r['case']}: P={r['n_params']}, measured {_kib(r['measured_per_config_bytes'])}, estimate "
                     f"{_kib(r['estimate_per_config_bytes'])} (ratio {ratio:.2f})"
                     if ratio is not None else
                     f"  {r['case']}: not measured (the backend reports no memory analysis)")
    return "\n".join(lines)


def _kib(x) -> str:
    return "-" if x is None else f"{x / 1024:.1f} KiB"
