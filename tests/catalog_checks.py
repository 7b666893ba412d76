"""Checks shared by the catalog entries' tests: the quick configuration's claims hold, and which claims fail."""

from implicit_bias.experiments import get_entry


def failed(result) -> list[str]:
    """Names of the claims that do not hold."""
    return [c.name for c in result.claims if not c.holds]


def quick_claims_hold(name: str):
    """Run the entry's quick configuration: every claim holds, with figures, metrics, results and guards."""
    entry = get_entry(name)
    result = entry.run(entry.quick)
    assert not failed(result), [(c.name, c.measured, c.expected) for c in result.claims if not c.holds]
    assert result.figures and result.metrics is not None and len(result.metrics)
    assert {c.kind for c in result.claims} >= {"result", "guard"}
    return result


def claim(result, start: str):
    """The first claim whose name starts with ``start`` (it must exist)."""
    found = [c for c in result.claims if c.name.startswith(start)]
    assert found, start
    return found[0]
