"""The package declares what it imports: every module imported under src/ belongs to a distribution
named directly in pyproject.toml (core or an extra), never one reached through another package."""

import ast
import importlib.metadata as md
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: import names whose distribution is named differently and may be absent here (optional extras).
ALIASES = {"sklearn": "scikit-learn", "torch": "torch", "mnist1d": "mnist1d", "ray": "ray"}


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _declared() -> dict[str, str]:
    """distribution -> where it is declared ("core" or the extra's name)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    out = {}
    groups = {"core": project.get("dependencies", []), **project.get("optional-dependencies", {})}
    for group, reqs in groups.items():
        for req in reqs:
            out.setdefault(_norm(re.split(r"[\s<>=!~\[;]", req, maxsplit=1)[0]), group)
    return out


def _imports() -> dict[str, set[str]]:
    """top-level module name -> files under src/ that import it (absolute imports only)."""
    found: dict[str, set[str]] = {}
    for path in (ROOT / "src").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            else:
                continue
            for name in names:
                found.setdefault(name.split(".")[0], set()).add(str(path.relative_to(ROOT)))
    return found


def test_every_imported_distribution_is_declared():
    declared = _declared()
    owners = md.packages_distributions()
    missing = []
    for top, files in sorted(_imports().items()):
        if top in sys.stdlib_module_names or top == "implicit_bias" or top == "__future__":
            continue
        dists = {_norm(d) for d in owners.get(top, [])} or {_norm(ALIASES.get(top, top))}
        if not dists & set(declared):
            missing.append(f"{top} ({', '.join(sorted(dists))}) in {', '.join(sorted(files)[:3])}")
    assert not missing, "imported but not declared in pyproject.toml: " + "; ".join(missing)


def test_optional_distributions_are_imported_lazily():
    """A module of an extra (torch, mnist1d, ray) is imported inside a function, so the core installs alone."""
    declared = _declared()
    optional = {top for top, dist in ALIASES.items() if declared.get(_norm(dist), "core") != "core"}
    offenders = []
    for path in (ROOT / "src").rglob("*.py"):
        tree = ast.parse(path.read_text(), str(path))
        for node in tree.body:  # module level only
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module] if isinstance(node, ast.ImportFrom) and node.module else [])
            offenders += [f"{n} in {path.name}" for n in names if n.split(".")[0] in optional]
    assert not offenders, offenders


def test_no_declared_core_dependency_is_unused():
    """Every core dependency is imported somewhere (or is a solver/runtime named in a comment)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    core = {_norm(re.split(r"[\s<>=!~\[;]", r, maxsplit=1)[0]) for r in project["dependencies"]}
    owners = md.packages_distributions()
    imported = set()
    for top in _imports():
        imported |= {_norm(d) for d in owners.get(top, [])} | {_norm(ALIASES.get(top, top))}
    runtime_only = {"jaxlib", "clarabel"}  # jax's backend; the solver cvxpy calls by name
    assert core - imported - runtime_only == set()
