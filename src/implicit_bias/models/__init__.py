"""Parameterizations: each maps parameters to predictions and to an end-to-end predictor."""

from implicit_bias.models.base import INIT_SCALE, Model
from implicit_bias.models.diagonal import DiagonalModel
from implicit_bias.models.factorized import FactorizedModel
from implicit_bias.models.grouped import GroupedDiagonalModel
from implicit_bias.models.linear import LinearModel
from implicit_bias.models.linearized import LinearizedModel
from implicit_bias.models.mlp import MLP
from implicit_bias.models.neuron import NeuronModel
from implicit_bias.models.registry import available_models, make_model, register_model
from implicit_bias.models.user import UserModel, model_factory, user_model

__all__ = ["Model", "LinearModel", "DiagonalModel", "GroupedDiagonalModel", "FactorizedModel", "NeuronModel",
           "MLP", "LinearizedModel", "available_models", "make_model", "register_model", "INIT_SCALE", "UserModel", "model_factory",
           "user_model"]
