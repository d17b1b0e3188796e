"""Projects follow the template: two versions render in one process, and ``cruft update`` brings a
project made from the oldest renderable commit to HEAD with the team's edits kept."""

import json
import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
import yaml
from conftest import TEMPLATE, published_template

# The root commit: every project ever rendered is at least this new, its project has none of HEAD's
# tests or commands (the update has the most to bring), and it names its Jinja extension
# local_extensions with a one-argument load_language, the version cruft update crashed on.
OLDEST = "a2de55e086ca77c1f94e20fe1dfbf6eed6c9146f"
# Renders each template folder in turn from ONE folder, in one process, as cruft update does.
RENDER_IN_TURN = """
import shutil, sys
from pathlib import Path
from cookiecutter.main import cookiecutter

repo, *pairs = sys.argv[1:]
for source, output in zip(pairs[::2], pairs[1::2]):
    shutil.rmtree(repo, ignore_errors=True)
    shutil.copytree(source, repo)
    cookiecutter(repo, no_input=True, output_dir=output, extra_context={"project_slug": "p"})
"""


def git(*args: str, cwd: Path = TEMPLATE) -> str:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True).stdout.strip()


def oldest_template(folder: Path) -> Path:
    try:
        git("cat-file", "-e", f"{OLDEST}^{{commit}}")
    except subprocess.CalledProcessError:
        pytest.fail(f"commit {OLDEST[:7]} is not in this clone: fetch the full history (fetch-depth: 0)")
    folder.mkdir()
    archive = subprocess.run(["git", "archive", OLDEST], cwd=TEMPLATE, capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive.stdout, check=True)
    return folder


def guidelines(project: Path) -> str:
    return yaml.safe_load((project / "project.yaml").read_text(encoding="utf-8"))["argilla"]["guidelines"]


def english_guidelines(template: Path) -> str:
    (english,) = template.glob("*/en.yaml")
    return yaml.safe_load(english.read_text(encoding="utf-8"))["annotation"]["guidelines"]


def test_two_template_versions_render_in_one_process_each_with_its_own_texts(tmp_path):
    old = oldest_template(tmp_path / "old")
    new = published_template()
    # A later version whose extension, under HEAD's module name, reads its files from another folder.
    later = shutil.copytree(new, tmp_path / "later")
    (later / "languages").rename(later / "texts")
    edit(later / "kto_jinja.py", '/ "languages"', '/ "texts"')
    english = later / "texts" / "en.yaml"
    english.write_text(
        english.read_text(encoding="utf-8").replace("Read the prompt,", "Read the prompt slowly,"),
        encoding="utf-8",
    )
    outputs = [tmp_path / name for name in ("out-old", "out-new", "out-later")]
    pairs = [str(path) for pair in zip((old, new, later), outputs, strict=True) for path in pair]
    subprocess.run(
        [sys.executable, "-c", RENDER_IN_TURN, str(tmp_path / "repo"), *pairs],
        cwd=tmp_path,  # nothing importable here: each version is imported from the folder it renders
        check=True,
        capture_output=True,
        timeout=300,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    for template, output in zip((old, new, later), outputs, strict=True):
        assert guidelines(output / "p") == english_guidelines(template), output.name
    assert len({guidelines(output / "p") for output in outputs}) == 3


@pytest.fixture(scope="module")
def cloned(tmp_path_factory) -> tuple[Path, Path, str]:
    """A Dutch project made by cookiecutter from a git clone of the template, as gh:... does."""
    folder = tmp_path_factory.mktemp("clone")
    clone = folder / "kto-template"
    git("clone", "--quiet", str(TEMPLATE), str(clone), cwd=folder)
    answers = ["language_code=nl", "project_slug=p"]
    subprocess.run(
        [sys.executable, "-m", "cookiecutter", "--no-input", str(clone), "-o", str(folder), *answers],
        cwd=folder,
        check=True,
        capture_output=True,
        timeout=300,
    )
    return clone, folder / "p", git("rev-parse", "HEAD", cwd=clone)


def test_a_project_rendered_from_a_clone_knows_its_template_commit(cloned):
    _, project, commit = cloned
    assert json.loads((project / ".cookiecutter.json").read_text(encoding="utf-8"))["_commit"] == commit
    env = {**os.environ, "PYTHONPATH": str(project / "src")}
    version = subprocess.run(
        [sys.executable, "-m", "kto", "--version"], cwd=project, env=env, capture_output=True, text=True
    )
    assert f"template {commit[:12]} (from .cookiecutter.json)" in version.stdout, version.stderr


def test_a_cookiecutter_project_links_to_cruft_as_the_readme_says(cloned):
    clone, project, commit = cloned
    answers = (project / ".cookiecutter.json").read_text(encoding="utf-8")
    link = ["link", str(clone), "--no-input", "--checkout", commit, "--extra-context", answers]
    cruft(*link, cwd=project)
    state = json.loads((project / ".cruft.json").read_text(encoding="utf-8"))
    assert state["commit"] == commit and state["context"]["cookiecutter"]["language_code"] == "nl"
    assert "up to date" in cruft("check", cwd=project).stdout


def cruft(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "-m", "cruft", *args], cwd=cwd, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} is not in {path.name}: choose another edit"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.mark.slow
def test_cruft_updates_a_project_from_the_oldest_commit_to_head(tmp_path):
    """cruft clones this repository: it updates to the last commit, not to uncommitted changes."""
    head = git("rev-parse", "HEAD")
    if git("status", "--porcelain"):
        warnings.warn(f"cruft updates to HEAD ({head[:7]}): uncommitted changes are not tested", stacklevel=1)
    oldest_template(tmp_path / "oldest")  # fails early, and clearly, in a shallow clone
    cruft(
        "create",
        str(TEMPLATE),
        "--checkout",
        OLDEST,
        "--no-input",
        "--output-dir",
        str(tmp_path),
        cwd=tmp_path,
    )
    project = tmp_path / "haiku-kto-en"
    # The team's edits, committed (cruft updates a clean git tree only).
    edit(project / "project.yaml", 'license: "apache-2.0"', 'license: "cc-by-4.0"')
    edit(project / "prompts" / "starter.jsonl", "the serenity of mountain peaks", "our river at dusk")
    for command in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "our project"]):
        git("-c", "user.name=team", "-c", "user.email=team@example.org", *command, cwd=project)

    cruft("update", "--skip-apply-ask", "--checkout", head, cwd=project)

    assert json.loads((project / ".cruft.json").read_text(encoding="utf-8"))["commit"] == head
    assert not list(project.rglob("*.rej")), "a conflict where none was expected"
    assert 'license: "cc-by-4.0"' in (project / "project.yaml").read_text(encoding="utf-8")
    assert "our river at dusk" in (project / "prompts" / "starter.jsonl").read_text(encoding="utf-8")
    assert guidelines(project) == english_guidelines(TEMPLATE)
    for new_file in ("README.md", "tests/conftest.py", "src/kto/export.py", ".github/workflows/ci.yml"):
        assert (project / new_file).is_file(), new_file
    # What the update could break beyond HEAD's own files, which every combination's suite tests:
    # the team's edited config and prompts read by the code, the CLI, the texts and the cards.
    checks = ["tests/test_config.py", "tests/test_cli.py", "tests/test_guides.py", "tests/test_cards.py"]
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "not slow", *checks],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
