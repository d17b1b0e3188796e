"""kto language export: the project's texts as the template's language file, or one line saying why not."""

import json

import pytest
import yaml
from helpers import assert_one_error_line, edit_config, run_kto

from kto.config import load_config
from kto.errors import KtoError
from kto.language_export import export_language
from kto.topic_glosses import glosses

# The keys of the template's languages/<code>.yaml, in its order.
SCHEMA = ["code", "name", "native_name", "direction", "variant", "reviewed", "source", "system_prompts"]
SCHEMA += [
    "annotation",
    "judge",
    "prompt_writer",
    "card_paragraph",
    "community",
    "models",
    "small_model",
    "starter_prompts",
    "starter_topics",
]
STARTER = [
    {"prompt": "Write a haiku about the harbour at low tide.", "topic": "harbour at low tide"},
    {"prompt": "Write a haiku about a bicycle bell\nin the rain.", "topic": "bicycle bell in the rain"},
]


@pytest.fixture(autouse=True)
def gold_translated(project) -> None:
    """An 'other' project's gold records as a team leaves them once translated: without their
    TO TRANSLATE marks (the tests here mark what they need themselves)."""
    path = project / "prompts" / "gold.jsonl"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    kept = [{key: value for key, value in row.items() if key != "to_do"} for row in rows]
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in kept), encoding="utf-8")


def ready(config: dict) -> None:
    """A project whose texts are done (edit_config drops project.yaml's comments, marks included)."""
    config["task"]["name"] = "haiku"
    config["language"]["starter_topics"] = [row["topic"] for row in STARTER]
    if config["language"]["code"] == "other":
        config["language"].update(code="eu", variant="eu-ES")


def write_starter(project, rows: list[dict]) -> None:
    lines = [json.dumps({"prompt": row["prompt"]}, ensure_ascii=False) for row in rows]
    (project / "prompts" / "starter.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_export_writes_the_templates_schema(project):
    config = edit_config(project, ready)
    write_starter(project, STARTER)
    result = run_kto(project, "language", "export", "--output", "out", "--source", "The harbour choir")
    assert result.returncode == 0, result.stderr
    code = config["language"]["code"]
    exported = yaml.safe_load((project / "out" / f"{code}.yaml").read_text(encoding="utf-8"))
    assert list(exported) == SCHEMA
    assert (exported["reviewed"], exported["source"]) == (config["language"]["reviewed"], "The harbour choir")
    assert exported["system_prompts"] == {
        "haiku": config["task"]["system_prompt"],
        "generic": config["language"]["generic_prompt"],
    }
    assert exported["annotation"]["guidelines"] == config["argilla"]["guidelines"]
    assert exported["annotation"]["label_up"] == config["argilla"]["label_up"]
    assert exported["judge"] == config["suggest"]["prompt"]
    assert exported["prompt_writer"] == config["prompts"]["writer_prompt"]
    assert exported["community"]["sign_in"] == config["community"]["sign_in"]
    assert not {"space_url", "hall_of_fame", "hide"} & set(exported["community"])  # the campaign's own
    assert exported["models"] == config["language"]["models"]
    assert exported["small_model"] == config["language"]["small_model"]
    assert exported["starter_prompts"] == [row["prompt"] for row in STARTER]
    assert exported["starter_topics"] == [row["topic"] for row in STARTER]
    assert f"{code}.yaml" in result.stderr


def test_export_by_default_writes_into_languages_and_names_its_source(project):
    config = edit_config(project, ready)
    write_starter(project, STARTER)
    report = export_language(load_config(project / "project.yaml"))
    code = config["language"]["code"]
    assert (report.path, report.code, report.prompts) == (project / "languages" / f"{code}.yaml", code, 2)
    exported = yaml.safe_load(report.path.read_text(encoding="utf-8"))
    assert "kto language export" in exported["source"] and config["hub"]["dataset"] in exported["source"]


def test_export_keeps_each_topics_english_gloss(project):
    """The gloss ending a topic's line in project.yaml ends it in the language file too."""
    edit_config(project, ready)
    write_starter(project, STARTER)
    path = project / "project.yaml"
    text = path.read_text(encoding="utf-8")
    for number, row in enumerate(STARTER):
        text = text.replace(f"- {row['topic']}\n", f"- {row['topic']}  # gloss {number} # kept whole\n")
    path.write_text(text, encoding="utf-8")
    report = export_language(load_config(path))
    written = report.path.read_text(encoding="utf-8")
    assert glosses(written) == ["gloss 0 # kept whole", "gloss 1 # kept whole"]
    assert yaml.safe_load(written)["starter_topics"] == [row["topic"] for row in STARTER]


@pytest.mark.parametrize("reviewed", [True, False])
def test_export_keeps_the_review_and_the_source_of_the_texts(project, reviewed):
    """A reviewed file stays reviewed, and who wrote the texts is still said after the round trip."""
    written_by = "Written by the harbour choir (native speakers)."

    def texts_of_the_choir(config: dict) -> None:
        ready(config)
        config["language"].update(reviewed=reviewed, source=written_by)

    edit_config(project, texts_of_the_choir)
    write_starter(project, STARTER)
    assert run_kto(project, "language", "export").returncode == 0, "export failed"
    (path,) = (project / "languages").glob("*.yaml")
    exported = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert exported["reviewed"] is reviewed
    assert exported["source"].startswith(written_by) and "kto language export" in exported["source"]
    assert ("awaiting a native speaker's review" in exported["source"]) is not reviewed


def mark_a_text(project) -> None:
    with (project / "project.yaml").open("a", encoding="utf-8") as handle:
        handle.write("# TO TRANSLATE into Basque (English placeholder)\n")


def mark_a_prompt(project) -> None:
    write_starter(project, STARTER)
    path = project / "prompts" / "starter.jsonl"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    rows[1]["to_do"] = "TO TRANSLATE into Basque, then delete to_do"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")


def english_placeholders(project) -> None:
    """The English texts the project started from, as an 'other' project keeps them."""
    config = load_config(project / "project.yaml")
    english = {
        "annotation": {"guidelines": config.argilla.guidelines},
        "starter_prompts": [STARTER[1]["prompt"]],
    }
    (project / ".kto").mkdir(exist_ok=True)
    (project / ".kto" / "english-placeholders.json").write_text(json.dumps(english), encoding="utf-8")


REFUSALS = [
    pytest.param(mark_a_prompt, "prompts/starter.jsonl", id="prompt-left-to-translate"),
    pytest.param(english_placeholders, "language", id="english-left"),
    pytest.param(mark_a_text, "project.yaml", id="placeholder-left"),
    pytest.param(
        lambda p: edit_config(p, lambda c: c["language"].update(code="other")), "language.code", id="other"
    ),
    pytest.param(
        lambda p: edit_config(p, lambda c: c["language"].update(variant="")),
        "language.variant",
        id="variant-empty",  # as an 'other' project starts
    ),
    pytest.param(
        lambda p: edit_config(p, lambda c: c["language"].update(variant="xx-YY")),
        "language.variant",
        id="variant-of-another-language",
    ),
    pytest.param(
        lambda p: edit_config(p, lambda c: c["task"].update(name="recipe")), "task.name", id="not-haiku"
    ),
    pytest.param(lambda p: write_starter(p, STARTER[:1]), "language.starter_topics", id="a-topic-too-many"),
]


@pytest.mark.parametrize(("spoil", "field"), REFUSALS)
def test_export_refuses_and_writes_nothing(project, spoil, field):
    edit_config(project, ready)
    write_starter(project, STARTER)
    spoil(project)
    with pytest.raises(KtoError) as refused:
        export_language(load_config(project / "project.yaml"))
    assert refused.value.field == field
    assert not (project / "languages").exists()


def test_a_refusal_is_one_line(project):
    edit_config(project, ready)
    write_starter(project, STARTER)
    mark_a_text(project)
    assert_one_error_line(run_kto(project, "language", "export"), "project.yaml")


def test_texts_left_in_english_are_counted_and_placed(project):
    edit_config(project, ready)
    write_starter(project, STARTER)
    english_placeholders(project)
    result = run_kto(project, "language", "export")
    assert_one_error_line(result, "language")
    assert (
        "2 texts are still the English placeholders (argilla.guidelines, prompts/starter.jsonl line 2)"
        in (result.stderr)
    )
