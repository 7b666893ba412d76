"""Data: a :class:`Problem` holds the arrays, generators make them, loaders validate user files."""

from implicit_bias.problems.problem import Problem
from implicit_bias.problems.linear import (
    gaussian_regression,
    planted_margin_classification,
    sparse_regression,
    svm_2d_example,
)
from implicit_bias.problems.io import load_problem, validate_labels

__all__ = [
    "Problem",
    "gaussian_regression",
    "sparse_regression",
    "planted_margin_classification",
    "svm_2d_example",
    "load_problem",
    "validate_labels",
]
