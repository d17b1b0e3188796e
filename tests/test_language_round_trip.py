"""A community's texts flow back: render ``other``, translate, ``kto language export``, and the file
is one the template's own language checks accept."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import PROJECT_TEMPLATE, TEMPLATE, bake, published_template

# The template's reference language, written by hand into an 'other' project as a team would
# translate it: the export must give back the very same file.
REFERENCE = "en"
# Keys of the language files that project.yaml does not hold yet: the volunteers' texts arrive with
# the community section (campaign branch); kto language export must then write them too. (Until the
# language branches land, the other files also lack this session's new keys.)


def language(code: str) -> dict:
    return yaml.safe_load((TEMPLATE / "languages" / f"{code}.yaml").read_text(encoding="utf-8"))


def translate(project: Path, lang: dict) -> None:
    """Every text of the 'other' project replaced by ``lang``'s (rewriting drops the TO TRANSLATE marks)."""
    path = project / "project.yaml"
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    keys = ("code", "name", "native_name", "direction", "variant", "card_paragraph", "models", "small_model")
    keys += ("starter_topics",)
    config["language"].update(
        {key: lang[key] for key in keys}, generic_prompt=lang["system_prompts"]["generic"]
    )
    config["task"]["system_prompt"] = lang["system_prompts"]["haiku"]
    config["argilla"].update(lang["annotation"])
    config["suggest"]["prompt"] = lang["judge"]
    config["prompts"]["writer_prompt"] = lang["prompt_writer"]
    if "community" in config:
        config["community"].update(lang["community"])
    path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")
    lines = [json.dumps({"prompt": prompt}, ensure_ascii=False) for prompt in lang["starter_prompts"]]
    (project / "prompts" / "starter.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")


def run_kto(project: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(project / "src"), "NO_COLOR": "1"}
    command = [sys.executable, "-m", "kto", *args]
    return subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> Path:
    project = bake(tmp_path_factory.mktemp("other"), language_code="other", language_name="English")
    translate(project, language(REFERENCE))
    result = run_kto(project, "language", "export", "--output", "out")
    assert result.returncode == 0, result.stderr
    return project / "out" / f"{REFERENCE}.yaml"


def test_the_export_gives_back_the_language_file(exported):
    original, back = language(REFERENCE), yaml.safe_load(exported.read_text(encoding="utf-8"))
    assert list(back) == list(original)
    assert back["reviewed"] is False and "kto language export" in back["source"]
    for key in set(back) - {"reviewed", "source"}:
        assert back[key] == original[key], key


def test_a_project_with_a_text_left_to_translate_is_refused(tmp_path):
    project = bake(tmp_path, language_code="other", language_name="Basque")
    result = run_kto(project, "language", "export")
    assert result.returncode == 1
    assert result.stderr.strip().startswith("error: project.yaml: line "), result.stderr
    assert "TO TRANSLATE" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not (project / "languages").exists()


@pytest.mark.slow
def test_the_exported_file_passes_the_templates_language_checks(exported, tmp_path):
    """The file copied into languages/ of a copy of the template, whose own checks then run: the
    reference file is what every other language is checked against, so a key the export drops or
    renames fails them all."""
    template = shutil.copytree(published_template(), tmp_path / "kto-template")
    shutil.copy(exported, template / "languages" / exported.name)
    # The template's tests list the files git would publish; the README's table follows the files,
    # as CONTRIBUTING asks of a contributor.
    subprocess.run(["git", "init", "-q"], cwd=template, check=True)
    subprocess.run([sys.executable, "scripts/update_readme_languages.py"], cwd=template, check=True)
    checks = ["-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "not slow", "tests/test_languages.py"]
    env = {
        **os.environ,
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONPATH": str(template / PROJECT_TEMPLATE.name / "src"),
    }
    result = subprocess.run(
        [sys.executable, *checks], cwd=template, env=env, capture_output=True, text=True, timeout=1200
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
