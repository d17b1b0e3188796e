"""Each named option set renders a complete, valid, lint-clean project."""

import json
import re
import subprocess
import sys
import tomllib

import pytest
import yaml
from conftest import PROJECT_TEMPLATE, QUESTIONS, TEMPLATE, published_template
from kto.config import load_config
from kto.prompts import load_prompts

# What the post-gen hook removes from a project without training.
TRAINING_FILES = set(QUESTIONS["_training_files"])
TEXT_SUFFIXES = {".md", ".yaml", ".yml", ".toml", ".json", ".jsonl", ".txt", ""}
# Every file a project gets besides its code and tests (src/kto/*.py and tests/*.py, copied byte
# for byte and checked below): an extra or a missing one fails.
PROJECT_FILES = {
    ".cookiecutter.json",
    ".github/workflows/ci.yml",
    ".gitignore",
    ".pre-commit-config.yaml",
    "README.md",
    "TRAINING.md",
    "docker-compose.yaml",
    "project.yaml",
    "prompts/starter.jsonl",
    "pyproject.toml",
    "ruff.toml",
}
# The file set of each combination, when it differs from PROJECT_FILES.
EXPECTED_FILES = {"es-local-no-training": PROJECT_FILES - {"TRAINING.md"}}
# Jinja's markers, with GitHub Actions' own ${{ ... }} expressions taken out first.
JINJA_MARKERS = ("{{", "}}", "{%", "%}")
ACTIONS_EXPRESSION = re.compile(r"\$\{\{.*?\}\}")


def language(code: str) -> dict:
    return yaml.safe_load((TEMPLATE / "languages" / f"{code}.yaml").read_text(encoding="utf-8"))


def files(root) -> set[str]:
    return {
        str(path.relative_to(root))
        for path in root.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }


def code_files(root) -> set[str]:
    return {name for name in files(root) if name.startswith(("src/kto/", "tests/")) and name.endswith(".py")}


def test_the_file_set_is_exact(baked):
    code = code_files(published_template() / PROJECT_TEMPLATE.name)
    if baked.answers.get("include_training") == "n":
        code -= TRAINING_FILES
    assert files(baked.path) == EXPECTED_FILES.get(baked.name, PROJECT_FILES) | code


def test_no_template_syntax_is_left(baked):
    for path in baked.path.rglob("*"):
        if path.is_file() and path.suffix in TEXT_SUFFIXES:
            text = ACTIONS_EXPRESSION.sub("", path.read_text(encoding="utf-8"))
            assert not [marker for marker in JINJA_MARKERS if marker in text], path


def test_python_files_are_copied_as_they_are(baked):
    project = baked.path
    for source in PROJECT_TEMPLATE.rglob("*.py"):
        relative = source.relative_to(PROJECT_TEMPLATE)
        if (project / relative).exists() or str(relative) not in TRAINING_FILES:
            assert (project / relative).read_bytes() == source.read_bytes()


def test_the_config_carries_the_answers_and_the_language(baked):
    answers, project = baked.answers, baked.path
    config = load_config(project / "project.yaml")
    lang = language(answers.get("language_code", "en"))
    assert config.language.code == lang["code"]
    assert config.language.native_name == lang["native_name"]
    assert config.argilla.min_submitted == int(answers.get("min_submitted", 2))
    assert config.argilla.guidelines == lang["annotation"]["guidelines"]
    assert config.hub.license == answers.get("license", "apache-2.0")
    if answers.get("task", "haiku") == "haiku":
        assert config.task.system_prompt == lang["system_prompts"]["haiku"]
        assert (
            load_prompts(config.prompts.source, config.prompts.column, config.root) == lang["starter_prompts"]
        )
    else:
        assert answers["task"] in config.task.system_prompt
        assert answers["task_description"] in config.task.system_prompt
        assert (project / "prompts" / "starter.jsonl").read_text(encoding="utf-8") == ""


def test_the_models_follow_the_preset(baked):
    answers, project = baked.answers, baked.path
    slots = load_config(project / "project.yaml").generation.models
    preset = answers.get("model_preset", "inference-providers")
    custom = [part.strip() for part in answers.get("models", "").split(",") if part.strip()]
    picks = custom or [model["id"] for model in language(answers.get("language_code", "en"))["models"][:3]]
    if preset == "local":
        assert {slot.backend for slot in slots} == {"local"} and len(slots) == 2
        return
    assert [slot.id for slot in slots] == picks
    assert {slot.backend for slot in slots} == {"openai"}
    if preset == "inference-providers":
        assert {slot.base_url for slot in slots} == {"https://router.huggingface.co/v1"}
        assert {slot.api_key_env for slot in slots} == {"HF_TOKEN"}
    else:
        assert {slot.base_url for slot in slots} == {"http://localhost:8000/v1"}


def test_pyproject_declares_the_command_and_extras(baked):
    answers, project = baked.answers, baked.path
    pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["scripts"] == {"kto": "kto.cli:main"}
    extras = pyproject["project"]["optional-dependencies"]
    assert {"local", "dev", "ray"} <= set(extras)
    assert ("train" in extras) == (answers.get("include_training") != "n")
    assert any(dependency.startswith("requests") for dependency in pyproject["project"]["dependencies"])


def test_the_actions_workflow_is_valid_and_keeps_its_expressions(baked):
    project = baked.path
    text = (project / ".github" / "workflows" / "ci.yml").read_text(encoding="utf-8")
    workflow = yaml.safe_load(text)
    assert workflow["permissions"] == {}
    assert "${{ matrix.python-version }}" in text and "${{ github.ref }}" in workflow["concurrency"]["group"]
    checkout = workflow["jobs"]["test"]["steps"][0]
    assert (
        checkout["uses"].startswith("actions/checkout@") and checkout["with"]["persist-credentials"] is False
    )
    assert workflow["jobs"]["test"]["steps"][-1]["run"] == "pytest"


def test_the_answers_are_saved_without_machine_paths(baked):
    answers, project = baked.answers, baked.path
    saved = json.loads((project / ".cookiecutter.json").read_text(encoding="utf-8"))
    # The tests render a copy of the files, not a git checkout: no _commit (tests/test_updates.py).
    assert not [key for key in saved if key.startswith("_")]
    for key, value in answers.items():
        assert saved[key] == {"n": False}.get(value, value)


def test_secrets_and_data_are_ignored_by_git(baked):
    project = baked.path
    ignored = (project / ".gitignore").read_text(encoding="utf-8").split()
    assert {".env", "data/", ".cache/"} <= set(ignored)


def test_the_project_is_ruff_clean(baked):
    project = baked.path
    for command in (["check", "--no-cache", "."], ["format", "--check", "--no-cache", "."]):
        result = subprocess.run(
            [sys.executable, "-m", "ruff", *command], cwd=project, capture_output=True, text=True
        )
        assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
@pytest.mark.rendered
def test_the_projects_own_tests_pass_inside_it(baked):
    name, project = baked.name, baked.path
    # The real-model tests run for two option sets (one in a non-Latin script); all run the rest.
    marker = [] if name in {"en-default", "ja-custom-models"} else ["-m", "not slow"]
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *marker],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout
    if not marker:  # the full runs must not skip their real-server and browser tests
        assert " skipped" not in result.stdout.splitlines()[-1], result.stdout[-2000:]


def test_the_templates_own_python_is_ruff_clean():
    python_files = [str(path) for path in TEMPLATE.rglob("*.py") if not {".venv", "build"} & set(path.parts)]
    for command in (["check", "--no-cache"], ["format", "--check", "--no-cache"]):
        result = subprocess.run(
            [sys.executable, "-m", "ruff", *command, *python_files],
            cwd=TEMPLATE,
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stdout + result.stderr
