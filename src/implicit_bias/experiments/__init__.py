"""The catalog of experiments: one module per result, each defining ``ENTRY``."""

from implicit_bias.experiments.registry import Entry, apply_overrides, catalog, get_entry

__all__ = ["Entry", "apply_overrides", "catalog", "get_entry"]
