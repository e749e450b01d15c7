"""The configuration does not depend on the simulator: nothing under harness/config imports harness.mock,
and outside harness/mock only the functions that start the simulator on purpose import it.

The simulator may import the shared modules (control_schema, deviation_format, world_spec, ...), never
the other way round.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

HARNESS = Path(__file__).resolve().parents[1] / "harness"
E1 = Path(__file__).resolve().parents[1] / "fixtures" / "deviations" / "e1-failover-splitting.yaml"
SIMULATOR_STARTERS = {
    ("run.py", "start_simulator"),  # a run (or a shared tour of several groups) on the built-in simulated arrays
    ("command_line.py", "_mock_serve"),  # `smis-harness mock serve`
}
"""(module, function) outside harness/mock that may import harness.mock, inside that function only."""

_FRESH_INTERPRETER = """
import importlib, json, pkgutil, sys, tempfile
from pathlib import Path
import harness.config
for module in pkgutil.walk_packages(harness.config.__path__, "harness.config."):
    importlib.import_module(module.name)
from harness.config import builtin_config, load_config
for kind in ("pair", "sld"):
    config = builtin_config(kind)
    config.simulated.world_spec(config.topology)
target = Path(tempfile.mkdtemp()) / "target.yaml"
target.write_text("topology: pair\\ngroups: [rcg_sync_0]\\nsimulated:\\n  deviations: " + sys.argv[1] + "\\n")
assert load_config(target).simulated.load_deviations().rules
print(json.dumps(sorted(m for m in sys.modules if m == "harness.mock" or m.startswith("harness.mock."))))
"""


def _imported_modules(node: ast.AST, package: str) -> list[str]:
    """The absolute names of the modules an import statement imports (`from X import y`: X and X.y)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if not isinstance(node, ast.ImportFrom):
        return []
    base = node.module or ""
    if node.level:
        parent = package.split(".")[: len(package.split(".")) - node.level + 1]
        base = ".".join([*parent, base] if base else parent)
    return [base, *(f"{base}.{alias.name}" for alias in node.names)]


def _is_simulator(module: str) -> bool:
    return module == "harness.mock" or module.startswith("harness.mock.")


def _simulator_imports(source: str, package: str) -> list[tuple[int, str | None, str]]:
    """(line, enclosing function as `Class.method` or None at module level, module) of every import of
    harness.mock in `source`, a module of `package` (imports inside functions and classes included)."""
    found: list[tuple[int, str | None, str]] = []

    def walk(node: ast.AST, scope: tuple[str, ...], function: str | None) -> None:
        for child in ast.iter_child_nodes(node):
            found.extend((child.lineno, function, m) for m in _imported_modules(child, package) if _is_simulator(m))
            if isinstance(child, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
                inner = (*scope, child.name)
                walk(child, inner, ".".join(inner) if not isinstance(child, ast.ClassDef) else function)
            else:
                walk(child, scope, function)

    walk(ast.parse(source), (), None)
    return found


def _file_simulator_imports(path: Path) -> list[tuple[int, str | None, str]]:
    package = ".".join(path.relative_to(HARNESS.parent).parts[:-1])
    return _simulator_imports(path.read_text(), package)


def test_importing_and_using_the_config_loads_no_simulator_module() -> None:
    """A fresh interpreter imports every harness.config module, loads both built-in targets and a target
    with a deviations file: not one harness.mock module is loaded on the way."""
    done = subprocess.run(
        [sys.executable, "-c", _FRESH_INTERPRETER, str(E1)], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1]) == []


def test_no_module_under_harness_config_imports_the_simulator() -> None:
    offending = {
        f"{path.relative_to(HARNESS.parent)}:{line}": module
        for path in sorted((HARNESS / "config").rglob("*.py"))
        for line, _, module in _file_simulator_imports(path)
    }
    assert offending == {}


def test_outside_the_simulator_only_its_starters_import_it() -> None:
    """harness/ outside harness/mock imports harness.mock only inside the functions that start it."""
    offending = {}
    for path in sorted(HARNESS.rglob("*.py")):
        if path.is_relative_to(HARNESS / "mock"):
            continue
        for line, function, module in _file_simulator_imports(path):
            if (str(path.relative_to(HARNESS)), function) not in SIMULATOR_STARTERS:
                offending[f"{path.relative_to(HARNESS.parent)}:{line} ({function or 'module level'})"] = module
    assert offending == {}


def test_the_scan_sees_every_form_of_import() -> None:
    """The static checks are only as good as their parser: absolute, from, relative and nested imports."""
    samples = {
        "import harness.mock.world": ["harness.mock.world"],
        "from harness.mock import control": ["harness.mock", "harness.mock.control"],
        "from harness import mock": ["harness", "harness.mock"],
        "from ..mock.deviations import Deviations": ["harness.mock.deviations", "harness.mock.deviations.Deviations"],
        "from . import mock": ["harness.config", "harness.config.mock"],
    }
    for source, expected in samples.items():
        assert _imported_modules(ast.parse(source).body[0], "harness.config") == expected, source
    nested = "class C:\n    def f(self):\n        import harness.mock.world\n\ndef g():\n    from ..mock import x\n"
    assert _simulator_imports(nested, "harness.config") == [
        (3, "C.f", "harness.mock.world"),
        (6, "g", "harness.mock"),
        (6, "g", "harness.mock.x"),
    ]
