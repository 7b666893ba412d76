"""Parameterizations: each maps parameters to predictions and to an end-to-end predictor."""

from implicit_bias.models.base import Model, describe
from implicit_bias.models.linear import LinearModel
from implicit_bias.models.registry import available_models, make_model, register_model

__all__ = ["Model", "LinearModel", "available_models", "make_model", "register_model", "describe"]
