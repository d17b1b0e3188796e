"""The Argilla dataset kto asks for, and its records, built from this project's own config."""

import json

import pytest
from helpers import PROJECT

from kto import annotation, argilla_client, argilla_dataset, argilla_settings, record_ids
from kto.config import load_config

ROW = {
    "input": "A prompt",
    "generation_model": ["team/a", "team/b", "team/c"],
    "generations": ["An answer", None, "  "],
}


@pytest.mark.slow
def test_settings_carry_the_projects_texts_and_overlap(argilla_server):
    config = load_config(PROJECT / "project.yaml")
    settings = argilla_dataset.settings(config, argilla_server.client())
    assert settings.guidelines == config.language.markdown_block(config.argilla.guidelines)
    assert settings.distribution.min_submitted == config.argilla.min_submitted
    rating = settings.questions["rating"]
    assert rating.title == config.argilla.question
    titles = {option["value"]: option["text"] for option in rating.serialize()["settings"]["options"]}
    assert titles == {"up": f"👍 {config.argilla.label_up}", "down": f"👎 {config.argilla.label_down}"}
    assert [(field.name, field.title) for field in settings.fields] == [
        ("prompt", config.argilla.prompt_title),
        ("completion", config.argilla.response_title),
    ]
    assert settings.questions["comment"].title == config.argilla.comment_title
    hidden = {prop.name: prop.visible_for_annotators is False for prop in settings.metadata}
    assert hidden == {  # the model and the gold label are hidden from annotators: ratings are blind
        "model": True,
        "gold": True,
        **dict.fromkeys(["prompt_id", "language", "detected_language", "lines", "syllables", "flags"], False),
    }


def test_one_record_per_non_empty_answer_with_ids_from_the_content():
    records = list(annotation.records([ROW], "xx"))
    assert len(records) == 1
    record = records[0]
    assert record["fields"] == {"prompt": "A prompt", "completion": "An answer"}
    assert record["metadata"] == {
        "model": "team/a",
        "prompt_id": record_ids.prompt_id("A prompt"),
        "language": "xx",
    }
    assert record["id"] == record_ids.record_id("A prompt", "team/a", "An answer")
    assert record["id"] != record_ids.record_id("A prompt", "team/b", "An answer")
    assert list(annotation.records([ROW], "xx")) == records  # the same content, the same ids


@pytest.mark.slow
def test_settings_that_differ_are_told_apart(argilla_server):
    client = argilla_server.client()
    config = load_config(PROJECT / "project.yaml")
    changed = config.model_copy(
        update={
            "argilla": config.argilla.model_copy(update={"min_submitted": config.argilla.min_submitted + 1})
        }
    )
    same = argilla_settings.signature(argilla_dataset.settings(config, client))
    assert (
        argilla_settings.differences(
            same, argilla_settings.signature(argilla_dataset.settings(config, client))
        )
        == []
    )
    # kto annotate brings min_submitted to the configured value: no difference.
    overlap = argilla_settings.signature(argilla_dataset.settings(changed, client))
    assert argilla_settings.differences(same, overlap) == []
    assert argilla_settings.differences({**same, "questions": []}, same) == ["questions"]
    # A backup's signature goes through JSON and still compares equal.
    assert argilla_settings.differences(json.loads(json.dumps(same)), same) == []
    # An older backup lacks every key; min_submitted is brought to the configured value anyway.
    assert argilla_settings.differences({}, same) == [key for key in same if key != "min_submitted"]


def test_the_hub_token_goes_to_spaces_only(monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_secret")
    assert argilla_client.space_headers("https://my-org-ratings.hf.space") == {
        "Authorization": "Bearer hf_secret"
    }
    for elsewhere in ("http://127.0.0.1:6900", "https://argilla.example.org", "https://hf.space.example.org"):
        assert argilla_client.space_headers(elsewhere) == {}, elsewhere
    monkeypatch.delenv("HF_TOKEN")
    assert argilla_client.space_headers("https://my-org-ratings.hf.space") == {}
