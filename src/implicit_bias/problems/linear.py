"""Generators for the linear results: Gaussian regression, sparse regression, separable data.

Every generator takes an integer ``seed`` and is deterministic given it.
"""

from __future__ import annotations

import numpy as np

from implicit_bias.errors import InputError
from implicit_bias.problems.problem import Problem


def _check_sizes(n_samples: int, n_features: int, n_test: int = 0) -> None:
    if n_samples <= 0 or n_features <= 0 or n_test < 0:
        raise InputError(f"sizes must be positive (n_samples={n_samples}, n_features={n_features}, n_test={n_test})")


def gaussian_regression(n_samples: int = 20, n_features: int = 100, *, noise: float = 0.0,
                        n_test: int = 100, seed: int = 0) -> Problem:
    """Least squares with X_ij ~ N(0, 1/d), w* ~ N(0, I), y = X w* + noise·N(0, 1).

    With n < d there is a whole affine space of interpolators.
    """
    _check_sizes(n_samples, n_features, n_test)
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_samples + n_test, n_features)) / np.sqrt(n_features)
    w_star = rng.standard_normal(n_features)
    y = X @ w_star + noise * rng.standard_normal(n_samples + n_test)
    return Problem(X[:n_samples], y[:n_samples], X[n_samples:], y[n_samples:], w_star,
                   name=f"gaussian regression n={n_samples} d={n_features}",
                   meta={"noise": noise, "seed": seed})


def sparse_regression(n_samples: int = 40, n_features: int = 100, sparsity: int = 5, *,
                      noise: float = 0.0, n_test: int = 200, nonnegative: bool = False,
                      seed: int = 0) -> Problem:
    """Compressed sensing: X_ij ~ N(0, 1), w* k-sparse with entries ±1 (or +1), y = X w* + noise.

    The test set measures how close the learned predictor is to w* on fresh Gaussian inputs.
    """
    _check_sizes(n_samples, n_features, n_test)
    if not 0 < sparsity <= n_features:
        raise InputError(f"sparsity must be in 1..n_features, got {sparsity}")
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_samples + n_test, n_features))
    w_star = np.zeros(n_features)
    support = rng.choice(n_features, size=sparsity, replace=False)
    signs = np.ones(sparsity) if nonnegative else rng.choice([-1.0, 1.0], size=sparsity)
    w_star[support] = signs
    y = X @ w_star
    y_train = y[:n_samples] + noise * rng.standard_normal(n_samples)
    return Problem(X[:n_samples], y_train, X[n_samples:], y[n_samples:], w_star,
                   name=f"{sparsity}-sparse regression n={n_samples} d={n_features}",
                   meta={"noise": noise, "seed": seed, "support": sorted(support.tolist())})


def planted_margin_classification(n_samples: int = 40, n_features: int = 6, *, margin: float = 0.1,
                                  n_test: int = 200, seed: int = 0) -> Problem:
    """Linearly separable data through the origin with a planted margin.

    Points x ~ N(0, I) are labelled by y = sign(<w_true, x>) with ‖w_true‖ = 1; training
    points closer than ``margin`` to the hyperplane are pushed out to distance ``margin``,
    so the data is separable with margin at least ``margin``.
    """
    _check_sizes(n_samples, n_features, n_test)
    if margin <= 0:
        raise InputError(f"margin must be positive, got {margin}")
    rng = np.random.default_rng(seed)
    w_true = rng.standard_normal(n_features)
    w_true /= np.linalg.norm(w_true)
    X = rng.standard_normal((n_samples + n_test, n_features))
    s = X @ w_true
    y = np.where(s >= 0, 1.0, -1.0)
    Xtr = X[:n_samples]
    s_tr = s[:n_samples]
    push = np.where(np.abs(s_tr) < margin, y[:n_samples] * margin - s_tr, 0.0)
    Xtr = Xtr + push[:, None] * w_true[None, :]
    return Problem(Xtr, y[:n_samples], X[n_samples:], y[n_samples:], w_true,
                   name=f"separable data n={n_samples} d={n_features}",
                   meta={"margin": margin, "seed": seed})


def svm_2d_example() -> Problem:
    """The 2-D example whose hard-margin SVM is ŵ = (0.5, 0.5).

    Support vectors ±(0.5, 1.5) and ±(1.5, 0.5) (margin 1 at ŵ), plus points further out.
    """
    pos = np.array([[0.5, 1.5], [1.5, 0.5], [2.0, 2.0], [1.0, 3.0], [3.0, 1.5]])
    X = np.concatenate([pos, -pos])
    y = np.concatenate([np.ones(len(pos)), -np.ones(len(pos))])
    return Problem(X, y, w_star=np.array([0.5, 0.5]), name="2-D SVM example",
                   meta={"svm": [0.5, 0.5]})
