"""Training as one compiled program: a scan over steps, vmapped over a grid of configurations.

``train(model, loss, optimizer, problem, steps=..., hparams=grid(...))`` runs every
configuration of the sweep (init scale, step size, seed, ...) in a single jit-compiled
program: the configurations are a vmapped leading axis, the steps a ``lax.fori_loop``
inside a ``lax.scan`` over log-spaced recording points. Gradient flow is the same sweep
around ``diffrax.diffeqsolve``.

A configuration whose loss or parameters become non-finite is flagged ``diverged`` and
frozen at its last finite record point (step methods: the loss is checked at every step,
the parameters at every record point; gradient flow: at the end); the others run on.
Sweeps larger than ``chunk_size`` (by default: larger than the device's memory allows)
run in chunks of one compiled shape, with identical numbers. Compiled programs are kept
for later calls with the same sweep shape (:mod:`implicit_bias.compilation`).
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, NamedTuple

import diffrax
import jax
import jax.numpy as jnp
import numpy as np
import optax

from implicit_bias import compilation, memory, progress
from implicit_bias.errors import InputError
from implicit_bias.hparams import HParam, table, validate
from implicit_bias.keys import seed_keys
from implicit_bias.losses import Loss
from implicit_bias.models.base import Model
from implicit_bias.models.user import model_factory
from implicit_bias.optim.base import Optimizer
from implicit_bias.optim.flow import Flow
from implicit_bias.problems.problem import Problem
from implicit_bias.sweeps import as_hparams, log_spaced_steps, log_spaced_times

RecordFn = Callable[[Any, Mapping[str, jax.Array], Mapping[str, jax.Array]], dict]

DTYPES = {"float64": jnp.float64, "float32": jnp.float32}
#: the engine's own swept quantities (a model's and an optimizer's are declared by them).
ENGINE_HPARAMS = (
    HParam("seed", int, 0, "keys the initialization and the minibatch order", low=0),
    HParam("step_size", float, None, "step size h (step methods; a modified flow declares its own)", low=0.0,
           low_open=True),
    HParam("batch_size", int, None, "minibatch size, swept in one program (SGD)", low=1),
)
#: hyper-parameters that are integers (the rest are floats of the run's dtype).
INT_HPARAMS = tuple(h.name for h in ENGINE_HPARAMS if h.kind is int)


def declared_hparams(model: Model, optimizer: Optimizer) -> dict[str, HParam]:
    """Every quantity a sweep of (model, optimizer) may set: the engine's own (``seed``, and ``step_size`` and
    ``batch_size`` for step methods), the model's and the optimizer's declarations. A flow that reads a step
    size (a modified flow) declares its own."""
    own = ENGINE_HPARAMS if optimizer.kind == "steps" else tuple(h for h in ENGINE_HPARAMS if h.name == "seed")
    try:
        return table(own, model.declared().values(), optimizer.declared().values())
    except TypeError as err:
        raise InputError(f"model '{model.name}' and optimizer '{optimizer.name}': {err}") from None


def _check_components(model: Any, optimizer: Any) -> None:
    """InputError unless model and optimizer derive from the bases the engine is written against."""
    if not isinstance(model, Model):
        raise InputError(f"the model must be an implicit_bias Model (models.base.Model), got {type(model).__name__}; "
                         "wrap your own parameterization with implicit_bias.models.user_model")
    if not isinstance(optimizer, Optimizer):
        raise InputError(f"the optimizer must be an implicit_bias Optimizer (optim.base.Optimizer), "
                         f"got {type(optimizer).__name__}")
#: open ledgers of :func:`solve_ledger`; each collects (description, configurations, failed solves) per flow run.
_SOLVE_LEDGERS: list[list[tuple[str, int, int]]] = []


@contextlib.contextmanager
def solve_ledger():
    """Collect, for every gradient-flow sweep run inside the block, (description, configurations,
    configurations whose ODE solver stopped before the horizon)."""
    entries: list[tuple[str, int, int]] = []
    _SOLVE_LEDGERS.append(entries)
    try:
        yield entries
    finally:
        _SOLVE_LEDGERS.remove(entries)


#: ODE solvers that factor a Jacobian (their memory grows like the number of parameters squared).
IMPLICIT_SOLVERS = ("kvaerno3", "kvaerno4", "kvaerno5", "auto")


@dataclass
class TrainResult:
    """Everything a sweep produced; arrays have a leading axis of M configurations.

    Attributes:
      params: final parameters (pytree, leading axis M).
      end_to_end: (M, ...) final end-to-end predictors.
      steps: (R,) recorded steps (or times, for gradient flow; see ``time_axis``).
      records: name -> (M, R, ...) recorded metrics ("loss", "log_loss", "w", ...).
      hparams: name -> (M,) the configuration grid.
      diverged: (M,) bool, a non-finite loss or iterate was met; the run was frozen at its
        last finite record point (its later records repeat that point).
      diverged_at: (M,) the first step k whose iterate θ_k gave a non-finite loss (or the
        record step where a non-finite iterate was found; the time, for gradient flow), -1 if none.
      converged: (M,) bool, see :func:`train`.
      final_loss: (M,) full-batch training loss at the end.
      solver_ok: (M,) bool, the ODE solver finished (always True for step methods).
      solver_steps: (M,) number of solver steps (gradient flow), or the step count.
      compile_seconds, run_seconds: wall time split into compilation and execution.
    """

    params: Any
    end_to_end: np.ndarray
    steps: np.ndarray
    records: dict[str, np.ndarray]
    hparams: dict[str, np.ndarray]
    diverged: np.ndarray
    diverged_at: np.ndarray
    converged: np.ndarray
    final_loss: np.ndarray
    solver_ok: np.ndarray
    solver_steps: np.ndarray
    time_axis: str = "step"
    compile_seconds: float = 0.0
    run_seconds: float = 0.0
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def n_configs(self) -> int:
        return int(self.diverged.shape[0])

    def select(self, index) -> "TrainResult":
        """The configurations ``index`` (an index array or boolean mask over M) as a TrainResult of their own."""
        import dataclasses

        index = np.asarray(index)
        take = lambda x: np.asarray(x)[index]  # noqa: E731
        return dataclasses.replace(
            self, params=jax.tree_util.tree_map(take, self.params), end_to_end=take(self.end_to_end),
            records={k: take(v) for k, v in self.records.items()}, hparams={k: take(v) for k, v in self.hparams.items()},
            diverged=take(self.diverged), diverged_at=take(self.diverged_at), converged=take(self.converged),
            final_loss=take(self.final_loss), solver_ok=take(self.solver_ok), solver_steps=take(self.solver_steps))

    def metrics_frame(self, series: str = "train", metrics: tuple[str, ...] | None = None):
        """Long-format table (series, config, step, metric, value, <hparams>) of scalar records."""
        import pandas as pd

        frames = []
        names = metrics or tuple(k for k, v in self.records.items() if v.ndim == 2)
        M, R = self.n_configs, len(self.steps)
        cfg = np.repeat(np.arange(M), R)
        stp = np.tile(self.steps, M)
        for name in names:
            values = np.asarray(self.records[name], dtype=np.float64)
            df = pd.DataFrame({"series": series, "config": cfg, "step": stp, "metric": name,
                               "value": values.reshape(-1)})
            for key, arr in self.hparams.items():
                df[key] = np.repeat(np.asarray(arr, dtype=np.float64), R)
            frames.append(df)
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


class _State(NamedTuple):
    params: Any
    opt_state: Any
    key: jax.Array
    diverged: jax.Array
    diverged_at: jax.Array


def _tree_where(cond: jax.Array, a: Any, b: Any) -> Any:
    return jax.tree_util.tree_map(lambda x, y: jnp.where(cond, x, y), a, b)


def _all_finite(tree: Any) -> jax.Array:
    leaves = [jnp.all(jnp.isfinite(x)) for x in jax.tree_util.tree_leaves(tree)
              if jnp.issubdtype(jnp.asarray(x).dtype, jnp.inexact)]
    return jnp.all(jnp.stack(leaves)) if leaves else jnp.array(True)


def _cast(tree: Any, dtype: Any) -> Any:
    return jax.tree_util.tree_map(
        lambda x: x.astype(dtype) if jnp.issubdtype(jnp.asarray(x).dtype, jnp.floating) else x, tree)


def _epoch_order(key: jax.Array, k: jax.Array, n: int, batch_size: Any) -> tuple[jax.Array, jax.Array]:
    """(permutation of the samples for step k's epoch, k's position j in the epoch); m = n // batch_size
    minibatches per epoch, each epoch reshuffled (sampling without replacement)."""
    per_epoch = n // batch_size
    epoch, j = k // per_epoch, k % per_epoch
    return jax.random.permutation(jax.random.fold_in(key, epoch), n), j


def _batch_indices(key: jax.Array, k: jax.Array, n: int, batch_size: int) -> jax.Array:
    """Indices (batch_size,) of minibatch k: positions j·B … j·B + B − 1 of its epoch's permutation."""
    perm, j = _epoch_order(key, k, n, batch_size)
    return jax.lax.dynamic_slice(perm, (j * batch_size,), (batch_size,))


def default_record(model: Any, loss: Loss, end_to_end: bool) -> RecordFn:
    """Records the full-batch loss, its log and (optionally) the end-to-end predictor."""

    def record(params, hp, data):
        f, weights = model.predict(params, data["X"]), data.get("weights")
        out = {"loss": loss.value(f, data["y"], weights), "log_loss": loss.log_value(f, data["y"], weights)}
        if end_to_end:
            out["w"] = model.end_to_end(params)
        return out

    return record


def _objective(model: Model, loss: Loss, optimizer: Optimizer) -> Callable:
    """objective(params, X, y, hp): L (or log L), then the optimizer's own modification
    (``optimizer.modify_objective(objective)``, e.g. L + λ‖∇L‖²; the identity for most)."""
    log = optimizer.uses_log_loss

    def objective(params, X, y, hp):
        f = model.predict(params, X)
        weights = hp.get("sample_weights")  # set by a swept batch size (see _swept_batch)
        return loss.log_value(f, y, weights) if log else loss.value(f, y, weights)

    return optimizer.modify_objective(objective)


def _init_params(model: Any, hp: Mapping[str, jax.Array], dtype: Any) -> tuple[Any, jax.Array]:
    k_init, k_run = seed_keys(hp["seed"])
    return _cast(model.init(hp, k_init), dtype), k_run


#: steps traced per loop iteration: fewer loop trips (on GPU each one costs a host round trip).
_UNROLL = 4


def _swept_batch(key: jax.Array, k: jax.Array, n: int, batch_size: jax.Array, dtype: Any) -> tuple[jax.Array, jax.Array]:
    """Minibatch k for a traced batch size B as (indices (n,), weights (n,)): the same B samples as
    :func:`_batch_indices` (first B indices carry weight 1/B), padded to a fixed n with weight 0."""
    perm, j = _epoch_order(key, k, n, batch_size)
    slots = jnp.arange(n)
    return perm[(j * batch_size + slots) % n], jnp.where(slots < batch_size, 1.0 / batch_size, 0.0).astype(dtype)


def _step_program(model, loss, optimizer, record, bounds, n, dtype):
    """The jitted program for step-based optimizers: (state, records, hp, data, own, i0, i1) -> (state, records).

    ``data`` holds the arrays every configuration shares (X, y, ...); ``own`` a configuration's own arrays
    (leading axis M, vmapped: its targets ``y`` or sample ``weights``), which replace the shared ones.

    One call runs the recording segments i0 … i1 − 1 (segment i takes the steps bounds[i] … bounds[i+1] − 1
    and writes record i + 1); a call with i0 = 0 first initializes the state and writes record 0. The host
    runs the whole horizon in one call, or in several when a progress bar listens (it reports between
    calls): the same compiled program either way, so it is served from JAX's persistent cache.

    Divergence is checked cheaply: every step looks at the scalar loss it computes anyway
    (a sticky per-configuration flag and the first bad step); the parameters are checked
    for finiteness once per recording segment, and a configuration found diverged is put
    back to its state at the start of the segment, i.e. frozen at its last finite record
    point. No extra pass over the parameters is made inside the step loop.
    """
    objective = _objective(model, loss, optimizer)
    batch = optimizer.batch_size
    value_and_grad = jax.value_and_grad(objective)

    def init_state(hp):
        params, key = _init_params(model, hp, dtype)
        opt_state = optimizer.transform(hp).init(params)
        return _State(params, opt_state, key, jnp.array(False), jnp.array(-1))

    def one_step(k, state: _State, hp, data, own):
        data = {**data, **own}
        tx = optimizer.transform(hp)
        X, y = data["X"], data["y"]
        if "weights" in data:  # a configuration's own sample weights (full batch only, see train)
            hp = {**hp, "sample_weights": data["weights"]}
        if batch is not None and batch < n:
            idx = _batch_indices(state.key, k, n, batch)
            X, y = X[idx], y[idx]
        elif "batch_size" in hp:
            idx, weights = _swept_batch(state.key, k, n, hp["batch_size"], dtype)
            X, y, hp = X[idx], y[idx], {**hp, "sample_weights": weights}
        step_key = jax.random.fold_in(state.key, -k - 1)
        y = optimizer.perturb_targets(y, hp, step_key)
        hp = {**hp, **optimizer.draw(hp, step_key)}
        value, grads = value_and_grad(state.params, X, y, hp)
        updates, opt_state = tx.update(grads, state.opt_state, state.params)
        params = optax.apply_updates(state.params, updates)
        ok = jnp.isfinite(value)
        return _State(params, opt_state, state.key, state.diverged | ~ok,
                      jnp.where(state.diverged | ok, state.diverged_at, k))

    def close_segment(start: _State, end: _State, hi):
        """Flag non-finite iterates at the segment's end; diverged configurations go back to ``start``."""
        finite = _all_finite(end.params) & _all_finite(end.opt_state)
        bad = end.diverged | ~finite
        at = jnp.where(end.diverged | finite, end.diverged_at, hi)
        return _State(_tree_where(bad, start.params, end.params), _tree_where(bad, start.opt_state, end.opt_state),
                      end.key, bad, at)

    def write(recs, i, values):
        return jax.tree_util.tree_map(lambda r, v: jax.lax.dynamic_update_index_in_dim(r, v, i, 0), recs, values)

    def program(state, recs, hp, data, own, i0, i1):
        step = jax.vmap(one_step, in_axes=(None, 0, 0, None, 0))
        rec = jax.vmap(lambda p, h, o: record(p, h, {**data, **o}), in_axes=(0, 0, 0))

        def start(args):
            _, recs = args
            state = jax.vmap(init_state)(hp)
            return state, write(recs, 0, rec(state.params, hp, own))

        state, recs = jax.lax.cond(i0 == 0, start, lambda args: args, (state, recs))

        def block(i, st, lo):
            for j in range(_UNROLL):
                st = step(lo + i * _UNROLL + j, st, hp, data, own)
            return st

        def segment(i, carry):
            state, recs = carry
            lo, hi = bounds[i], bounds[i + 1]
            blocks = (hi - lo) // _UNROLL
            end = jax.lax.fori_loop(0, blocks, lambda b, st: block(b, st, lo), state)
            end = jax.lax.fori_loop(lo + blocks * _UNROLL, hi, lambda k, st: step(k, st, hp, data, own), end)
            end = jax.vmap(close_segment, in_axes=(0, 0, None))(state, end, hi)
            return end, write(recs, i + 1, rec(end.params, hp, own))

        return jax.lax.fori_loop(i0, i1, segment, (state, recs))

    def empty(hp, data, own):
        """Placeholders of the right shapes for the first call: (state, records (R, M, ...))."""
        state = jax.eval_shape(jax.vmap(init_state), hp)
        first = jax.eval_shape(lambda p: jax.vmap(lambda q, h, o: record(q, h, {**data, **o}))(p, hp, own),
                               state.params)
        zeros = lambda x: jnp.zeros(x.shape, x.dtype)  # noqa: E731
        recs = jax.tree_util.tree_map(lambda x: jnp.zeros((len(bounds),) + x.shape, x.dtype), first)
        return jax.tree_util.tree_map(zeros, state), recs

    return jax.jit(program, donate_argnums=(0, 1), compiler_options=compilation.compiler_options(dtype)), empty


def _segment_cuts(bounds: np.ndarray, reporting: bool, pieces: int = 20) -> list[int]:
    """Record indices where the host splits a step run: [0, R−1] alone, or about ``pieces`` calls of
    similar numbers of steps when a progress bar listens."""
    last = len(bounds) - 1
    if not reporting or last <= 1:
        return [0, last]
    targets = np.linspace(bounds[0], bounds[-1], pieces + 1)[1:-1]
    cuts = np.searchsorted(bounds, targets)
    return sorted({0, last, *(int(c) for c in cuts if 0 < c < last)})


def _flow_program(model, loss, flow, record, times, dtype):
    """The jitted program for gradient flow (diffrax), vmapped over configurations: (hp, data, own) -> results
    (``own``: each configuration's own arrays, as in :func:`_step_program`)."""
    objective = _objective(model, loss, flow)
    grad = jax.grad(objective)
    solver = flow.make_solver()
    controller = diffrax.PIDController(rtol=flow.rtol, atol=flow.atol)
    t1 = float(times[-1])

    def solve(hp, data, own):
        data = {**data, **own}
        params, _ = _init_params(model, hp, dtype)
        hp_grad = {**hp, "sample_weights": data["weights"]} if "weights" in data else hp
        term = diffrax.ODETerm(lambda t, p, args: jax.tree_util.tree_map(jnp.negative,
                                                                         grad(p, data["X"], data["y"], hp_grad)))
        saveat = diffrax.SaveAt(subs=[diffrax.SubSaveAt(ts=times, fn=lambda t, p, args: record(p, hp, data)),
                                      diffrax.SubSaveAt(t1=True)])
        sol = diffrax.diffeqsolve(term, solver, t0=0.0, t1=t1, dt0=None, y0=params, saveat=saveat,
                                  stepsize_controller=controller, max_steps=flow.max_steps, throw=False)
        recs, final = sol.ys
        final = jax.tree_util.tree_map(lambda x: x[-1], final)
        ok = sol.result == diffrax.RESULTS.successful
        finite = _all_finite(final)
        return final, recs, ~finite, jnp.where(finite, -1.0, t1), ok, sol.stats["num_steps"]

    return jax.jit(jax.vmap(solve, in_axes=(0, None, 0)), compiler_options=compilation.compiler_options(dtype))


def _auto_chunk(model, optimizer, record, hp, data, dtype, n_records, M, loss: Loss | None = None) -> int:
    """Configurations per chunk so the sweep's estimated footprint fits the device (see :mod:`memory`).

    Per configuration: ``memory.STATE_COPIES`` × (parameters + optimizer state), the records, and the work
    of one step: the peak of the live intermediates of one configuration's step (value-and-grad of the
    objective on its minibatch, then the optimizer's update; :func:`memory.step_work_bytes`, e.g. the
    n × width activations of an MLP), plus for gradient flow the solver's stages and, for an implicit solver,
    its P × P Jacobians (:func:`memory.flow_work_bytes`). ``loss`` defaults to the square loss (the work
    depends on it only through O(n) numbers).
    """
    jdtype = DTYPES[dtype]
    itemsize = jnp.dtype(jdtype).itemsize
    hp1 = {k: jax.ShapeDtypeStruct((), v.dtype) for k, v in hp.items()}
    params = jax.eval_shape(lambda h: _init_params(model, h, jdtype)[0], hp1)
    recs = jax.eval_shape(lambda p, h: record(p, h, data), params, hp1)
    objective = _objective(model, loss if loss is not None else Loss("square"), optimizer)
    is_flow = optimizer.kind == "flow"
    batch = None if is_flow else optimizer.batch_size

    def one_step(params, hp):
        X, y = data["X"], data["y"]
        if batch is not None and batch < X.shape[0]:
            X, y = X[:batch], y[:batch]  # the gathered minibatch is a per-configuration array
        if is_flow:
            return jax.grad(objective)(params, X, y, hp)
        hp = {**hp, **optimizer.draw(hp, jax.random.PRNGKey(0))}  # the step's random draws (a dropout mask)
        tx = optimizer.transform(hp)
        _, grads = jax.value_and_grad(objective)(params, X, y, hp)
        updates, opt_state = tx.update(grads, tx.init(params), params)
        return optax.apply_updates(params, updates), opt_state

    state = memory.tree_bytes(params)
    if not is_flow:
        state += memory.tree_bytes(jax.eval_shape(lambda p, h: optimizer.transform(h).init(p), params, hp1))
    work = memory.step_work_bytes(one_step, params, hp1)
    if is_flow:
        n_par = sum(int(np.prod(x.shape)) for x in jax.tree_util.tree_leaves(params))
        work += memory.flow_work_bytes(state, n_par, itemsize, optimizer.solver in IMPLICIT_SOLVERS)
    per_config = memory.per_config_bytes(state, memory.tree_bytes(recs), n_records, work)
    return memory.auto_chunk_size(M, per_config)


def _resolve_solver(model, loss, flow, hp, data, dtype, horizon):
    """``Flow(solver="auto")`` made concrete from the largest Hessian eigenvalue at initialization."""
    from implicit_bias.optim.flow import top_curvature

    objective = _objective(model, loss, flow)

    def curvature(h):
        params, _ = _init_params(model, h, DTYPES[dtype])
        return top_curvature(objective, params, data["X"], data["y"], h)

    lam = float(jnp.max(jax.jit(jax.vmap(curvature))(jax.tree_util.tree_map(jnp.asarray, hp))))
    params = jax.eval_shape(lambda h: _init_params(model, h, DTYPES[dtype])[0],
                            {k: jax.ShapeDtypeStruct((), v.dtype) for k, v in hp.items()})
    n_params = sum(int(np.prod(x.shape)) for x in jax.tree_util.tree_leaves(params))
    return flow.resolved(lam if np.isfinite(lam) else 0.0, float(horizon), n_params)


def _pad(hp: dict[str, np.ndarray], size: int) -> dict[str, np.ndarray]:
    """Arrays with a leading configuration axis M, padded to ``size`` by repeating the last configuration."""
    if not hp:
        return hp
    M = len(next(iter(hp.values())))
    if M == size:
        return hp
    return {k: np.concatenate([v, np.repeat(v[-1:], size - M, axis=0)]) for k, v in hp.items()}


#: the per-configuration data :func:`train` accepts (``config_data``), each (M, n).
CONFIG_DATA = ("y", "weights")


def _config_data(config_data: Mapping[str, Any], n: int, dtype: Any) -> dict[str, np.ndarray]:
    """Each configuration's own targets y (M, n) and sample weights (M, n) (rows scaled to sum to 1), checked."""
    unknown = sorted(set(config_data) - set(CONFIG_DATA))
    if unknown:
        raise InputError(f"config_data takes {', '.join(CONFIG_DATA)}; got {', '.join(unknown)}")
    out, lengths = {}, set()
    for k, v in config_data.items():
        arr = np.asarray(v, dtype=np.float64)
        if arr.ndim != 2 or arr.shape[1] != n:
            raise InputError(f"config_data['{k}'] must have shape (M, n) with n = {n}, got {arr.shape}")
        if not np.all(np.isfinite(arr)):
            raise InputError(f"config_data['{k}'] must be finite")
        if k == "weights":
            total = arr.sum(axis=1, keepdims=True)
            if np.any(arr < 0) or np.any(total <= 0):
                raise InputError("config_data['weights'] must be >= 0 with a positive sum in every configuration")
            arr = arr / total
        lengths.add(arr.shape[0])
        out[k] = arr.astype(dtype)
    if len(lengths) > 1:
        raise InputError(f"config_data arrays have different numbers of configurations: {sorted(lengths)}")
    return out


def train(model: Any, loss: Loss, optimizer: Any, problem: Problem, *, steps: int | None = None,
          time_horizon: float | None = None, step_size: float | None = None,
          hparams: Mapping[str, Any] | None = None, n_records: int = 64,
          record: RecordFn | None = None, record_end_to_end: bool = True,
          dtype: str = "float64", chunk_size: int | None = None,
          record_steps: np.ndarray | None = None, converged_rtol: float = 1e-10,
          config_data: Mapping[str, Any] | None = None, description: str = "training") -> TrainResult:
    """Train every configuration of a sweep in one compiled program.

    Args:
      model, loss, optimizer: what to train and how (a step optimizer or :class:`~implicit_bias.optim.Flow`);
        ``model`` may also be a registered name or a user's ``"FILE.py:factory"`` (:mod:`implicit_bias.models.user`),
        built at the problem's number of features.
      problem: the data; X (n, d), y (n,).
      steps: number of steps (step optimizers).
      time_horizon: final time T (gradient flow).
      step_size: the step size h, unless swept in ``hparams["step_size"]``.
      hparams: name -> scalar or (M,) array; scalars are broadcast. ``seed`` (int) keys
        the initialization and the minibatch order; default 0.
      n_records: about how many log-spaced points to record (0 and the end included).
      record: ``record(params, hp, data) -> dict`` of metrics; default: loss, log_loss, w.
        ``data`` holds X, y and, when the problem has them, X_test, y_test.
      dtype: "float64" (default) or "float32".
      chunk_size: run at most this many configurations at a time (same numbers). None:
        chosen from the device's free memory and the per-configuration footprint
        (state and records), so a sweep larger than memory runs in chunks.
      converged_rtol: a square-loss run has converged when L_final ≤ rtol · L_0; an
        exp-tailed run when every training point is classified correctly.
      config_data: each configuration's own data, arrays with a leading axis M: ``"y"`` (M, n) its targets,
        ``"weights"`` (M, n) its sample weights (the loss is Σ_i w_i ℓ_i; each row is scaled to sum to 1; rows
        of weight 0 are not trained on; full batch only). The records, ``final_loss`` and ``converged`` use
        them. Scalar hyper-parameters are broadcast to M.

    Returns:
      A :class:`TrainResult`.
    """
    if dtype not in DTYPES:
        raise InputError(f"dtype must be float64 or float32, got {dtype!r}")
    jdtype = DTYPES[dtype]
    if isinstance(model, str):  # a registered name or the user's FILE.py:factory, at the problem's size
        model = model_factory(model)(problem.n_features)
    _check_components(model, optimizer)
    optimizer = optimizer.bind(model)
    is_flow = optimizer.kind == "flow"
    hp = as_hparams(hparams or {}, int_keys=INT_HPARAMS)
    if not is_flow:
        if steps is None or steps <= 0:
            raise InputError(f"number of steps must be positive, got {steps}")
        if "step_size" not in hp:
            if step_size is None:
                raise InputError("a step size is required (step_size=... or hparams['step_size'])")
            hp = as_hparams({**hp, "step_size": step_size}, int_keys=INT_HPARAMS)
        bs = optimizer.batch_size
        if bs is not None and bs > problem.n_samples:
            raise InputError(f"batch size {bs} is larger than the number of samples {problem.n_samples}")
        if "batch_size" in hp:
            if bs is not None:
                raise InputError(f"the batch size is swept in hparams; the optimizer's own ({bs}) must be None")
            if not optimizer.supports_swept_batch:
                raise InputError(f"optimizer '{optimizer.name}' does not take a swept batch size")
            swept = np.asarray(hp["batch_size"])
            if np.any(swept < 1) or np.any(swept > problem.n_samples):
                raise InputError(f"swept batch sizes must lie between 1 and the number of samples "
                                 f"{problem.n_samples}, got {sorted(set(swept.tolist()))}")
    else:
        if time_horizon is None or time_horizon <= 0:
            raise InputError(f"gradient flow needs a positive time horizon, got {time_horizon}")
        if "batch_size" in hp:
            raise InputError("gradient flow takes no batch size; sweep it with a step method (sgd)")
    if "seed" not in hp:
        hp = as_hparams({**hp, "seed": 0}, int_keys=INT_HPARAMS)
    own = _config_data(config_data or {}, problem.n_samples, np.float32 if dtype == "float32" else np.float64)
    if own:
        m_own, m_hp = len(next(iter(own.values()))), len(hp["seed"])
        if m_hp not in (1, m_own):
            raise InputError(f"config_data has {m_own} configurations, the hyper-parameters {m_hp}")
        hp = {k: np.repeat(v, m_own, axis=0) if m_hp == 1 else v for k, v in hp.items()}
        if "weights" in own and (optimizer.batch_size is not None or "batch_size" in hp):
            raise InputError("per-configuration sample weights take full-batch steps (no batch size)")
    hp = validate(hp, declared_hparams(model, optimizer), owner=f"model '{model.name}' with optimizer '{optimizer.name}'")
    M = len(hp["seed"])
    for component in (model, optimizer):  # the components' own values of what they declare, when not swept
        for spec in component.declared().values():
            if spec.name not in hp and component.own_value(spec.name) is not None:
                spec.check(component.own_value(spec.name), f"{component.name}:")
    model.check_hparams(hp)
    optimizer.check_hparams(hp)
    hp = {k: (v.astype(np.float32) if dtype == "float32" and v.dtype == np.float64 else v) for k, v in hp.items()}

    data = {"X": problem.X, "y": problem.y}
    if problem.has_test:
        data.update(X_test=problem.X_test, y_test=problem.y_test)
    data = {k: jnp.asarray(v, dtype=jdtype) if np.issubdtype(np.asarray(v).dtype, np.floating) else jnp.asarray(v)
            for k, v in data.items()}
    record_key = record if record is not None else ("default", record_end_to_end)
    record = record or default_record(model, loss, record_end_to_end)

    if isinstance(optimizer, Flow) and optimizer.solver == "auto":
        optimizer = _resolve_solver(model, loss, optimizer, hp, data, dtype, time_horizon)
    if is_flow:
        axis = np.asarray(record_steps, dtype=np.float64) if record_steps is not None else log_spaced_times(time_horizon, n_records)
    else:
        axis = np.asarray(record_steps, dtype=np.int64) if record_steps is not None else log_spaced_steps(steps, n_records)
    key = compilation.program_key("flow" if is_flow else "steps", model, loss, optimizer, record_key,
                                  tuple(axis.tolist()), problem.n_samples, dtype)

    first_data = {**data, **{k: jnp.asarray(v[0]) for k, v in own.items()}}  # what one configuration sees
    size = min(M, chunk_size) if chunk_size else _auto_chunk(model, optimizer, record, hp, first_data, dtype,
                                                             len(axis), M, loss=loss)
    chunks = [jax.tree_util.tree_map(jnp.asarray, _pad({k: v[i:i + size] for k, v in hp.items()}, size))
              for i in range(0, M, size)]
    own_chunks = [jax.tree_util.tree_map(jnp.asarray, _pad({k: v[i:i + size] for k, v in own.items()}, size))
                  for i in range(0, M, size)]
    sizes = [min(size, M - i) for i in range(0, M, size)]
    t_start = time.perf_counter()
    if is_flow:
        program = _flow_program(model, loss, optimizer, record, jnp.asarray(axis, dtype=jdtype), jdtype)
        compiled, cached = compilation.cached_compile(key, lambda: program, chunks[0], data, own_chunks[0])
        run_chunk = lambda hp_chunk, own_chunk, base: compiled(hp_chunk, data, own_chunk)  # noqa: E731
    else:
        program, empty = _step_program(model, loss, optimizer, record, jnp.asarray(axis), problem.n_samples, jdtype)
        first = empty(chunks[0], data, own_chunks[0])
        index = lambda i: jnp.asarray(i, dtype=jnp.int32)  # noqa: E731
        compiled, cached = compilation.cached_compile(key, lambda: program, *first, chunks[0], data, own_chunks[0],
                                                      index(0), index(1))
        # the host splits the run into calls of one program only to report progress between them
        cuts = _segment_cuts(axis, progress.listening())

        def run_chunk(hp_chunk, own_chunk, base):
            state, recs = empty(hp_chunk, data, own_chunk) if base else first
            for i0, i1 in zip(cuts[:-1], cuts[1:]):
                state, recs = compiled(state, recs, hp_chunk, data, own_chunk, index(i0), index(i1))
                if i1 < cuts[-1]:
                    progress.tick(base + float(axis[i1]))
            recs = jax.tree_util.tree_map(lambda r: jnp.swapaxes(r, 0, 1), recs)  # (M, R, ...)
            done = jnp.full(state.diverged.shape, axis[-1])
            return state.params, recs, state.diverged, state.diverged_at, jnp.ones_like(state.diverged), done
    t_compiled = time.perf_counter()
    progress.start(description, float(axis[-1]) * len(chunks))
    outs = []
    try:
        for i, (chunk, own_chunk, m) in enumerate(zip(chunks, own_chunks, sizes)):
            base = float(axis[-1]) * i
            out = run_chunk(chunk, own_chunk, base)
            outs.append(jax.tree_util.tree_map(lambda x: np.asarray(x)[:m], jax.block_until_ready(out)))
            progress.tick(base + float(axis[-1]))
    finally:
        progress.stop()
    t_done = time.perf_counter()
    params, recs, diverged, diverged_at, solver_ok, solver_steps = (
        jax.tree_util.tree_map(lambda *xs: np.concatenate(xs, 0), *[o[j] for o in outs]) for j in range(6))

    final_params_j = jax.tree_util.tree_map(jnp.asarray, params)
    e2e = np.asarray(jax.vmap(model.end_to_end)(final_params_j))
    f_final = jax.vmap(model.predict, in_axes=(0, None))(final_params_j, data["X"])
    ys = jnp.asarray(own["y"]) if "y" in own else jnp.broadcast_to(data["y"], f_final.shape)
    weights = jnp.asarray(own["weights"]) if "weights" in own else None
    final_loss = np.asarray(jax.vmap(loss.value, in_axes=(0, 0, None if weights is None else 0))(f_final, ys, weights))
    if loss.is_classification:
        margins = np.asarray(f_final) * np.asarray(ys)
        used = np.ones_like(margins, dtype=bool) if weights is None else np.asarray(weights) > 0
        converged = np.all((margins > 0) | ~used, axis=1)
    else:
        f0 = np.asarray(recs["loss"])[:, 0] if "loss" in recs else np.full(M, np.inf)
        converged = final_loss <= converged_rtol * np.maximum(f0, np.finfo(np.float64).tiny)
    converged = converged & ~np.asarray(diverged) & np.asarray(solver_ok, dtype=bool)
    if is_flow:
        for ledger in _SOLVE_LEDGERS:
            ledger.append((description, M, int(np.sum(~np.asarray(solver_ok, dtype=bool)))))
    return TrainResult(params=params, end_to_end=e2e, steps=axis, records=dict(recs), hparams=hp,
                       diverged=np.asarray(diverged, dtype=bool), diverged_at=np.asarray(diverged_at),
                       converged=converged, final_loss=final_loss,
                       solver_ok=np.asarray(solver_ok, dtype=bool), solver_steps=np.asarray(solver_steps),
                       time_axis="time" if is_flow else "step",
                       compile_seconds=t_compiled - t_start, run_seconds=t_done - t_compiled,
                       info={"dtype": dtype, "chunks": len(chunks), "chunk_size": size,
                             "compile_cached": cached, "peak_bytes": memory.peak_bytes(),
                             **({"solver": optimizer.solver} if is_flow else {})})
