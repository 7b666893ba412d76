"""The package's rooms import only downward, and no catalog entry imports another.

Every ``import`` statement of every module under ``src/implicit_bias`` (those inside functions included: a
lazy import is still a dependency) is read with :mod:`ast`, resolved to the room it reaches (the first name
under ``implicit_bias``: ``models``, ``engine``, ``results``, ...) and checked against the table below.
Nothing is imported, so the check needs no jax and takes a fraction of a second.
"""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "implicit_bias"
FACADE = "implicit_bias"  # the package's __init__: the public API, for the front door only

#: room -> the rooms it may import (besides itself). Lower rooms never import higher ones (problems < models,
#: losses < optim < engine): models never import references or experiments, references never import the
#: engine, the store and the report know the results only.
FOUNDATION = {"errors", "encoding", "keys", "progress", "compilation", "memory", "diagnostics", "plotting"}
ALLOWED: dict[str, set[str]] = {room: set() for room in FOUNDATION}
ALLOWED.update({
    "plugins": {"errors"},
    "hparams": {"errors", "encoding"},
    "sweeps": {"errors"},
    "results": {"errors", "encoding"},
    "problems": {"errors"},
    "losses": {"errors"},
    "metrics": {"errors"},
})
_BASE = {"errors", "encoding", "hparams", "plugins", "keys"}
ALLOWED["models"] = _BASE | {"problems"}
ALLOWED["optim"] = _BASE | {"problems", "models", "losses", "metrics"}
ALLOWED["references"] = _BASE | {"problems", "metrics", "models"}
ALLOWED["engine"] = _BASE | {"problems", "models", "losses", "optim", "metrics", "sweeps", "compilation",
                             "memory", "progress"}
ALLOWED["store"] = {"errors", "encoding", "results"}
ALLOWED["report"] = ALLOWED["store"] | {"store", "plotting"}
_LIBRARY = ALLOWED["engine"] | {"engine", "references", "results", "plotting", "diagnostics"}
ALLOWED["identify"] = _LIBRARY
ALLOWED["experiments"] = _LIBRARY | {"identify"}
_FRONT_HELPERS = _LIBRARY | {"identify", "store", "report"}
ALLOWED["cli_support"] = _FRONT_HELPERS
ALLOWED["cli_components"] = _FRONT_HELPERS | {"cli_support"}
ALLOWED["sweep"] = _FRONT_HELPERS | {"cli_support", "cli_components"}
ALLOWED["bench"] = _FRONT_HELPERS | {"experiments", "sweep", FACADE}  # every bench*.py module, and each other
_EVERYTHING = set(ALLOWED) | {FACADE, "cli", "cli_identify", "cli_sweep", "cli_support", "cli_components"}
for _front in ("cli", "cli_identify", "cli_sweep", FACADE):
    ALLOWED[_front] = _EVERYTHING


def _row(room: str) -> str:
    """The table's row for a room: the benchmark tools (bench.py, bench_*.py) share one."""
    return "bench" if room.startswith("bench") else room


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _room(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else FACADE


#: an import statement at the start of a line, at any indentation (a parenthesized name list may span lines)
_STATEMENT = re.compile(r"^[ \t]*(?:from[ \t]+\S+[ \t]+import[ \t]+(?:\([^)]*\)|[^\n]*)|import[ \t]+[^\n]*)", re.M)


def _resolve(module: str, path: Path, nodes: list[tuple[ast.stmt, int]]) -> list[tuple[str, int]]:
    """(imported module of the package, line) for import statements of ``module`` (relative ones resolved)."""
    known = _modules()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node, line in nodes:
        if isinstance(node, ast.Import):  # a bare `import implicit_bias` only initializes the package, as
            # every import of a submodule does (a worker process does it first, for float64)
            found += [(alias.name, line) for alias in node.names if alias.name != FACADE or alias.asname]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(anchor + ([node.module] if node.module else []))
            for alias in node.names:  # `from pkg import mod` imports the module pkg.mod
                target = f"{base}.{alias.name}"
                found.append((target if target in known else base, line))
    return [(name, line) for name, line in found if name == FACADE or name.startswith(FACADE + ".")]


@cache
def _imports(module: str, path: Path) -> tuple[tuple[str, int], ...]:
    """Every import of the file, inside functions too: the statements found line by line (fast; an example in
    a docstring may be taken for one, so a file this finds at fault is read again by :func:`_exact_imports`)."""
    text = path.read_text(encoding="utf-8")
    nodes = []
    for match in _STATEMENT.finditer(text):
        try:
            statements = ast.parse(match.group(0).strip()).body
        except SyntaxError:
            continue
        nodes += [(node, text.count("\n", 0, match.start()) + 1) for node in statements]
    return tuple(_resolve(module, path, nodes))


def _exact_imports(module: str, path: Path) -> list[tuple[str, int]]:
    """Every import of the file from its syntax tree (slower; docstrings are never taken for code)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    nodes = [(n, n.lineno) for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))]
    return _resolve(module, path, nodes)


def _faults(check) -> list[str]:
    """``check(module, target)`` -> a complaint or None, over every import; confirmed on the syntax tree."""
    bad = []
    for module, path in _modules().items():
        if any(check(module, target) for target, _ in _imports(module, path)):
            bad += [f"{path.relative_to(PACKAGE.parent)}:{line}: {why}"
                    for target, line in _exact_imports(module, path) if (why := check(module, target))]
    return bad


def _is_entry(path: Path) -> bool:
    """A catalog entry: a module under experiments/ that assigns ``ENTRY`` at its top level."""
    return re.search(r"^ENTRY\b\s*(?::[^=\n]*)?=", path.read_text(encoding="utf-8"), re.M) is not None


def test_every_room_is_in_the_table():
    rooms = {_row(_room(m)) for m in _modules()}
    assert rooms <= set(ALLOWED), f"rooms missing from the layer table: {sorted(rooms - set(ALLOWED))}"


def test_rooms_import_only_the_rooms_below_them():
    def check(module: str, target: str) -> str | None:
        room, other = _row(_room(module)), _row(_room(target))
        if other != room and other not in ALLOWED.get(room, set()):
            return f"{room} imports {target} ({other})"
        return None

    bad = _faults(check)
    assert not bad, "imports against the layer order:\n" + "\n".join(bad)


def test_no_experiment_imports_another_experiment():
    modules = _modules()
    entries = {m for m, p in modules.items() if m.startswith("implicit_bias.experiments.") and _is_entry(p)}
    assert len(entries) > 20  # the catalog is found

    def check(module: str, target: str) -> str | None:
        if module.startswith("implicit_bias.experiments") and target != module and target in entries:
            return f"imports the entry {target}"
        return None

    bad = _faults(check)
    assert not bad, "shared code belongs in a lower room (metrics/, problems/, references/ or a private " \
                    "experiments/_helper.py), not in another entry:\n" + "\n".join(bad)


def test_the_checker_sees_function_level_and_relative_imports(tmp_path):
    src = tmp_path / "implicit_bias" / "models"
    src.mkdir(parents=True)
    (src / "demo.py").write_text('"""Example:\n\n    from implicit_bias.cli import app\n"""\n\n\ndef f():\n'
                                 '    from implicit_bias.references import x\n'
                                 '    from ..engine import (\n        train,\n    )\n')
    fast = {name for name, _ in _imports("implicit_bias.models.demo", src / "demo.py")}
    exact = {name for name, _ in _exact_imports("implicit_bias.models.demo", src / "demo.py")}
    assert exact == {"implicit_bias.references", "implicit_bias.engine"}
    assert fast == exact | {"implicit_bias.cli"}  # the docstring's example: only the exact pass rules it out
