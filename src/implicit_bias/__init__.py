"""implicit-bias: a laboratory for the implicit regularization of gradient methods.

    import implicit_bias as ib
    problem = ib.problems.gaussian_regression(20, 100, seed=0)
    out = ib.train(ib.models.LinearModel(100), ib.losses.square, ib.optim.GD(), problem,
                   steps=10_000, step_size=0.5)
    ref = ib.references.min_l2_interpolator(problem.X, problem.y)

Every result in the catalog (``ib.catalog()``) compares what training found with an
independently computed reference and returns claims.

The package's global settings, both made before anything is computed and both with a way out:

* float64: importing the package turns on JAX's ``jax_enable_x64``, because the references and
  claims are checked to 1e-8 and beyond. Set ``IMPLICIT_BIAS_X64=0`` before the import to leave
  JAX's setting as it is (then pass ``dtype="float32"`` to :func:`train`).
* ``EQX_ON_ERROR=nan`` (unless already set): diffrax's runtime checks return NaN, which the engine
  flags as a failed solve, instead of calling back to the host, so gradient-flow programs can be
  kept in JAX's persistent compilation cache (it refuses programs with host callbacks). It takes
  effect when the package is imported before equinox/diffrax; ``EQX_ON_ERROR=raise`` restores
  equinox's errors.
"""

import os

os.environ.setdefault("EQX_ON_ERROR", "nan")

import jax  # noqa: E402

if os.environ.get("IMPLICIT_BIAS_X64", "1").lower() not in ("0", "off", "no", "false"):
    jax.config.update("jax_enable_x64", True)

from implicit_bias import losses, metrics, models, optim, problems  # noqa: E402
from implicit_bias.engine import TrainResult, train  # noqa: E402
from implicit_bias.errors import InputError, NotSeparableError, ReferenceFailure  # noqa: E402
from implicit_bias.results import Claim, Result  # noqa: E402
from implicit_bias.sweeps import grid, log_spaced_steps, log_spaced_times, zipped  # noqa: E402

__version__ = "0.1.0"


def catalog():
    """The catalog of experiments, by name."""
    from implicit_bias.experiments import catalog as _catalog

    return _catalog()


def __getattr__(name):
    if name in ("references", "experiments", "store", "report", "plotting"):
        import importlib

        return importlib.import_module(f"implicit_bias.{name}")
    raise AttributeError(name)


__all__ = ["train", "TrainResult", "grid", "zipped", "log_spaced_steps", "log_spaced_times",
           "Claim", "Result", "InputError", "ReferenceFailure", "NotSeparableError",
           "losses", "models", "optim", "problems", "metrics", "catalog"]
