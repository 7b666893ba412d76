"""Measurements: distances, angles, margins, subspaces, fitted rates."""

from implicit_bias.metrics.geometry import (
    angle_gap,
    distance_to_rowspan_affine,
    normalized_margin,
    relative_distance,
)
from implicit_bias.metrics.rates import fit_loglog_slope, fraction_nonincreasing

__all__ = ["relative_distance", "angle_gap", "normalized_margin", "distance_to_rowspan_affine",
           "fit_loglog_slope", "fraction_nonincreasing"]
