"""Which version of kto-template the project was rendered from, and whether a newer tag is at hand.

``cruft create`` / ``cruft update`` keep the template's commit in ``.cruft.json``; a project made
with plain cookiecutter has it in its answers file, ``.cookiecutter.json`` (``_commit``), when the
template was a git checkout.
"""

import json
import subprocess
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from kto.config import find_config
from kto.errors import KtoError

CRUFT_FILE = ".cruft.json"
ANSWERS_FILE = ".cookiecutter.json"
# Where cookiecutter keeps the clone of a template given as gh:<org>/kto-template.
COOKIECUTTER_CLONE = Path("~/.cookiecutters/kto-template")


@dataclass(frozen=True)
class TemplateVersion:
    package: str  # the project package's version, or "not installed"
    commit: str | None  # the template commit the project was rendered from or last updated to
    source: str | None  # the file the commit was read from
    template: str | None  # where cruft fetches the template from (.cruft.json)

    def describe(self) -> str:
        if not self.commit:
            return f"kto {self.package}, template commit unknown"
        return f"kto {self.package}, template {self.commit[:12]} (from {self.source})"


@dataclass(frozen=True)
class TagCheck:
    """The newest tag of a local clone of the template, and whether the project is behind it."""

    tag: str
    behind: bool | None  # None: the project's commit is not in that clone (fetch it)
    clone: Path


def package_version() -> str:
    names = metadata.packages_distributions().get("kto", [])
    return metadata.version(names[0]) if names else "not installed"


def project_root() -> Path:
    """The folder of the nearest project.yaml, else the working directory."""
    try:
        return find_config().parent
    except KtoError:
        return Path.cwd()


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def template_version(root: Path) -> TemplateVersion:
    cruft = _read_json(root / CRUFT_FILE)
    if cruft.get("commit"):
        return TemplateVersion(package_version(), cruft["commit"], CRUFT_FILE, cruft.get("template"))
    commit = _read_json(root / ANSWERS_FILE).get("_commit")
    return TemplateVersion(package_version(), commit or None, ANSWERS_FILE if commit else None, None)


def _git(clone: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "-C", str(clone), *args], capture_output=True, text=True)


def template_clones(version: TemplateVersion) -> list[Path]:
    """Local git clones of the template: cruft's template when it is a folder, then cookiecutter's."""
    candidates = [Path(version.template)] if version.template else []
    candidates.append(COOKIECUTTER_CLONE.expanduser())
    return [path for path in candidates if (path / ".git").exists()]


def latest_tag_check(root: Path, clones: list[Path] | None = None) -> TagCheck | None:
    """Whether the project is behind the newest tag of the first local template clone with tags;
    None when no clone, no tag or no commit of the project is known."""
    version = template_version(root)
    if not version.commit:
        return None
    for clone in template_clones(version) if clones is None else clones:
        tags = _git(clone, "tag", "--list", "--sort=-v:refname").stdout.split()
        if not tags:
            continue
        if _git(clone, "cat-file", "-e", f"{version.commit}^{{commit}}").returncode:
            return TagCheck(tags[0], None, clone)
        contained = _git(clone, "merge-base", "--is-ancestor", tags[0], version.commit).returncode == 0
        return TagCheck(tags[0], not contained, clone)
    return None
