"""Chunks of a sweep: consecutive configuration ranges of one compiled shape K.

Chunk i holds the configurations ``i·K … min((i+1)·K, M) − 1``; the last one is padded to K by
repeating its final configuration (as the engine pads its own chunks), so every chunk runs the same
compiled program, and the padded rows are dropped from its output.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np


@dataclass(frozen=True)
class Chunk:
    """Configurations ``start … stop − 1`` of the sweep, run as ``size`` (≥ stop − start) rows."""

    index: int
    start: int
    stop: int
    size: int

    @property
    def n_configs(self) -> int:
        return self.stop - self.start

    @property
    def name(self) -> str:
        return f"chunk-{self.index:05d}"


def plan(n_configs: int, chunk_size: int) -> list[Chunk]:
    """The chunks of M = ``n_configs`` configurations, K = ``chunk_size`` each (the last one padded)."""
    if n_configs < 1 or chunk_size < 1:
        raise ValueError(f"need n_configs, chunk_size >= 1, got {n_configs}, {chunk_size}")
    return [Chunk(i, start, min(start + chunk_size, n_configs), chunk_size)
            for i, start in enumerate(range(0, n_configs, chunk_size))]


def chunk_hparams(hparams: Mapping[str, np.ndarray], chunk: Chunk) -> dict[str, np.ndarray]:
    """The chunk's hyper-parameters (name -> (K,)), padded by repeating the last configuration."""
    out = {}
    for name, values in hparams.items():
        part = np.asarray(values)[chunk.start:chunk.stop]
        pad = chunk.size - len(part)
        out[name] = np.concatenate([part, np.repeat(part[-1:], pad)]) if pad else part.copy()
    return out
