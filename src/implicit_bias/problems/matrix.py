"""Matrix sensing and matrix completion: generators of rank-r ground truths and the .npz loader.

A matrix problem is a :class:`Problem` whose X encodes the measurement operator 𝒜 of an
unknown W* ∈ ℝ^{d1×d2}:

* sensing:    X = A (m, d1, d2) float,    y_i = ⟨A_i, W*⟩ = Σ_jk A_ijk W*_jk;
* completion: X = (m, 2) int (row, col),  y_i = W*[row_i, col_i].

``meta = {"kind": "sensing"|"completion", "shape": (d1, d2), "symmetric": bool, ...}`` and
``w_star`` is W* (d1, d2) when known. For completion the test split is the unobserved
entries (X_test their indices, y_test their values), so "test error" is the error there;
for sensing it is ``n_test`` fresh measurements.

File schema (``load_matrix_problem``): sensing ``A`` (m, d1, d2), ``y`` (m,); completion
``rows`` (m,), ``cols`` (m,), ``values`` (m,), ``shape`` (2,); optionally ``w_star`` (d1, d2)
(also spelled ``W_star``), ``symmetric`` (bool), and for sensing ``A_test``, ``y_test``.

References: Recht, Fazel, Parrilo 2010 (sensing); Candès & Recht 2009 (completion).
"""

from __future__ import annotations

import numpy as np

from implicit_bias.errors import InputError
from implicit_bias.problems.problem import Problem

NORMALIZATIONS = ("entries", "frobenius", "spectral", "none")


def _shape(shape) -> tuple[int, int]:
    try:
        d1, d2 = (int(s) for s in shape)
    except (TypeError, ValueError):
        raise InputError(f"shape must be two positive integers (d1, d2), got {shape!r}") from None
    if d1 <= 0 or d2 <= 0:
        raise InputError(f"shape must be two positive integers (d1, d2), got {shape!r}")
    return d1, d2


def _haar(rng: np.random.Generator, n: int, k: int) -> np.ndarray:
    """An n×k matrix with orthonormal columns, Haar-distributed."""
    q, r = np.linalg.qr(rng.standard_normal((n, k)))
    return q * np.sign(np.diag(r))[None, :]


def low_rank_matrix(shape=(100, 100), rank: int = 5, *, normalization: str = "entries", scale: float = 1.0,
                    symmetric: bool = False, psd: bool = False, singular_values=None, seed: int = 0) -> np.ndarray:
    """A random rank-r matrix W* = U diag(s) Vᵀ (U, V Haar), normalized as asked.

    s = the given ``singular_values``, or the singular values of a Gaussian product G1 G2
    (G1 (d1×r), G2 (r×d2)). ``symmetric`` uses V = U (times random signs unless ``psd``).
    Normalization (then times ``scale``): "entries": RMS entry 1 (‖W*‖_F = √(d1 d2));
    "frobenius": ‖W*‖_F = 1; "spectral": ‖W*‖₂ = 1; "none": as drawn.
    """
    d1, d2 = _shape(shape)
    if not 1 <= rank <= min(d1, d2):
        raise InputError(f"rank must be in 1..{min(d1, d2)}, got {rank}")
    if normalization not in NORMALIZATIONS:
        raise InputError(f"unknown normalization '{normalization}'; valid: {', '.join(NORMALIZATIONS)}")
    if (symmetric or psd) and d1 != d2:
        raise InputError(f"a symmetric matrix must be square, got shape {(d1, d2)}")
    rng = np.random.default_rng(seed)
    if singular_values is None:
        s = np.linalg.svd(rng.standard_normal((d1, rank)) @ rng.standard_normal((rank, d2)), compute_uv=False)[:rank]
    else:
        s = np.sort(np.abs(np.asarray(singular_values, dtype=float)))[::-1]
        if s.shape != (rank,):
            raise InputError(f"singular_values must have {rank} entries, got {s.shape}")
    U = _haar(rng, d1, rank)
    if symmetric or psd:
        signs = np.ones(rank) if psd else rng.choice([-1.0, 1.0], size=rank)
        W = (U * (s * signs)) @ U.T
        W = 0.5 * (W + W.T)
    else:
        W = (U * s) @ _haar(rng, d2, rank).T
    norm = {"entries": np.linalg.norm(W) / np.sqrt(d1 * d2), "frobenius": np.linalg.norm(W),
            "spectral": np.linalg.norm(W, 2), "none": 1.0}[normalization]
    return scale * W / norm


def matrix_completion(shape=(100, 100), rank: int = 5, n_observed: int = 2000, *, symmetric: bool = False,
                      normalization: str = "entries", noise: float = 0.0, ground_truth=None,
                      seed: int = 0) -> Problem:
    """Observe ``n_observed`` entries of W*, chosen uniformly without replacement.

    With ``symmetric`` the positions are drawn on or above the diagonal and mirrored, so
    the problem holds both (i, j) and (j, i); m is then at most 2·n_observed.
    The test split is every unobserved entry.
    """
    d1, d2 = _shape(shape)
    W = (np.asarray(ground_truth, dtype=float) if ground_truth is not None else
         low_rank_matrix((d1, d2), rank, normalization=normalization, symmetric=symmetric, seed=seed))
    if W.shape != (d1, d2):
        raise InputError(f"ground truth must have shape {(d1, d2)}, got {W.shape}")
    rng = np.random.default_rng(seed + 7919)
    if symmetric:
        iu = np.stack(np.triu_indices(d1), 1)
        if not 0 < n_observed <= len(iu):
            raise InputError(f"n_observed must be in 1..{len(iu)} for a symmetric {d1}×{d1} matrix, got {n_observed}")
        pick = iu[rng.choice(len(iu), size=n_observed, replace=False)]
        idx = np.unique(np.concatenate([pick, pick[:, ::-1]]), axis=0)
    else:
        if not 0 < n_observed <= d1 * d2:
            raise InputError(f"n_observed must be in 1..{d1 * d2}, got {n_observed}")
        flat = np.sort(rng.choice(d1 * d2, size=n_observed, replace=False))
        idx = np.stack(np.unravel_index(flat, (d1, d2)), 1)
    mask = np.zeros((d1, d2), dtype=bool)
    mask[idx[:, 0], idx[:, 1]] = True
    test = np.argwhere(~mask)
    y = W[idx[:, 0], idx[:, 1]]
    if noise > 0:
        y = y + noise * rng.standard_normal(len(y))
    return Problem(idx.astype(np.int64), y, test.astype(np.int64) if len(test) else None,
                   W[test[:, 0], test[:, 1]] if len(test) else None, W,
                   name=f"rank-{rank} {d1}×{d2} completion, m={len(idx)}",
                   meta={"kind": "completion", "shape": (d1, d2), "symmetric": bool(symmetric), "rank": rank,
                         "normalization": normalization, "noise": noise, "seed": seed})


def sensing_operator(shape, n_measurements: int, *, operator: str = "gaussian", symmetric: bool = False,
                     seed: int = 0) -> np.ndarray:
    """Measurement matrices A (m, d1, d2).

    "gaussian": i.i.d. N(0, 1) entries (symmetrized (G + Gᵀ)/√2 when ``symmetric``);
    "commuting": A_i = Q diag(g_i) Qᵀ with one Haar Q and g_i ~ N(0, I): symmetric and
    pairwise commuting (Gunasekar et al. 2017).
    """
    d1, d2 = _shape(shape)
    if n_measurements <= 0:
        raise InputError(f"n_measurements must be positive, got {n_measurements}")
    rng = np.random.default_rng(seed)
    if operator == "gaussian":
        A = rng.standard_normal((n_measurements, d1, d2))
        if symmetric:
            if d1 != d2:
                raise InputError(f"symmetric sensing needs a square shape, got {(d1, d2)}")
            A = (A + np.swapaxes(A, 1, 2)) / np.sqrt(2.0)
        return A
    if operator == "commuting":
        if d1 != d2:
            raise InputError(f"commuting sensing needs a square shape, got {(d1, d2)}")
        Q = _haar(rng, d1, d1)
        g = rng.standard_normal((n_measurements, d1))
        A = np.einsum("ij,mj,kj->mik", Q, g, Q)
        return 0.5 * (A + np.swapaxes(A, 1, 2))
    raise InputError(f"unknown sensing operator '{operator}'; valid: gaussian, commuting")


def matrix_sensing(shape=(20, 20), rank: int = 2, n_measurements: int = 200, *, operator: str = "gaussian",
                   symmetric: bool = False, psd: bool = False, normalization: str = "frobenius",
                   singular_values=None, noise: float = 0.0, n_test: int = 200, ground_truth=None,
                   seed: int = 0) -> Problem:
    """y_i = ⟨A_i, W*⟩ (+ noise) with A from :func:`sensing_operator`; test = fresh measurements."""
    d1, d2 = _shape(shape)
    symmetric = symmetric or psd or operator == "commuting"
    W = (np.asarray(ground_truth, dtype=float) if ground_truth is not None else
         low_rank_matrix((d1, d2), rank, normalization=normalization, symmetric=symmetric, psd=psd,
                         singular_values=singular_values, seed=seed))
    if W.shape != (d1, d2):
        raise InputError(f"ground truth must have shape {(d1, d2)}, got {W.shape}")
    A = sensing_operator((d1, d2), n_measurements + n_test, operator=operator, symmetric=symmetric, seed=seed + 1)
    y = np.einsum("mij,ij->m", A, W)
    y_train = y[:n_measurements]
    if noise > 0:
        y_train = y_train + noise * np.random.default_rng(seed + 2).standard_normal(n_measurements)
    has_test = n_test > 0
    return Problem(A[:n_measurements], y_train, A[n_measurements:] if has_test else None,
                   y[n_measurements:] if has_test else None, W,
                   name=f"rank-{rank} {d1}×{d2} {operator} sensing, m={n_measurements}",
                   meta={"kind": "sensing", "shape": (d1, d2), "symmetric": bool(symmetric), "psd": bool(psd),
                         "operator": operator, "rank": rank, "normalization": normalization, "noise": noise,
                         "seed": seed})


def norms_not_enough_problem() -> Problem:
    """The 2×2 completion of Razin & Cohen 2020: W[0,1] = 1, W[1,0] = 1, W[1,1] = 0 observed.

    Every completion [[x, 1], [1, 0]] has det = −1 and nuclear norm √(x² + 4); W[0, 0] = x
    is the one unobserved entry (no ground truth, so no test split).
    """
    X = np.array([[0, 1], [1, 0], [1, 1]], dtype=np.int64)
    return Problem(X, np.array([1.0, 1.0, 0.0]), name="2×2 completion of Razin & Cohen",
                   meta={"kind": "completion", "shape": (2, 2), "symmetric": True, "unobserved": (0, 0)})


def full_matrix_problem(singular_values, n_rows: int, n_cols: int, seed: int) -> tuple[Problem, np.ndarray]:
    """(completion problem observing every entry of M, M): M = U diag(σ) Vᵀ with Haar U (n_rows, k), V (n_cols, k).

    No test split: every entry is observed (``meta["kind"]`` is "completion", X the (row, col) pairs)."""
    rng = np.random.default_rng(seed)
    k = len(singular_values)
    U, _ = np.linalg.qr(rng.standard_normal((n_rows, k)))
    V, _ = np.linalg.qr(rng.standard_normal((n_cols, k)))
    M = (U * np.asarray(singular_values)) @ V.T
    rows, cols = np.divmod(np.arange(n_rows * n_cols), n_cols)
    X = np.stack([rows, cols], axis=1)
    return Problem(X, M[rows, cols], name=f"full {n_rows}x{n_cols} matrix",
                   meta={"kind": "completion", "shape": (n_rows, n_cols), "seed": seed}), M


def measure(problem_or_X, W: np.ndarray) -> np.ndarray:
    """𝒜(W): the predictions ⟨A_i, W⟩ (sensing) or W[row_i, col_i] (completion); W may be (..., d1, d2)."""
    X = problem_or_X.X if isinstance(problem_or_X, Problem) else problem_or_X
    X, W = np.asarray(X), np.asarray(W)
    if X.ndim == 3:
        return np.einsum("mij,...ij->...m", X, W)
    return W[..., X[:, 0], X[:, 1]]


def _array(arrays: dict, key: str) -> np.ndarray:
    a = np.asarray(arrays[key])
    if not np.issubdtype(a.dtype, np.number) and a.dtype != np.bool_:
        raise InputError(f"'{key}' must be numeric, got dtype {a.dtype}")
    if np.issubdtype(a.dtype, np.floating) and not np.all(np.isfinite(a)):
        raise InputError(f"'{key}' contains NaN or inf")
    return a


def _integers(arrays: dict, key: str) -> np.ndarray:
    a = _array(arrays, key)
    if a.ndim != 1:
        raise InputError(f"'{key}' must be 1-D, got shape {a.shape}")
    if not np.all(np.equal(np.mod(a, 1), 0)):
        raise InputError(f"'{key}' must hold integer indices")
    return a.astype(np.int64)


def load_matrix_problem(arrays: dict) -> Problem:
    """Validate the arrays of a matrix-problem .npz and build the :class:`Problem` (see module docstring)."""
    arrays = dict(arrays)
    w_star = arrays.get("w_star", arrays.get("W_star"))
    symmetric = bool(np.asarray(arrays["symmetric"]).item()) if "symmetric" in arrays else False
    if "A" in arrays and "rows" in arrays:
        raise InputError("give either sensing data (A, y) or completion data (rows, cols, values, shape), not both")
    if "A" in arrays:
        A = _array(arrays, "A").astype(np.float64)
        if A.ndim != 3 or 0 in A.shape:
            raise InputError(f"'A' must have shape (m, d1, d2), got {A.shape}")
        if "y" not in arrays:
            raise InputError("sensing data needs 'y' (m,) next to 'A'")
        y = _array(arrays, "y").astype(np.float64)
        if y.shape != (A.shape[0],):
            raise InputError(f"'y' must have shape ({A.shape[0]},) to match A {A.shape}, got {y.shape}")
        flat = A.reshape(A.shape[0], -1)
        _check_duplicates(flat, y, "measurement matrices A_i")
        shape = A.shape[1:]
        X_test = y_test = None
        if ("A_test" in arrays) != ("y_test" in arrays):
            raise InputError("give both 'A_test' and 'y_test', or neither")
        if "A_test" in arrays:
            X_test = _array(arrays, "A_test").astype(np.float64)
            y_test = _array(arrays, "y_test").astype(np.float64)
            if X_test.ndim != 3 or X_test.shape[1:] != shape:
                raise InputError(f"'A_test' must have shape (n_test, {shape[0]}, {shape[1]}), got {X_test.shape}")
            if y_test.shape != (X_test.shape[0],):
                raise InputError(f"'y_test' must have shape ({X_test.shape[0]},), got {y_test.shape}")
        kind, X = "sensing", A
    elif "rows" in arrays:
        for key in ("cols", "values", "shape"):
            if key not in arrays:
                raise InputError(f"completion data needs 'rows', 'cols', 'values' and 'shape'; '{key}' is missing")
        shape = _shape(np.asarray(arrays["shape"]).ravel().tolist())
        rows, cols = _integers(arrays, "rows"), _integers(arrays, "cols")
        y = _array(arrays, "values").astype(np.float64)
        if not (rows.shape == cols.shape == y.shape) or rows.size == 0:
            raise InputError(f"'rows', 'cols' and 'values' must have the same length m > 0, got "
                             f"{rows.shape}, {cols.shape}, {y.shape}")
        for name, idx, size in (("rows", rows, shape[0]), ("cols", cols, shape[1])):
            if idx.min() < 0 or idx.max() >= size:
                bad = idx[(idx < 0) | (idx >= size)][0]
                raise InputError(f"'{name}' index {bad} is out of range for shape {shape} (valid 0..{size - 1})")
        X = np.stack([rows, cols], 1)
        _check_duplicates(X, y, "(row, col) positions")
        kind, X_test, y_test = "completion", None, None
    else:
        raise InputError("a matrix problem needs 'A' and 'y' (sensing) or 'rows', 'cols', 'values', 'shape' (completion)")
    if symmetric and shape[0] != shape[1]:
        raise InputError(f"'symmetric' is set but the shape {tuple(shape)} is not square")
    if w_star is not None:
        w_star = np.asarray(w_star, dtype=np.float64)
        if w_star.shape != tuple(shape):
            raise InputError(f"'w_star' must have shape {tuple(shape)}, got {w_star.shape}")
        if not np.all(np.isfinite(w_star)):
            raise InputError("'w_star' contains NaN or inf")
        if kind == "completion":
            mask = np.zeros(shape, dtype=bool)
            mask[X[:, 0], X[:, 1]] = True
            test = np.argwhere(~mask).astype(np.int64)
            if len(test):
                X_test, y_test = test, w_star[test[:, 0], test[:, 1]]
    return Problem(X, y, X_test, y_test, w_star, name=f"{kind} {shape[0]}×{shape[1]}, m={len(y)}",
                   meta={"kind": kind, "shape": (int(shape[0]), int(shape[1])), "symmetric": symmetric})


def _check_duplicates(keys: np.ndarray, y: np.ndarray, what: str) -> None:
    """InputError when two identical observations carry different values."""
    _, inverse = np.unique(keys, axis=0, return_inverse=True)
    inverse = inverse.ravel()
    lo = np.full(inverse.max() + 1, np.inf)
    hi = np.full(inverse.max() + 1, -np.inf)
    np.minimum.at(lo, inverse, y)
    np.maximum.at(hi, inverse, y)
    bad = np.flatnonzero(hi - lo > 1e-12 * np.maximum(1.0, np.abs(hi)))
    if bad.size:
        first = np.flatnonzero(inverse == bad[0])[:2]
        if keys.shape[1] == 2:
            where = f" at position {tuple(int(v) for v in keys[first[0]])}"
        else:
            where = f" (observations {first.tolist()})"
        raise InputError(f"duplicate {what} with different values{where}: "
                         f"{y[first[0]]:g} and {y[first[1]]:g}")
