"""The rendered project's shape, read from its code with ``ast``: an import graph without cycles
in which no lower module imports a higher one, files and functions short enough to read, and
test modules that stand alone. Nothing is imported or run."""

import ast
from pathlib import Path

import pytest
from conftest import PROJECT_TEMPLATE

PACKAGE = PROJECT_TEMPLATE / "src" / "kto"
TESTS = PROJECT_TEMPLATE / "tests"
MAX_FILE_LINES = 400
MAX_BODY_LINES = 60
# Layers, highest first; a module not named here is a building block (layer 0). A module may
# import its own layer or a lower one. A new step module goes in STEPS.
CLI = 3
DIAGNOSTICS = {"kto.doctor": 2}  # checks everything, so it may import any step; no step imports it
STEPS = {
    f"kto.{name}": 1
    for name in (
        "annotation",
        "backups",
        "checks",
        "evaluation",
        "eval_setup",  # imports kto.checks' gates; a building block once they are one
        "prompt_checks",
        "prompt_writer",
        "export_files",
        "generate",
        "language_export",
        "progress_post",
        "restore",
        "space",
        "status",
        "suggest",
        "train",
    )
}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imported(path: Path) -> set[str]:
    """The package's modules that ``path`` imports, at the top or lazily inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found |= {f"{node.module}.{alias.name}" for alias in node.names} | {node.module}
    return {name for name in found if name in MODULES} - {module_name(path)}


GRAPH = {name: imported(path) for name, path in MODULES.items()}


def layer(name: str) -> int:
    if name in ("kto.__main__", "kto.cli") or name.startswith("kto.cli."):
        return CLI
    return DIAGNOSTICS.get(name) or STEPS.get(name, 0)


def cycle_from(start: str) -> list[str] | None:
    """A path of imports from ``start`` back to itself, if there is one (depth first)."""
    stack, seen = [(start, [start])], set()
    while stack:
        name, path = stack.pop()
        for target in sorted(GRAPH[name]):
            if target == start:
                return [*path, start]
            if target not in seen:
                seen.add(target)
                stack.append((target, [*path, target]))
    return None


def test_the_graph_is_read():
    assert GRAPH["kto.annotation"] >= {"kto.config", "kto.checks"}  # a top-level and a lazy import
    assert STEPS.keys() <= MODULES.keys() and DIAGNOSTICS.keys() <= MODULES.keys()


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_import_cycle(name):
    assert cycle_from(name) is None, " -> ".join(cycle_from(name) or [])


def test_no_lower_module_imports_a_higher_one():
    upward = sorted(
        f"{name} imports {target}"
        for name, targets in GRAPH.items()
        for target in targets
        if layer(target) > layer(name)
    )
    assert upward == []


def body_lines(function: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """The lines of a function's body after its docstring: its signature (a command's option
    declarations) is not counted."""
    body = function.body
    if len(body) > 1 and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    return (body[-1].end_lineno or body[-1].lineno) - body[0].lineno + 1


@pytest.mark.parametrize("name", sorted(MODULES))
def test_files_and_functions_are_short(name):
    text = MODULES[name].read_text(encoding="utf-8")
    assert len(text.splitlines()) <= MAX_FILE_LINES, f"{name}: {len(text.splitlines())} lines"
    long = {
        node.name: body_lines(node)
        for node in ast.walk(ast.parse(text))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and body_lines(node) > MAX_BODY_LINES
    }
    assert long == {}, f"{name}: function bodies over {MAX_BODY_LINES} lines"


@pytest.mark.parametrize("path", sorted(TESTS.glob("test_*.py")), ids=lambda path: path.name)
def test_no_test_module_imports_another(path):
    """Shared helpers live in conftest.py or helpers.py."""
    test_modules = {other.stem for other in TESTS.glob("test_*.py")}
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module.split(".")[0])
    assert found & test_modules == set()
