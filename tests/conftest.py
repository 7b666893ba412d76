"""Shared test set-up: float64 everywhere and a seed fixture so claims hold for several seeds."""

import os

os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("MPLBACKEND", "Agg")
# One BLAS thread per test worker: the workers already use every core.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import jax  # noqa: E402
import pytest  # noqa: E402

jax.config.update("jax_enable_x64", True)

# The persistent compilation cache, as the command line uses it ($IMPLICIT_BIAS_CACHE; "off" leaves it off):
# the test workers, and the command-line tests' own processes, share the programs they compile.
from implicit_bias.cli_support import use_compilation_cache  # noqa: E402

use_compilation_cache()


@pytest.fixture(params=[0, 1, 2])
def seed(request):
    """Three random seeds: a claim must hold for each."""
    return request.param


@pytest.fixture(scope="module")
def sweep_data(tmp_path_factory):
    """A tiny regression data file (n = 4, d = 8) for sweep tests."""
    import numpy as np

    rng = np.random.default_rng(0)
    path = tmp_path_factory.mktemp("sweep") / "d.npz"
    np.savez(path, X=rng.standard_normal((4, 8)), y=rng.standard_normal(4))
    return path
