"""Weight decay on a scale-invariant model: an exponential step schedule, and an equilibrium angular update.

On a scale-invariant loss (L(cw) = L(w): ⟨∇L(w), w⟩ = 0, ∇L(cw) = ∇L(w)/c; here f(x) = s⟨w/‖w‖, x⟩
on noisy regression targets, :mod:`implicit_bias.models.scale_invariant`):

1. **Exact algebra** (Li & Arora 2020). GD with coupled weight decay λ and step η,
   w_{k+1} = ρw_k − η∇L(w_k) with ρ = 1 − ηλ, and GD without decay on the growing schedule
   η_k = ηρ^{−(2k+1)} (``exp-step-gd``, growth −2 log ρ) satisfy w̃_k = w_k/ρᵏ: the same directions.
   The entry runs both from the same init and the same minibatches and measures the angle between
   w_k and w̃_k and the mismatch of ρᵏ‖w̃_k‖/‖w_k‖ − 1. With minibatch noise the two stay at
   round-off over the whole run. Full-batch GD's norm shrinks until the effective step crosses
   the stability threshold, η·λ_max(∇²L(w_k)) > 1 + ρ (the Hessian scales as 1/‖w‖²): from then
   on the map amplifies round-off, and the two runs separate in bursts up to O(1) angles (before
   that they agree to round-off). The schedule itself overflows float64 only after about
   354/(−log ρ) steps, far beyond.
2. **Spherical motion equilibrium** (Wan et al. 2021). With heavy-ball momentum μ (v ← μv + ∇L + λw,
   w ← w − ηv) and minibatch noise the norm settles and the angular update per step
   Δ_k = ∠(w_k, w_{k+1}) equilibrates at √(2ηλ/(1 + μ)), independent of the loss and the data;
   claimed for the root mean square of Δ_k over a late window. For μ = 0 the identity
   1 + tan²Δ_k = ‖w_{k+1}‖²/(ρ²‖w_k‖²) is exact (a check of scale invariance).

Two programs: both algebra runs (decay / schedule, full batch / minibatch) as one sweep of
``WeightDecayed(ExponentialStepGD())`` with swept λ, growth and batch size; the momenta and
decays of the equilibrium as one sweep of ``MomentumWeightDecay``. ``model="linear"`` (not
scale-invariant) is the negative control.

References: Li & Arora, "An exponential learning rate schedule for deep learning", ICLR 2020;
Wan, Zhu, Zhang, Sun, "Spherical motion dynamics: learning dynamics of normalized neural network
using SGD and weight decay", NeurIPS 2021; Lobacheva, Kodryan, Chirkova, Malinin, Vetrov, "On the
periodic behavior of neural network training with batch normalization and weight decay", NeurIPS 2021.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from implicit_bias import losses
from implicit_bias.engine import train
from implicit_bias.experiments.registry import Entry
from implicit_bias.models.linear import LinearModel
from implicit_bias.models.scale_invariant import ScaleInvariantLinear
from implicit_bias.optim.coupled_weight_decay import (ExponentialStepGD, MomentumWeightDecay, WeightDecayed,
                                                       equivalent_growth)
from implicit_bias.problems import Problem
from implicit_bias.results import Result, at_least, at_most, close_to, is_true


@dataclass(frozen=True)
class WeightsRecord:
    """Records the raw parameter vector w (hashable, so the compiled program is kept)."""

    def __call__(self, params, hp, data):
        return {"theta": params}


@dataclass(frozen=True)
class Config:
    """Data, model, the algebra runs (η, λ, steps, minibatch), the equilibrium sweep (momenta, decays, window), seeds.

    ``model`` is "scale-invariant" or "linear" (negative control); ``growth_factor`` multiplies the
    schedule's growth (1 is the theory).
    """

    n_samples: int = 64
    n_features: int = 16
    noise: float = 0.5
    output_scale: float = 2.0
    init_scale: float = 1.0
    model: str = "scale-invariant"
    step_size: float = 0.1
    weight_decay: float = 0.01
    batch_size: int = 8
    algebra_steps: int = 2000
    growth_factor: float = 1.0
    momenta: tuple[float, ...] = (0.0, 0.5, 0.9)
    weight_decays: tuple[float, ...] = (0.01, 0.004)
    steps: int = 6000
    window: int = 3000
    equilibrium_tolerance: float = 0.05
    seeds: tuple[int, ...] = (0, 1, 2)


def _problem(config: Config, seed: int) -> Problem:
    """X ~ N(0, I), y = s⟨ŵ*, x⟩ + noise (no direction fits exactly: the minibatch gradients never vanish)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((config.n_samples, config.n_features))
    w = rng.standard_normal(config.n_features)
    y = config.output_scale * X @ (w / np.linalg.norm(w)) + config.noise * rng.standard_normal(config.n_samples)
    return Problem(X, y, name="noisy regression")


def _model(config: Config):
    if config.model == "scale-invariant":
        return ScaleInvariantLinear(config.n_features, init_scale=config.init_scale, output_scale=config.output_scale)
    if config.model == "linear":
        return LinearModel(config.n_features)
    raise ValueError(f"unknown model '{config.model}'; valid: scale-invariant, linear")


def _angle(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Angle between the rows of a and b (…, d), accurate for tiny angles (via ‖â − b̂‖)."""
    an = a / np.linalg.norm(a, axis=-1, keepdims=True)
    bn = b / np.linalg.norm(b, axis=-1, keepdims=True)
    return 2 * np.arcsin(np.clip(np.linalg.norm(an - bn, axis=-1) / 2, 0, 1))


def _algebra(model, problem: Problem, config: Config, seed: int) -> dict:
    """Decay vs schedule, full batch and minibatch: angles, norm mismatch, and η·λ_max(∇²L) along the decayed run."""
    eta, lam, N = config.step_size, config.weight_decay, config.algebra_steps
    rho = 1 - eta * lam
    growth = config.growth_factor * equivalent_growth(eta, lam)
    n = problem.n_samples
    hp = {"step_size": eta, "weight_decay": [lam, 0.0, lam, 0.0], "step_growth": [0.0, growth, 0.0, growth],
          "batch_size": [n, n, config.batch_size, config.batch_size], "init_scale": config.init_scale, "seed": seed}
    out = train(model, losses.square, WeightDecayed(ExponentialStepGD()), problem, steps=N, hparams=hp,
                record=WeightsRecord(), record_steps=np.arange(N + 1), description="decay vs schedule")
    th, k = out.records["theta"], out.steps
    mismatch = lambda i, j: np.abs(rho ** k * np.linalg.norm(th[j], axis=1) / np.linalg.norm(th[i], axis=1) - 1)  # noqa: E731
    X, y = jnp.asarray(problem.X), jnp.asarray(problem.y)
    loss = lambda w: losses.square.value(model.predict(w, X), y)  # noqa: E731
    sharp = np.linalg.eigvalsh(np.asarray(jax.jit(jax.vmap(jax.hessian(loss)))(jnp.asarray(th[0]))))[:, -1]
    return {"steps": k, "gd_angle": _angle(th[0], th[1]), "sgd_angle": _angle(th[2], th[3]),
            "gd_mismatch": mismatch(0, 1), "sgd_mismatch": mismatch(2, 3), "effective_sharpness": eta * sharp,
            "threshold": 1 + rho, "ok": not out.diverged.any()}


def _equilibrium(model, problem: Problem, config: Config, seed: int) -> dict:
    """Heavy ball with decay over (μ, λ): Δ_k over the last ``window`` steps (every step recorded)."""
    mus = np.repeat(config.momenta, len(config.weight_decays))
    lams = np.tile(config.weight_decays, len(config.momenta))
    N, W = config.steps, config.window
    record_steps = np.unique(np.r_[np.round(np.geomspace(1, N, 40)).astype(int), np.arange(N - W, N + 1), 0])
    out = train(model, losses.square, MomentumWeightDecay(batch_size=config.batch_size), problem, steps=N,
                hparams={"step_size": config.step_size, "momentum": mus, "weight_decay": lams,
                         "init_scale": config.init_scale, "seed": seed},
                record=WeightsRecord(), record_steps=record_steps, description="spherical motion")
    th = out.records["theta"][:, -(W + 1):]
    delta = _angle(th[:, :-1], th[:, 1:])
    sq = np.sum(th ** 2, axis=-1)
    half = W // 2
    rho = 1 - config.step_size * lams
    identity = np.mean(np.log1p(np.tan(delta) ** 2), axis=1) - (-2 * np.log(rho) + np.log(sq[:, -1] / sq[:, 0]) / W)
    pred = np.sqrt(2 * config.step_size * lams / (1 + mus))
    # a norm still drifting by a factor r over W/2 steps shifts the mean Δ² by ≈ log(r)/(W/2): its bias on rms Δ
    drift = np.abs(np.log(sq[:, half:].mean(axis=1) / sq[:, :half].mean(axis=1))) / half / (2 * pred ** 2)
    return {"momentum": mus, "weight_decay": lams, "rms": np.sqrt(np.mean(delta ** 2, axis=1)), "pred": pred,
            "drift": drift, "identity": np.where(mus == 0, identity, 0.0), "delta": delta,
            "norm_steps": out.steps, "norms": np.sqrt(np.sum(out.records["theta"] ** 2, axis=-1)),
            "ok": not out.diverged.any()}


def _figure(alg: dict, eq: dict, config: Config):
    from implicit_bias.plotting import color, new_figure

    fig, axes = new_figure(ncols=2, width=12.0)
    ax = axes[0]
    k = alg["steps"]
    ax.semilogy(k[1:], np.maximum(alg["gd_angle"][1:], 1e-17), color=color(0), label="full-batch GD: ∠(w_k, w̃_k)")
    ax.semilogy(k[1:], np.maximum(alg["sgd_angle"][1:], 1e-17), color=color(1), label=f"SGD (B = {config.batch_size})")
    ax.set_xlabel("step k")
    ax.set_ylabel("angle between the decayed run and the exp-schedule run")
    twin = ax.twinx()
    twin.plot(k, alg["effective_sharpness"], color=color(2), linestyle=":", label="η·λ_max(∇²L(w_k))")
    twin.axhline(alg["threshold"], color=color(2), linewidth=0.8)
    twin.set_ylabel("η·λ_max(∇²L(w_k)) (dotted; line: 1 + ρ)")
    ax.set_title("Weight decay = exponential step schedule, until chaos")
    ax.legend(fontsize="small", loc="upper left")
    ax = axes[1]
    W = eq["delta"].shape[1]
    steps = np.arange(config.steps - W, config.steps)
    for i, (mu, lam) in enumerate(zip(eq["momentum"], eq["weight_decay"])):
        if lam != max(config.weight_decays):
            continue
        ax.plot(steps, eq["delta"][i], color=color(i), linewidth=0.5, alpha=0.6)
        ax.axhline(eq["pred"][i], color=color(i), linestyle="--", label=f"μ = {mu:g}: √(2ηλ/(1+μ))")
    ax.set_xlabel("step k")
    ax.set_ylabel("angular update Δ_k")
    ax.set_title(f"Spherical motion equilibrium (η = {config.step_size:g}, λ = {max(config.weight_decays):g})")
    ax.legend(fontsize="small")
    return fig


def run(config: Config) -> Result:
    model = _model(config)
    algs, eqs = [], []
    for seed in config.seeds:
        problem = _problem(config, seed)
        algs.append(_algebra(model, problem, config, seed))
        eqs.append(_equilibrium(model, problem, config, seed))
    before, after, lead, crossed = [], [], [], []
    for a in algs:
        over = np.flatnonzero(a["effective_sharpness"] > a["threshold"])
        cross = int(over[0]) if over.size else len(a["steps"])
        crossed.append(over.size > 0)
        before.append(float(np.max(a["gd_angle"][:cross], initial=0.0)))
        after.append(float(np.max(a["gd_angle"][cross:], initial=0.0)))
        departed = np.flatnonzero(a["gd_angle"] > 1e-10)
        lead.append((int(departed[0]) if departed.size else len(a["steps"])) - cross)
    sgd_angle = max(float(a["sgd_angle"].max()) for a in algs)
    sgd_mismatch = max(float(a["sgd_mismatch"].max()) for a in algs)
    worst = f"worst of {len(config.seeds)} seed(s)"
    claims = [
        at_most(f"SGD (B = {config.batch_size}): max over {config.algebra_steps} steps of ∠(w_k, w̃_k), decay λ vs "
                f"schedule ηρ^(−2k−1) (round-off); {worst}", sgd_angle, 1e-12),
        at_most(f"SGD: max over steps of |ρ^k‖w̃_k‖/‖w_k‖ − 1| (round-off); {worst}", sgd_mismatch, 1e-10),
        at_most("full-batch GD: max of ∠(w_k, w̃_k) before η·λ_max(∇²L(w_k)) first exceeds 1 + ρ (round-off); "
                + worst, max(before), 1e-12),
        at_least("full-batch GD: first step with ∠ > 1e-10 minus the first step beyond 1 + ρ (chaos starts at "
                 f"the stability threshold); {worst}", min(lead), 0.0),
        at_least(f"full-batch GD: max of ∠(w_k, w̃_k) after the crossing (round-off amplified to O(1)); {worst}",
                 min(after), 1e-3),
        is_true("guard: the effective step crosses the stability threshold within the horizon (every seed)",
                all(crossed), kind="guard"),
        is_true("guard: no run diverged", all(a["ok"] for a in algs) and all(e["ok"] for e in eqs), kind="guard"),
    ]
    table = pd.concat([pd.DataFrame({k: e[k] for k in ("momentum", "weight_decay", "rms", "pred", "drift",
                                                          "identity")}).assign(seed=s)
                       for s, e in zip(config.seeds, eqs)], ignore_index=True)
    table["ratio"] = table.rms / table.pred
    for mu in config.momenta:
        rows = table[table.momentum == mu]
        dev = rows.ratio - 1
        claims.append(close_to(f"μ = {mu:g}: rms angular update / √(2ηλ/(1+μ)) over the last {config.window} steps, "
                               f"λ ∈ {list(config.weight_decays)}; {worst}",
                               float(rows.ratio.iloc[int(np.argmax(np.abs(dev.to_numpy())))]), 1.0,
                               config.equilibrium_tolerance))
    claims.append(at_most("guard: the norm has equilibrated (relative bias on rms Δ implied by the drift of ‖w‖² "
                          f"between the window's halves); {worst}", float(table.drift.max()),
                          config.equilibrium_tolerance, kind="guard"))
    if 0.0 in config.momenta:
        claims.append(at_most("μ = 0: |mean log(1 + tan²Δ_k) − (−2 log ρ + log(‖w_end‖²/‖w_start‖²)/W)| "
                              "(exact for a scale-invariant loss)", float(np.abs(table.identity).max()), 1e-10,
                              kind="sanity"))
    frames = [table.melt(id_vars=["momentum", "weight_decay", "seed"], var_name="metric", value_name="value")
              .assign(series="equilibrium", config=lambda f: f.index % len(eqs[0]["rms"]), step=config.steps)]
    a = algs[0]
    for metric in ("gd_angle", "sgd_angle", "gd_mismatch", "sgd_mismatch", "effective_sharpness"):
        frames.append(pd.DataFrame({"series": "algebra", "config": 0, "step": a["steps"], "metric": metric,
                                    "value": a[metric]}))
    notes = [f"seed {s}: threshold crossed at step {int(np.argmax(al['effective_sharpness'] > al['threshold']))}, "
             f"first angle > 1e-10 at step {int(np.argmax(al['gd_angle'] > 1e-10))}"
             for s, al in zip(config.seeds, algs)]
    rho = 1 - config.step_size * config.weight_decay
    notes.append(f"The schedule ηρ^(−2k−1) overflows float64 after about {354.9 / -np.log(rho):.0f} steps.")
    notes.append("Equilibrium ratios (rms Δ / prediction): "
                 + ", ".join(f"μ={r.momentum:g} λ={r.weight_decay:g} s{r.seed}: {r.ratio:.3f}" for r in table.itertuples()))
    if config.model != "scale-invariant" or config.growth_factor != 1.0:
        notes.append(f"NEGATIVE CONTROL: model {config.model}, growth factor {config.growth_factor:g}.")
    return Result("weight-decay-sphere", asdict(config), claims, pd.concat(frames, ignore_index=True),
                  {"weight_decay_sphere": _figure(algs[0], eqs[0], config)}, notes=notes)


ENTRY = Entry(
    name="weight-decay-sphere",
    summary="on a scale-invariant model weight decay is an exponential step schedule (to round-off, until chaos) "
            "and the angular update equilibrates at √(2ηλ/(1+μ))",
    description=("A normalized linear model f(x) = s⟨w/‖w‖, x⟩ on noisy regression: GD with weight decay λ and the "
                 "decay-free run on the step ηρ^(−2k−1), ρ = 1 − ηλ, keep the same direction to round-off — for "
                 "SGD over the whole run, for full-batch GD until η·λ_max(∇²L) crosses 1 + ρ, after which chaos "
                 "amplifies round-off to O(1) angles. Heavy ball with decay and momentum μ settles at the angular "
                 "update √(2ηλ/(1+μ)) per step within 5 %. A small stand-in (n = 64, d = 16), 3 seeds in full mode."),
    paper="Li & Arora 2020, An exponential learning rate schedule for deep learning; Wan et al. 2021, Spherical motion dynamics",
    run=run,
    full=Config(),
    quick=Config(seeds=(0,), algebra_steps=1500, steps=4000, window=2000),
)
