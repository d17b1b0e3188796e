"""A community's texts flow back: render ``other``, translate, ``kto language export``, and the file
is one the template's own language checks accept; a file still in English is refused."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import PROJECT_TEMPLATE, TEMPLATE, bake, published_template
from kto.topic_glosses import glosses, topic_lines

# A language of the template, written by hand into an 'other' project as a team would translate
# it: the export must give back the very same file, glosses included. Not English: the export
# refuses texts still equal to the English placeholders the project started from.
REFERENCE = "nl"
# An 'other' language as a team renders it.
FRISIAN = {"language_code": "other", "language_name": "West Frisian", "language_iso_code": "fy"}
FRISIAN |= {"language_native_name": "Frysk"}


def language(code: str) -> dict:
    return yaml.safe_load((TEMPLATE / "languages" / f"{code}.yaml").read_text(encoding="utf-8"))


def without_marks(project: Path) -> None:
    """project.yaml, the starter prompts and the gold records with their TO TRANSLATE marks deleted
    and nothing translated: rewriting project.yaml drops its comments, marks included."""
    path = project / "project.yaml"
    path.write_text(yaml.safe_dump(yaml.safe_load(path.read_text(encoding="utf-8")), allow_unicode=True))
    for name in ("starter.jsonl", "gold.jsonl"):
        rows = [
            json.loads(line) for line in (project / "prompts" / name).read_text(encoding="utf-8").splitlines()
        ]
        lines = [
            json.dumps({k: v for k, v in row.items() if k != "to_do"}, ensure_ascii=False) for row in rows
        ]
        (project / "prompts" / name).write_text("\n".join(lines) + "\n", encoding="utf-8")


def translate(project: Path, code: str) -> None:
    """Every text of the 'other' project replaced by language ``code``'s, its topics' glosses included."""
    without_marks(project)
    lang = language(code)
    path = project / "project.yaml"
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    keys = ("code", "name", "native_name", "direction", "variant", "card_paragraph", "models", "small_model")
    config["language"].update(
        {key: lang[key] for key in keys}, generic_prompt=lang["system_prompts"]["generic"]
    )
    config["task"]["system_prompt"] = lang["system_prompts"]["haiku"]
    config["argilla"].update(lang["annotation"])
    config["suggest"]["prompt"] = lang["judge"]
    config["prompts"]["writer_prompt"] = lang["prompt_writer"]
    if "community" in config:
        config["community"].update(lang["community"])
    # The topics' glosses are comments, which YAML does not write: the list goes in by hand.
    config["language"]["starter_topics"] = "TOPICS"
    text = yaml.safe_dump(config, allow_unicode=True, sort_keys=False)
    found = glosses((TEMPLATE / "languages" / f"{code}.yaml").read_text(encoding="utf-8"))
    topics = topic_lines(lang["starter_topics"], found, indent=4)
    path.write_text(
        text.replace("  starter_topics: TOPICS\n", f"  starter_topics:\n{topics}\n"), encoding="utf-8"
    )
    lines = [json.dumps({"prompt": prompt}, ensure_ascii=False) for prompt in lang["starter_prompts"]]
    (project / "prompts" / "starter.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")


def run_kto(project: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(project / "src"), "NO_COLOR": "1"}
    command = [sys.executable, "-m", "kto", *args]
    return subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> Path:
    project = bake(tmp_path_factory.mktemp("other"), **FRISIAN)
    translate(project, REFERENCE)
    result = run_kto(project, "language", "export", "--output", "out")
    assert result.returncode == 0, result.stderr
    return project / "out" / f"{REFERENCE}.yaml"


def test_the_export_gives_back_the_language_file(exported):
    original, back = language(REFERENCE), yaml.safe_load(exported.read_text(encoding="utf-8"))
    assert list(back) == list(original)
    assert back["reviewed"] is False and "kto language export" in back["source"]
    for key in set(back) - {"reviewed", "source"}:
        assert back[key] == original[key], key
    reference = (TEMPLATE / "languages" / f"{REFERENCE}.yaml").read_text(encoding="utf-8")
    assert glosses(exported.read_text(encoding="utf-8")) == glosses(reference) != []


def test_a_project_still_in_english_is_refused_and_told_where(tmp_path):
    """The marks deleted, the texts not translated: the export names how many and where."""
    project = bake(tmp_path, **FRISIAN)
    without_marks(project)
    result = run_kto(project, "language", "export")
    assert result.returncode == 1 and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "texts are still the English placeholders (" in result.stderr, result.stderr
    for place in ("task.system_prompt", "language.generic_prompt", "argilla.guidelines"):
        assert place in result.stderr, place
    assert "write them in West Frisian" in result.stderr
    assert not (project / "languages").exists()


def test_a_project_with_a_text_left_to_translate_is_refused(tmp_path):
    project = bake(tmp_path, **FRISIAN)
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
