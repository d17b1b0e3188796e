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
# Layers, highest first: the CLI, the steps, and below them the building blocks (every module not
# named here). A module may import its own layer or a lower one, and no step imports another step.
# A step carries out one kto command for the CLI (kto eval: evaluation, kto doctor: doctor); what
# two steps share is a building block: the Argilla dataset (argilla_dataset), the gates (gates,
# prompt_gates), the backup history (backup_history), the judge (judging), eval's files
# (eval_files), the engine. A new step module goes in STEPS.
CLI = 2
STEP = 1
STEPS = {
    f"kto.{name}"
    for name in (
        "annotation",
        "backups",
        "checks",
        "community_board",
        "community_merge",
        "doctor",
        "evaluation",
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
    return STEP if name in STEPS else 0


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
    assert GRAPH["kto.annotation"] >= {"kto.config", "kto.gates"}  # a top-level and a lazy import
    assert MODULES.keys() >= STEPS


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


def test_no_step_imports_another_step():
    assert sorted(f"{name} imports {target}" for name in STEPS for target in GRAPH[name] & STEPS) == []


def test_every_step_is_a_command():
    """The CLI runs each step: a module in STEPS that the CLI does not import is a building block."""
    commands = set().union(*(GRAPH[name] for name in GRAPH if layer(name) == CLI))
    assert STEPS - commands == set()


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
    """Shared helpers live in helpers.py."""
    test_modules = {other.stem for other in TESTS.glob("test_*.py")}
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module.split(".")[0])
    assert found & (test_modules | {"conftest"}) == set()


def test_conftest_holds_fixtures_only():
    tree = ast.parse((TESTS / "conftest.py").read_text(encoding="utf-8"))
    # Functions, classes and names it defines (setting the environment, as it does first, defines none).
    defined = [
        node
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.ClassDef)
        or (isinstance(node, ast.Assign) and any(isinstance(target, ast.Name) for target in node.targets))
    ]
    assert [ast.unparse(node).splitlines()[0] for node in defined if not is_fixture(node)] == []


def is_fixture(node: ast.stmt) -> bool:
    decorators = getattr(node, "decorator_list", [])
    return any("pytest.fixture" in ast.unparse(decorator) for decorator in decorators)
