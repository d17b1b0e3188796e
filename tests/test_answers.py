"""Validated answers, end to end: a bad value stops cookiecutter with one line naming the field and
leaves nothing behind; odd but valid values (quotes, code, non-Latin text) are kept as data."""

import pytest
from conftest import bake, bake_cli
from kto.config import load_config

# End to end, through the cookiecutter command: a few cases; tests/test_hooks.py checks them all.
BAD_ANSWERS = [
    pytest.param(["language_code=xx"], "language_code", id="unknown-language"),
    pytest.param(
        ["language_code=en", "language_direction=rtl"], "language_direction", id="direction-for-listed"
    ),
    pytest.param(["task_description=two\nlines"], "task_description", id="multi-line-description"),
    pytest.param(["model_preset=local", "models=Qwen/Qwen2.5-7B-Instruct"], "models", id="local-with-models"),
]


@pytest.mark.parametrize(("answers", "field"), BAD_ANSWERS)
def test_a_bad_answer_is_one_line_naming_the_field(tmp_path, answers, field):
    result = bake_cli(tmp_path, *answers)
    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(errors) == 1, result.stderr
    assert errors[0].startswith(f"error: {field}: "), errors[0]
    assert list(tmp_path.iterdir()) == []


def test_every_bad_answer_is_reported_at_once(tmp_path):
    result = bake_cli(tmp_path, "language_code=xx", "hf_namespace=-x", "min_submitted=0")
    fields = [line.split(":")[1].strip() for line in result.stderr.splitlines() if line.startswith("error:")]
    assert fields == ["language_code", "hf_namespace", "min_submitted"]


# (Jinja in an answer is rendered by cookiecutter itself before any hook sees it.)
INJECTIONS = [
    '"""; import os; os.system("touch pwned"); """',
    "Ünïcödé — 俳句 \\ back\\slash 'quotes' \\n",
]


@pytest.mark.parametrize("text", INJECTIONS, ids=["python-quotes", "unicode"])
def test_answers_are_data_not_code(tmp_path, text):
    project = bake(tmp_path, task="poem", task_description=text, project_slug="injection-test")
    assert not (project / "pwned").exists() and not (tmp_path / "pwned").exists()
    assert text in load_config(project / "project.yaml").task.system_prompt
