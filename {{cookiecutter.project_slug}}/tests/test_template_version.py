"""kto --version names the template commit; a local clone of the template tells whether a newer tag exists."""

import json
import subprocess
from pathlib import Path

import pytest
from helpers import run_kto

from kto.template_version import latest_tag_check, template_version

CRUFT_COMMIT = "0123456789abcdef0123456789abcdef01234567"
ANSWERS_COMMIT = "fedcba9876543210fedcba9876543210fedcba98"


def write_json(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data), encoding="utf-8")


def test_version_reads_cruft_first(project):
    cruft = {"template": "https://example.org/kto-template", "commit": CRUFT_COMMIT}
    write_json(project / ".cruft.json", cruft)
    write_json(project / ".cookiecutter.json", {"_commit": ANSWERS_COMMIT})
    result = run_kto(project, "--version")
    assert result.returncode == 0, result.stderr
    assert f"template {CRUFT_COMMIT[:12]} (from .cruft.json)" in result.stdout
    assert result.stdout.startswith("kto ")


def test_version_falls_back_to_the_answers_file(project):
    write_json(project / ".cookiecutter.json", {"language_code": "en", "_commit": ANSWERS_COMMIT})
    (project / "sub").mkdir()
    result = run_kto(project / "sub", "--version")  # found from a subfolder, like project.yaml
    assert f"template {ANSWERS_COMMIT[:12]} (from .cookiecutter.json)" in result.stdout


def test_version_without_a_known_commit(project):
    write_json(project / ".cookiecutter.json", {"language_code": "en"})
    assert "template commit unknown" in run_kto(project, "--version").stdout


def git(clone: Path, *args: str) -> str:
    command = ["git", "-c", "user.name=t", "-c", "user.email=t@example.org", "-C", str(clone), *args]
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout.strip()


@pytest.fixture
def template_clone(tmp_path) -> tuple[Path, list[str]]:
    """A real git repository with three commits; v0.1.0 on the first, v0.10.0 on the second."""
    clone = tmp_path / "kto-template"
    clone.mkdir()
    git(clone, "init", "-q")
    commits = []
    for number in range(3):
        (clone / "file").write_text(str(number))
        git(clone, "add", "file")
        git(clone, "commit", "-qm", f"change {number}")
        commits.append(git(clone, "rev-parse", "HEAD"))
    git(clone, "tag", "v0.1.0", commits[0])
    git(clone, "tag", "v0.10.0", commits[1])  # newer than v0.9 by version order, not by name
    git(clone, "tag", "v0.9.0", commits[0])
    return clone, commits


@pytest.mark.parametrize(("index", "behind"), [(0, True), (1, False), (2, False)])
def test_behind_the_latest_tag(project, template_clone, index, behind):
    clone, commits = template_clone
    write_json(project / ".cruft.json", {"template": str(clone), "commit": commits[index]})
    check = latest_tag_check(project)
    assert (check.tag, check.behind, check.clone) == ("v0.10.0", behind, clone)


def test_a_commit_the_clone_lacks_is_unknown(project, template_clone):
    clone, _ = template_clone
    write_json(project / ".cookiecutter.json", {"_commit": ANSWERS_COMMIT})
    check = latest_tag_check(project, clones=[clone])
    assert (check.tag, check.behind) == ("v0.10.0", None)


def test_no_commit_or_no_clone_gives_no_answer(project, tmp_path):
    assert latest_tag_check(project, clones=[]) is None  # no commit known
    write_json(project / ".cruft.json", {"template": str(tmp_path / "nowhere"), "commit": CRUFT_COMMIT})
    assert latest_tag_check(project, clones=[]) is None
    assert template_version(project).template == str(tmp_path / "nowhere")


def test_doctor_says_when_the_project_is_behind_the_template(project, template_clone):
    clone, commits = template_clone
    write_json(project / ".cruft.json", {"template": str(clone), "commit": commits[0]})
    result = run_kto(project, "doctor")
    [line] = [line for line in result.stdout.splitlines() if "template:" in line]
    assert line.startswith("warn template: behind kto-template v0.10.0 -> cruft update")
