"""The :class:`Problem` container: training arrays, an optional test split and ground truth."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Problem:
    """A supervised problem on vectors.

    Attributes:
      X: (n, d) training inputs.
      y: (n,) training targets (real for regression, ±1 for classification).
      X_test: (n_test, d) test inputs, or None.
      y_test: (n_test,) test targets, or None.
      w_star: (d,) planted ground truth, or None.
      name: short description used in figures.
      meta: extra information (generator arguments, noise level, ...).
    """

    X: np.ndarray
    y: np.ndarray
    X_test: np.ndarray | None = None
    y_test: np.ndarray | None = None
    w_star: np.ndarray | None = None
    name: str = "problem"
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def n_samples(self) -> int:
        return int(self.X.shape[0])

    @property
    def n_features(self) -> int:
        return int(self.X.shape[1])

    @property
    def has_test(self) -> bool:
        return self.X_test is not None and self.y_test is not None

    def astype(self, dtype: Any) -> "Problem":
        """The same problem with every array cast to ``dtype``."""
        cast = lambda a: None if a is None else np.asarray(a, dtype=dtype)  # noqa: E731
        return replace(self, X=cast(self.X), y=cast(self.y), X_test=cast(self.X_test),
                       y_test=cast(self.y_test), w_star=cast(self.w_star))
