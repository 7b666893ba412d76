"""The package's one global: importing it turns on float64 in JAX, unless IMPLICIT_BIAS_X64=0."""

import os
import subprocess
import sys

import pytest


@pytest.mark.parametrize("value,expected", [(None, "True"), ("0", "False")])
def test_float64_is_the_one_global_and_can_be_left_off(value, expected):
    env = {k: v for k, v in os.environ.items() if k != "IMPLICIT_BIAS_X64"}
    if value is not None:
        env["IMPLICIT_BIAS_X64"] = value
    code = "import implicit_bias, jax; print(jax.config.jax_enable_x64)"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == expected
