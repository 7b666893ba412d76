"""Exact reference solutions: what each implicit bias should converge to, computed explicitly.

    ref = min_l2_interpolator(X, y)              # w0 + X⁺(y − X w0)          (GD on least squares)
    ref = hard_margin_svm(X, y)                  # argmin ‖w‖ s.t. y_i⟨w,x_i⟩ ≥ 1 (GD on separable data)
    ref = min_l1_interpolator(X, y)              # basis pursuit, with the optimal face's ranges
    ref = q_alpha_interpolator(X, y, alpha=0.1)  # diagonal network's limit from scale α (depth, shape)
    ref = min_group_norm_interpolator(X, y, groups)

Each returns a :class:`Reference` (solution, objective, status, certificate in ``info``) and
raises ReferenceFailure rather than return an uncertified number. ``get_reference(name)`` gives
the registered ``compute(problem, **options)`` used by ``implicit-bias reference NAME``.
"""

from implicit_bias.references.base import Reference, ReferenceSpec, available, get_reference, register
from implicit_bias.references.diagonal_flow import diagonal_flow_limit
from implicit_bias.references.group_norm import min_group_norm_interpolator
from implicit_bias.references.max_margin import hard_margin_svm
from implicit_bias.references.min_l1 import min_l1_interpolator
from implicit_bias.references.min_l2 import min_l2_interpolator
from implicit_bias.references.q_alpha import (
    diagonal_network_limit,
    fit_q_alpha_scale,
    q_alpha_interpolator,
    q_alpha_regularizer,
    shape_scale,
)

__all__ = ["Reference", "ReferenceSpec", "available", "get_reference", "register",
           "min_l2_interpolator", "hard_margin_svm", "min_l1_interpolator", "q_alpha_interpolator",
           "q_alpha_regularizer", "shape_scale", "diagonal_flow_limit", "diagonal_network_limit",
           "fit_q_alpha_scale", "min_group_norm_interpolator"]
