"""The package's shape: every public name (a top-level function, class or assignment not
starting with ``_``) is defined in one module of ``benchmark/`` only, so an import names its
one owner and a reader never meets two meanings of one name; a package's lazy exports are the
names they say; and the size limits of docs/architecture.md (no module over 400 lines, no
function over 80)."""

from __future__ import annotations

import ast
import importlib
import types
from collections import defaultdict
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "benchmark"

# Names defined in several modules on purpose, as an interface: every `benchmark/cli/<command>.py`
# defines `register(commands)`, which `benchmark.cli.build_parser` calls to add its subcommand.
INTERFACES = {"register"}


def _public_names(tree: ast.Module) -> list[str]:
    names: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.append(node.name)
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                elements = target.elts if isinstance(target, ast.Tuple) else [target]
                names += [e.id for e in elements if isinstance(e, ast.Name)]
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.append(node.target.id)
    return [name for name in names if not name.startswith("_")]


def defining_modules() -> dict[str, list[str]]:
    """Public name -> the modules (paths relative to the repository) that define it."""
    owners: dict[str, list[str]] = defaultdict(list)
    for path in sorted(PACKAGE.rglob("*.py")):
        for name in _public_names(ast.parse(path.read_text(encoding="utf-8"))):
            owners[name].append(str(path.relative_to(PACKAGE.parent)))
    return owners


def test_no_public_name_is_defined_in_two_modules():
    twice = {
        name: modules
        for name, modules in defining_modules().items()
        if len(modules) > 1 and name not in INTERFACES
    }
    assert twice == {}, "define each public name once and import it from its owner"


def test_the_check_sees_names_defined_twice():
    # The check above would pass vacuously if the scan missed definitions: the CLI hook is
    # found in every subcommand module.
    assert len(defining_modules()["register"]) >= 9
    assert _public_names(ast.parse("A, _b = 1, 2\nc: int = 3\ndef d(): pass\nclass _E: pass")) == [
        "A",
        "c",
        "d",
    ]


LAZY_PACKAGES = ("crossval", "data", "engine", "report", "search", "stages", "store")


@pytest.mark.parametrize("package", LAZY_PACKAGES)
def test_an_export_named_as_its_module_stays_the_export_once_the_module_is_imported(package):
    # Importing submodule `m` binds the package's attribute `m` to the module: an export `m`
    # defined in it (engine's retrieval_metrics) must stay the function.
    exports = importlib.import_module(f"benchmark.{package}")
    for name in exports.__all__:
        if (PACKAGE / package / f"{name}.py").is_file():
            importlib.import_module(f"benchmark.{package}.{name}")
            assert not isinstance(getattr(exports, name), types.ModuleType), name


MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 80
MODULES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_module_and_its_functions_stay_within_the_size_limits(path):
    source = path.read_text(encoding="utf-8")
    lines = len(source.splitlines())
    assert lines <= MAX_MODULE_LINES, f"{path.name}: {lines} lines; split it by concern"
    too_long = [
        f"{node.name} ({node.end_lineno - node.lineno + 1} lines)"
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno is not None
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
    ]
    assert not too_long, f"{path.name}: functions over {MAX_FUNCTION_LINES} lines: {too_long}"


def test_the_size_check_sees_every_module():
    assert len(MODULES) > 150
