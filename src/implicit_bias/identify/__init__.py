"""Identify the implicit regularizer of gradient flow for a user's parameterization w = G(θ).

The API is :func:`implicit_bias.identify.api.identify`; the command is ``implicit-bias identify``.
"""
