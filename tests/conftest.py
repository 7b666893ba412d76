"""Shared test set-up: float64 everywhere and a seed fixture so claims hold for several seeds."""

import os

os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("MPLBACKEND", "Agg")

import jax  # noqa: E402
import pytest  # noqa: E402

jax.config.update("jax_enable_x64", True)


@pytest.fixture(params=[0, 1, 2])
def seed(request):
    """Three random seeds: a claim must hold for each."""
    return request.param
