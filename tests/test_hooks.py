"""The hooks' checks, imported and called: every validated answer, without a cookiecutter run each
(tests/test_answers.py keeps a few end to end)."""

import pytest
from conftest import PROJECT_TEMPLATE, QUESTIONS, hook

PRE = hook("pre_gen_project")
POST = hook("post_gen_project")
SUPPORTED = ["en", "ja", "nl", "other"]
# The defaults as cookiecutter renders them.
VALID = {
    "language_code": "en",
    "language_name": "",
    "language_iso_code": "",
    "language_native_name": "",
    "language_direction": "ltr",
    "task": "haiku",
    "task_description": "Write a haiku in response to the prompt.",
    "project_name": "Haiku KTO (en)",
    "project_slug": "haiku-kto-en",
    "hf_namespace": "my-org",
    "dataset_name": "haiku-kto-en",
    "model_preset": "inference-providers",
    "models": "",
    "min_submitted": "2",
}

# An 'other' language as a team answers for it: its English name, its code and its own name.
FRISIAN = {"language_code": "other", "language_name": "West Frisian", "language_iso_code": "fy"}
FRISIAN |= {"language_native_name": "Frysk"}

BAD_ANSWERS = [
    pytest.param({"language_code": "xx"}, "language_code", id="unknown-language"),
    pytest.param({"language_code": ""}, "language_code", id="empty-language"),
    pytest.param({**FRISIAN, "language_name": ""}, "language_name", id="other-language-without-a-name"),
    pytest.param({**FRISIAN, "language_name": "Ur\ndu"}, "language_name", id="name-two-lines"),
    pytest.param({**FRISIAN, "language_iso_code": ""}, "language_iso_code", id="other-without-a-code"),
    pytest.param({**FRISIAN, "language_iso_code": "Fry"}, "language_iso_code", id="code-not-iso"),
    pytest.param({**FRISIAN, "language_iso_code": "nl"}, "language_iso_code", id="code-with-its-own-file"),
    pytest.param({"language_iso_code": "fy"}, "language_iso_code", id="code-for-listed"),
    pytest.param({**FRISIAN, "language_native_name": ""}, "language_native_name", id="other-no-native-name"),
    pytest.param({"language_native_name": "Nederlands"}, "language_native_name", id="native-for-listed"),
    pytest.param({"language_code": "nl", "language_name": "Flemish"}, "language_name", id="name-for-listed"),
    pytest.param(
        {**FRISIAN, "language_direction": "up"},
        "language_direction",
        id="unknown-direction",
    ),
    pytest.param({"language_direction": "rtl"}, "language_direction", id="direction-for-listed"),
    pytest.param({"project_slug": "Bad Slug"}, "project_slug", id="slug-with-space"),
    pytest.param({"project_slug": "1-haiku"}, "project_slug", id="slug-starts-with-digit"),
    pytest.param({"project_slug": "haiku--kto"}, "project_slug", id="slug-double-dash"),
    pytest.param({"project_slug": "k" * 65}, "project_slug", id="slug-too-long"),
    pytest.param({"hf_namespace": "-my-org"}, "hf_namespace", id="namespace-leading-dash"),
    pytest.param({"hf_namespace": "my org"}, "hf_namespace", id="namespace-space"),
    pytest.param({"hf_namespace": "my..org"}, "hf_namespace", id="namespace-double-dot"),
    pytest.param({"hf_namespace": "my-org/sub"}, "hf_namespace", id="namespace-slash"),
    pytest.param({"dataset_name": "d" * 97}, "dataset_name", id="dataset-too-long"),
    pytest.param({"min_submitted": "0"}, "min_submitted", id="no-annotators"),
    pytest.param({"min_submitted": "51"}, "min_submitted", id="too-many-annotators"),
    pytest.param({"min_submitted": "two"}, "min_submitted", id="annotators-not-a-number"),
    pytest.param({"models": "gpt-4"}, "models", id="model-without-owner"),
    pytest.param({"models": "a/b/c"}, "models", id="model-too-many-parts"),
    pytest.param({"models": "Qwen/Qwen2.5-7B-Instruct,Qwen/Qwen2.5-7B-Instruct"}, "models", id="model-twice"),
    pytest.param(
        {"model_preset": "local", "models": "Qwen/Qwen2.5-7B-Instruct"}, "models", id="local-with-models"
    ),
    pytest.param({"task": ""}, "task", id="empty-task"),
    pytest.param({"task": "t" * 61}, "task", id="task-too-long"),
    pytest.param({"task_description": "two\nlines"}, "task_description", id="multi-line-description"),
    pytest.param({"project_name": "   "}, "project_name", id="blank-name"),
]


@pytest.mark.parametrize(("changes", "field"), BAD_ANSWERS)
def test_a_bad_answer_is_reported_under_its_field(changes, field):
    found = PRE.problems({**VALID, **changes}, SUPPORTED)
    assert list(found) == [field], found
    assert "\n" not in found[field]


ODD_BUT_VALID = [
    pytest.param({"project_name": 'Haiku "KTO" — 俳句 \'27'}, id="quotes-and-cjk"),
    pytest.param({"task_description": '"""; import os; os.system("touch pwned"); """'}, id="python-quotes"),
    pytest.param(
        {**FRISIAN, "language_name": "Urdu", "language_iso_code": "ur", "language_direction": "rtl"},
        id="rtl-other",
    ),
    pytest.param({**FRISIAN, "language_iso_code": "frr", "language_name": "Frisian"}, id="an-ambiguous-name"),
    pytest.param({**FRISIAN, "language_iso_code": "gsw", "language_name": "Alsatian"}, id="iso-639-3"),
    pytest.param({"models": " Qwen/Qwen2.5-7B-Instruct , google/gemma-3-4b-it "}, id="models-with-spaces"),
    pytest.param({"min_submitted": 3}, id="annotators-as-number"),
]


@pytest.mark.parametrize("changes", [pytest.param({}, id="defaults"), *ODD_BUT_VALID])
def test_good_answers_pass(changes):
    assert PRE.problems({**VALID, **changes}, SUPPORTED) == {}


@pytest.mark.parametrize(
    ("name", "codes"),
    [("Frisian", ["fy", "frr", "stq"]), ("Sorbian", ["hsb", "dsb"]), ("Sámi", ["se", "smj"])],
)
@pytest.mark.parametrize("typed", ["", "fr"])
def test_an_ambiguous_name_gets_its_candidates(name, codes, typed):
    """'Frisian' is three languages: the error lists each code with the language it stands for."""
    found = PRE.problems({**VALID, **FRISIAN, "language_name": name, "language_iso_code": typed}, SUPPORTED)
    assert list(found) == ["language_iso_code"]
    assert "several languages" in found["language_iso_code"]
    assert all(f"{code} (" in found["language_iso_code"] for code in codes)


def test_an_answer_derived_from_a_bad_one_is_not_reported_again():
    found = PRE.problems({**VALID, "language_code": "xx", "language_name": "Basque"}, SUPPORTED)
    assert list(found) == ["language_code"]


def test_the_answers_the_hook_reads_are_the_questions():
    names = [line.split('"')[1] for line in PRE.ANSWERS_JSON.splitlines() if line.strip().startswith('"')]
    public = [
        key for key in QUESTIONS if not key.startswith("_") and key not in {"license", "include_training"}
    ]
    assert names == public == list(VALID)


def test_the_training_files_are_in_one_place_and_exist():
    assert "_training_files" in POST.TRAINING_FILES_JSON
    for relative in QUESTIONS["_training_files"]:
        assert (PROJECT_TEMPLATE / relative).is_file(), relative


def test_the_post_gen_hook_removes_what_it_is_given(tmp_path):
    for relative in ("TRAINING.md", "src/kto/train.py", "src/kto/cli.py"):
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text("x")
    POST.remove(tmp_path, ["TRAINING.md", "src/kto/train.py", "tests/test_train.py"])
    assert sorted(str(path.relative_to(tmp_path)) for path in tmp_path.rglob("*.*")) == ["src/kto/cli.py"]


@pytest.mark.parametrize(("training", "extras"), [(True, ".[local,dev,train]"), (False, ".[local,dev]")])
def test_the_install_line_has_the_extras_of_the_options_chosen(training, extras):
    assert POST.install_line({"include_training": training}) == f"pip install -e '{extras}'"


def test_an_other_project_is_told_the_steps_the_guides_give():
    steps = POST.translate_steps({**FRISIAN, "include_training": True})
    for step in ("TO TRANSLATE", "prompts/gold.jsonl", "language.code (fy)", "(Frysk)", "language.variant"):
        assert step in steps, step
    assert "language.reviewed: true" in steps and "kto language export" in steps
    assert POST.translate_steps({**VALID, "include_training": True}) == ""
