import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import ModuleType

import pytest
from cookiecutter.main import cookiecutter

TEMPLATE = Path(__file__).resolve().parents[1]
PROJECT_TEMPLATE = TEMPLATE / "{{cookiecutter.project_slug}}"
QUESTIONS = json.loads((TEMPLATE / "cookiecutter.json").read_text(encoding="utf-8"))

# The template's own code, importable as it is: no Jinja in .py files. No bytecode beside it:
# cookiecutter would render whatever lies in the template folder.
sys.dont_write_bytecode = True
sys.path.insert(0, str(PROJECT_TEMPLATE / "src"))
sys.path.insert(0, str(TEMPLATE))  # kto_jinja: the language files as the template reads them
os.environ["HF_HUB_OFFLINE"] = "1"

# Named option sets (not the full product): every preset, both training choices, a non-Latin
# script, a task without starter prompts, and answers full of quotes. CI's matrix reads the same file.
COMBINATIONS = json.loads((TEMPLATE / "tests" / "combinations.json").read_text(encoding="utf-8"))


def hook(name: str) -> ModuleType:
    """A hook of hooks/, imported as it is (unrendered: its Jinja lies in string constants)."""
    spec = importlib.util.spec_from_file_location(name, TEMPLATE / "hooks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@cache
def published_template() -> Path:
    """The files git would publish (tracked, or new and not ignored), as users clone them.

    Baking the working tree would also render local caches (__pycache__, .ruff_cache).
    """
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=TEMPLATE,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    snapshot = Path(tempfile.mkdtemp(prefix="kto-template-")) / "kto-template"
    for name in filter(None, listed.split("\0")):
        if (TEMPLATE / name).is_file():
            (snapshot / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(TEMPLATE / name, snapshot / name)
    return snapshot


def bake(output_dir: Path, **answers: str) -> Path:
    # cookiecutter silently ignores unknown keys: a typo here would test the defaults.
    unknown = set(answers) - set(QUESTIONS)
    assert not unknown, f"not questions of the template: {unknown}"
    template = str(published_template())
    return Path(cookiecutter(template, no_input=True, extra_context=answers, output_dir=str(output_dir)))


def bake_cli(output_dir: Path, *answers: str) -> subprocess.CompletedProcess:
    """The cookiecutter command line, as users call it."""
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "cookiecutter",
            "--no-input",
            str(published_template()),
            "-o",
            str(output_dir),
            *answers,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )


@dataclass(frozen=True)
class BakedProject:
    name: str  # the combination's name in tests/combinations.json
    answers: dict[str, str]
    path: Path


@pytest.fixture(scope="session", params=list(COMBINATIONS), ids=list(COMBINATIONS))
def baked(request, tmp_path_factory) -> BakedProject:
    answers = COMBINATIONS[request.param]
    return BakedProject(request.param, answers, bake(tmp_path_factory.mktemp(request.param), **answers))


# `uses: owner/action@<40-hex commit>  # vX.Y.Z`: a tag can be moved to other code, a commit cannot;
# the comment tells Dependabot (and readers) which release the commit is.
PINNED_USES = re.compile(r"^\s*(?:- )?uses: [\w.-]+/[\w./-]+@[0-9a-f]{40}  # v\d+\.\d+\.\d+$")


def uses_lines(folder: Path) -> list[str]:
    """Every ``uses:`` line of the workflows in ``folder``."""
    return [
        line
        for path in sorted(folder.glob("*.yml"))
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip().removeprefix("- ").startswith("uses:")
    ]


def zizmor_findings(folder: Path) -> list[dict]:
    """What ``zizmor --offline`` reports on the workflows in ``folder`` (every audit, unpinned uses
    included)."""
    zizmor = shutil.which(
        "zizmor", path=os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]])
    )
    assert zizmor, "pip install -r requirements-dev.txt (zizmor)"
    result = subprocess.run(
        [zizmor, "--offline", "--format", "json", str(folder)], capture_output=True, text=True
    )
    assert result.stdout, result.stderr
    return json.loads(result.stdout)
