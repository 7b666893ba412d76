"""The XLA options engine programs are compiled with, per platform and dtype (compilation.compiler_options)."""

import jax
import jax.numpy as jnp

import implicit_bias as ib
from implicit_bias import compilation
from implicit_bias.bench_memory import last_executable
from implicit_bias.models.diagonal import DiagonalModel


def test_float32_on_the_cpu_takes_eigen_products_and_float64_keeps_the_defaults():
    with jax.default_device(jax.devices("cpu")[0]):
        assert compilation.target_platform() == "cpu"
        assert compilation.compiler_options(jnp.float32) == compilation.CPU_FLOAT32_OPTIONS
        assert compilation.compiler_options(jnp.float64) is None


def _program_text(dtype: str) -> str:
    problem = ib.problems.sparse_regression(10, 30, 2, n_test=0, seed=0)
    ib.train(DiagonalModel(30), ib.losses.square, ib.optim.GD(), problem, steps=8, step_size=0.01,
             hparams=ib.grid(init_scale=[0.1, 0.2]), dtype=dtype, n_records=3)
    return last_executable().as_text()


def test_engine_programs_are_compiled_with_their_dtypes_options():
    # XLA's default CPU pipeline puts products in YNNPACK fusions; the float32 program has none
    assert "ynn_fusion" not in _program_text("float32")
    assert "ynn_fusion" in _program_text("float64")

