"""A smooth nonlinear regression that a small MLP can fit: y = sin(x₁) + x₂x₃/2, x ~ N(0, I_d).

Deterministic given ``seed``; no test split and no ground-truth w (the target is not linear).
"""

from __future__ import annotations

import numpy as np

from implicit_bias.errors import InputError
from implicit_bias.problems.problem import Problem


def smooth_regression(n_samples: int, n_features: int, seed: int) -> Problem:
    """X (n, d) with X_ij ~ N(0, 1) and y = sin(x₁) + x₂x₃/2 (n,); d ≥ 3."""
    if n_samples <= 0 or n_features < 3:
        raise InputError(f"smooth regression needs n_samples >= 1 and n_features >= 3, got {n_samples}, {n_features}")
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_samples, n_features))
    return Problem(X, np.sin(X[:, 0]) + 0.5 * X[:, 1] * X[:, 2], name="smooth regression")
