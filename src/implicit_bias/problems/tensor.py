"""Tensor completion: observe some entries of a low-tensor-rank W* of shape (k,)*N.

A tensor-completion problem is a :class:`Problem` whose X holds the observed entries as integer
index tuples, X (m, N) with X_i = (i_1, ..., i_N), and y_i = W*[X_i]. The test split is every
unobserved entry (X_test its index tuples, y_test the values). ``meta = {"kind": "tensor-completion",
"shape": (k,)*N, "rank": r, ...}``; ``w_star`` is W* itself.

File schema (:func:`load_tensor_problem`, an .npz): ``rows`` (m, N) integer index tuples — the matrix
schema's ``rows`` generalized from one index to a tuple, one column per mode —, ``values`` (m,),
``shape`` (N,); optionally ``w_star`` (the full tensor).

References: Razin, Maman, Cohen, "Implicit regularization in tensor factorization", ICML 2021.
"""

from __future__ import annotations

import numpy as np

from implicit_bias.errors import InputError
from implicit_bias.problems.problem import Problem


def low_rank_tensor(order: int, dim: int, rank: int, *, weights=None, seed: int = 0) -> np.ndarray:
    """W* = Σ_r c_r a_r¹ ⊗ ⋯ ⊗ a_r^N with unit Gaussian directions a_r^n and weights c (default all √(k^N))."""
    if order < 2 or dim < 1 or rank < 1:
        raise InputError(f"need order >= 2, dim >= 1, rank >= 1; got {order}, {dim}, {rank}")
    rng = np.random.default_rng(seed)
    c = np.full(rank, np.sqrt(float(dim) ** order)) if weights is None else np.asarray(weights, dtype=float)
    if c.shape != (rank,):
        raise InputError(f"weights must have {rank} entries, got {c.shape}")
    W = np.zeros((dim,) * order)
    for r in range(rank):
        vecs = [v / np.linalg.norm(v) for v in rng.standard_normal((order, dim))]
        outer = vecs[0]
        for v in vecs[1:]:
            outer = np.multiply.outer(outer, v)
        W += c[r] * outer
    return W


def tensor_completion(order: int = 3, dim: int = 5, rank: int = 1, n_observed: int = 50, *, weights=None,
                      ground_truth=None, seed: int = 0) -> Problem:
    """Observe ``n_observed`` entries of W*, drawn uniformly without replacement; test = the rest."""
    W = low_rank_tensor(order, dim, rank, weights=weights, seed=seed) if ground_truth is None else \
        np.asarray(ground_truth, dtype=float)
    if W.shape != (dim,) * order:
        raise InputError(f"ground truth must have shape {(dim,) * order}, got {W.shape}")
    total = W.size
    if not 0 < n_observed <= total:
        raise InputError(f"n_observed must be in 1..{total}, got {n_observed}")
    rng = np.random.default_rng(seed + 7919)
    flat = np.sort(rng.choice(total, size=n_observed, replace=False))
    mask = np.zeros(total, dtype=bool)
    mask[flat] = True
    idx = np.stack(np.unravel_index(flat, W.shape), 1).astype(np.int64)
    rest = np.flatnonzero(~mask)
    test = np.stack(np.unravel_index(rest, W.shape), 1).astype(np.int64) if rest.size else None
    return Problem(idx, W.reshape(-1)[flat], test, W.reshape(-1)[rest] if rest.size else None, W,
                   name=f"rank-{rank} order-{order} {dim}^{order} tensor completion, m={n_observed}",
                   meta={"kind": "tensor-completion", "shape": W.shape, "rank": rank, "seed": seed})


def load_tensor_problem(arrays: dict) -> Problem:
    """Validate the arrays of a tensor-completion .npz (``rows``, ``values``, ``shape``) and build the Problem."""
    for key in ("rows", "values", "shape"):
        if key not in arrays:
            raise InputError(f"tensor completion needs 'rows' (m, N), 'values' (m,) and 'shape' (N,); '{key}' is missing")
    shape = tuple(int(s) for s in np.asarray(arrays["shape"]).ravel())
    rows = np.asarray(arrays["rows"])
    values = np.asarray(arrays["values"], dtype=float)
    if rows.ndim != 2 or rows.shape[1] != len(shape) or rows.shape[0] != values.shape[0] or values.ndim != 1:
        raise InputError(f"'rows' must be (m, {len(shape)}) index tuples and 'values' (m,), got {rows.shape}, {values.shape}")
    if not np.issubdtype(rows.dtype, np.integer):
        raise InputError("'rows' must hold integer indices")
    if rows.min() < 0 or np.any(rows.max(axis=0) >= np.asarray(shape)):
        raise InputError(f"'rows' has an index out of range for shape {shape}")
    if not np.all(np.isfinite(values)):
        raise InputError("'values' contains NaN or inf")
    if len(np.unique(rows, axis=0)) != len(rows):
        raise InputError("'rows' repeats an index tuple")
    w_star = arrays.get("w_star")
    X_test = y_test = None
    if w_star is not None:
        w_star = np.asarray(w_star, dtype=float)
        if w_star.shape != shape:
            raise InputError(f"'w_star' must have shape {shape}, got {w_star.shape}")
        mask = np.zeros(shape, dtype=bool)
        mask[tuple(rows.T)] = True
        X_test = np.argwhere(~mask).astype(np.int64)
        y_test = w_star[tuple(X_test.T)]
    return Problem(rows.astype(np.int64), values, X_test, y_test, w_star, name=f"tensor completion {shape}, m={len(values)}",
                   meta={"kind": "tensor-completion", "shape": shape})
