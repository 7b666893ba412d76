"""Separable data on which the max-margin directions of different norms lie far apart.

* :func:`sparse_sign_classification`: x ~ N(0, I_d), y = sign(x_1), n < d. The l1 max-margin separator
  is sparse, the l2 one spreads over every coordinate, the l∞ one is a dense sign pattern: each misses
  the others' optimal margins by tens of percent.
* :func:`fourier_classification`: x ~ N(0, I_d), y = sign(⟨x, c⟩) with c_j = cos(2π f j/d), a single
  frequency f: the Fourier-l1 max-margin separator concentrates on the frequencies ±f, the l2 one does not.
"""

from __future__ import annotations

import numpy as np

from implicit_bias.errors import InputError
from implicit_bias.problems.problem import Problem


def _check(n_samples: int, n_features: int) -> None:
    if n_samples < 2 or n_features < 2:
        raise InputError(f"need at least 2 samples and 2 features, got n={n_samples}, d={n_features}")


def sparse_sign_classification(n_samples: int = 20, n_features: int = 40, *, seed: int = 0) -> Problem:
    """X (n, d) ~ N(0, 1) entries, y = sign(X[:, 0]) (separable through the origin by e_1)."""
    _check(n_samples, n_features)
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_samples, n_features))
    y = np.where(X[:, 0] >= 0, 1.0, -1.0)
    return Problem(X, y, w_star=np.eye(n_features)[0], name=f"sign(x_1) n={n_samples} d={n_features}",
                   meta={"seed": seed})


def fourier_classification(n_samples: int = 20, n_features: int = 16, *, frequency: int = 2,
                           seed: int = 0) -> Problem:
    """X (n, d) ~ N(0, 1) entries, y = sign(⟨x, cos(2π f j/d)⟩) (separable through the origin)."""
    _check(n_samples, n_features)
    if not 0 < frequency < n_features / 2:
        raise InputError(f"frequency must lie in 1..{(n_features - 1) // 2}, got {frequency}")
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_samples, n_features))
    c = np.cos(2 * np.pi * frequency * np.arange(n_features) / n_features)
    y = np.where(X @ c >= 0, 1.0, -1.0)
    return Problem(X, y, w_star=c, name=f"single-frequency labels n={n_samples} d={n_features} f={frequency}",
                   meta={"seed": seed, "frequency": frequency})
