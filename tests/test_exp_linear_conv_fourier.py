"""linear-conv-fourier: the quick claims hold; a conv net collapsed to one layer fails the Fourier claims."""


import jax.numpy as jnp
import pytest

from implicit_bias.experiments import get_entry


@pytest.mark.slow
def test_quick_claims_hold():
    entry = get_entry("linear-conv-fourier")
    result = entry.run(entry.quick)
    failed = [(c.name, c.measured, c.expected) for c in result.claims if not c.holds]
    assert not failed, failed
    assert {"spectra", "margins"} <= set(result.figures)


@pytest.mark.slow
def test_one_layer_conv_fails_the_fourier_claims(monkeypatch):
    import implicit_bias.experiments.linear_conv_fourier as exp

    class Collapsed(exp.ConvNet):
        def spectrum(self, params):   # only the first filter: a linear model, whatever the depth
            return jnp.fft.fft(params["filters"][0])

    monkeypatch.setattr(exp, "ConvNet", Collapsed)
    result = exp.run(exp.ENTRY.quick)
    failed = {c.name for c in result.claims if not c.holds}
    assert "conv L = 2: Fourier-l1 margin / Fourier-l1 max margin (worst seed)" in failed
    assert "conv L = 2: l2 margin / l2 max margin (largest)" in failed
