"""Baselines for the sweep benchmark: the per-configuration loops and the hand-batched version.

All three run GD on the diagonal network w = u⊙u − v⊙v, square loss (1/2n)‖Xw − y‖²,
from u = v = α·1, with the gradient ∇_u = 2u⊙g, ∇_v = −2v⊙g, g = Xᵀ(Xw − y)/n:

* :func:`torch_loop`: one configuration at a time, a Python loop over steps, autograd
  (``loss.backward()``) and an in-place update, as the published reference code is written;
* :func:`numpy_loop`: the same with numpy and the gradient written out;
* :func:`numpy_batched`: all configurations as one (M, d) matrix, two matrix products per step
  (float64 or float32: the engine's dtype is compared with the same dtype here);
* :func:`numpy_products`: the two products of :func:`numpy_batched` alone (OpenBLAS), to compare the
  matrix kernels by themselves (:func:`implicit_bias.bench.xla_products` is the engine's side).

Each returns seconds per step (per configuration for the loops, for the whole batch for the
batched version); the benchmark scales them to M and T. ``None`` when torch is absent.

References: Woodworth et al. 2020 (the model); the per-step loops follow their released code.
"""

from __future__ import annotations

import time

import numpy as np


def torch_loop(X: np.ndarray, y: np.ndarray, scales, step_size: float, steps: int,
               device: str = "cpu") -> float | None:
    """Seconds per step of a PyTorch autograd loop (float32), averaged over the configurations given."""
    try:
        import torch
    except ImportError:
        return None
    dev = "cuda" if device == "gpu" and torch.cuda.is_available() else "cpu"
    Xt = torch.tensor(X, dtype=torch.float32, device=dev)
    yt = torch.tensor(y, dtype=torch.float32, device=dev)
    n, d = X.shape
    sync = torch.cuda.synchronize if dev == "cuda" else (lambda: None)
    per_step = []
    for alpha in scales:
        u = torch.full((d,), float(alpha), device=dev, requires_grad=True)
        v = torch.full((d,), float(alpha), device=dev, requires_grad=True)
        for warm in (True, False):
            k = 5 if warm else steps
            sync()
            t = time.perf_counter()
            for _ in range(k):
                loss = 0.5 * ((Xt @ (u * u - v * v) - yt) ** 2).mean()
                loss.backward()
                with torch.no_grad():
                    u -= step_size * u.grad
                    v -= step_size * v.grad
                u.grad = None
                v.grad = None
            sync()
            if not warm:
                per_step.append((time.perf_counter() - t) / steps)
    return float(np.mean(per_step))


def numpy_loop(X: np.ndarray, y: np.ndarray, scales, step_size: float, steps: int, device: str = "cpu") -> float:
    """Seconds per step of a numpy loop (float64, one configuration at a time), averaged over ``scales``."""
    n, d = X.shape
    per_step = []
    for alpha in scales:
        u = np.full(d, float(alpha))
        v = np.full(d, float(alpha))
        t = time.perf_counter()
        for _ in range(steps):
            g = X.T @ (X @ (u * u - v * v) - y) / n
            u, v = u - step_size * 2 * u * g, v + step_size * 2 * v * g
        per_step.append((time.perf_counter() - t) / steps)
    return float(np.mean(per_step))


def numpy_batched(X: np.ndarray, y: np.ndarray, scales, step_size: float, steps: int,
                  dtype: str = "float64") -> float:
    """Seconds per step of the hand-batched numpy version: U, V (M, d), two matrix products per step,
    everything (data, iterates, step size) in ``dtype``."""
    n, d = X.shape
    dt = np.dtype(dtype)
    X, y = np.asarray(X, dtype=dt), np.asarray(y, dtype=dt)
    U = np.repeat(np.asarray(scales, dtype=dt)[:, None], d, axis=1)
    V = U.copy()
    XT = np.ascontiguousarray(X.T)
    G = np.empty_like(U)
    step_size = dt.type(step_size)
    t = time.perf_counter()
    for _ in range(steps):
        R = (U * U - V * V) @ XT - y          # (M, n)
        np.matmul(R, X, out=G)                # (M, d)
        G *= 2 * step_size / n
        U -= U * G
        V += V * G
    return (time.perf_counter() - t) / steps


def spectrally_normalized(X: np.ndarray, dtype: str) -> np.ndarray:
    """X / ‖X‖₂ in ``dtype``: the products-alone loops iterate U ← (U Xᵀ) X with it, which keeps U dense
    and of order one (it converges to U's projection on the top right singular vector), so neither
    side meets overflow or subnormal numbers."""
    X = np.asarray(X, dtype=np.float64)
    return (X / np.linalg.norm(X, 2)).astype(dtype)


def numpy_products(X: np.ndarray, configs: int, steps: int, dtype: str = "float64") -> float:
    """Seconds per step of the two products of :func:`numpy_batched` alone: R = U Xᵀ (M, n), then
    U ← R X (M, d), U (M, d) with M = ``configs``, X spectrally normalized, in ``dtype``."""
    X = spectrally_normalized(X, dtype)
    XT = np.ascontiguousarray(X.T)
    U = np.ones((configs, X.shape[1]), dtype=X.dtype)
    G = np.empty_like(U)
    t = time.perf_counter()
    for _ in range(steps):
        R = U @ XT
        np.matmul(R, X, out=G)
        U, G = G, U
    return (time.perf_counter() - t) / steps
