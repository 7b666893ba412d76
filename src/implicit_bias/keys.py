"""How a configuration's seed becomes random keys: (init key, run key) = split(PRNGKey(seed)).

The one rule shared by the engine (θ0 and the run's noise of every configuration), the NTK
reference (θ0 exactly as the engine draws it) and the command line.
"""

from __future__ import annotations

from typing import Any

import jax


def seed_keys(seed: Any) -> tuple[jax.Array, jax.Array]:
    """(init key, run key) of a configuration's seed (an int or a traced integer scalar)."""
    k_init, k_run = jax.random.split(jax.random.PRNGKey(seed))
    return k_init, k_run
