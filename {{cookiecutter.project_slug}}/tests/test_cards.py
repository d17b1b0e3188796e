"""The dataset card, rendered from its Markdown template: from a context written out here (no
server, no export folder), and from the context kto builds out of the config and an export."""

import pytest
from helpers import ALPHA, CASE, edit_config
from huggingface_hub import DatasetCard, DatasetCardData

from kto import dataset_card
from kto.config import load_config
from kto.export import Policy, aggregate
from kto.export_formats import FORMATS

STATISTICS = {
    "models": {
        "team/a": {"up": 3, "down": 1, "rate": 0.75, "ci95": [0.3, 0.95]},
        "team/b": {"up": 0, "down": 2, "rate": 0.0, "ci95": [0.0, 0.66]},
    },
    "annotators": {"ana": {"up": 2, "down": 1}, "bo": {"up": 1, "down": 2}},
    "desirable": 3,
    "undesirable": 3,
    "weights": {"desirable_weight": 1.0, "undesirable_weight": 1.0},
    "krippendorff_alpha": 0.4,
    "judge": {"agents": ["team/judge"], "compared": 4, "agreed": 3, "rate": 0.75},
    "checks": {
        "gates": {"empty": "drop", "language": "flag"},
        "expected_language": "nl",
        "max_chars": 300,
        "form": "3 lines",
        "models": {
            "team/a": {"responses": 4, "dropped": 1, "flagged": 0, "checks": {"empty": 1, "language": 0}}
        },
    },
}


@pytest.fixture
def context() -> dict:
    """Everything the template reads, as kto's context has it."""
    return {
        "title": "Haiku KTO, Dutch",
        "task": "haiku",
        "language": "Dutch",
        "native_name": "Nederlands",
        "rtl": False,
        "card_paragraph": "Een dataset van haiku's.",
        "system_prompt": "Schrijf een haiku.\nAlleen de haiku.",
        "guidelines": "Duim omhoog voor een goede haiku.",
        "datasets": [
            {"name": form.name, "count": count, "unit": form.unit, "about": form.about}
            for form, count in zip(FORMATS, (6, 2), strict=True)
        ],
        "generators": [
            {"model": "team/a", "licence": "`llama3.3`", "terms": "Meta's terms", "known": True},
            {"model": "team/b", "licence": "unknown (see the model card)", "terms": None, "known": False},
        ],
        "annotators": 2,
        "min_submitted": 2,
        "policy": "majority (2+ votes)",
        "reconciliation": {"labelled-up": 3, "labelled-down": 3, "total": 6},
        "statistics": STATISTICS,
        "repo": "my-org/haiku-kto-nl",
        "batch_size": 8,
        "learning_rate": 1e-05,
        "template_tag": dataset_card.TEMPLATE_TAG,
        "campaign_key": dataset_card.CAMPAIGN_KEY,
    }


def card_data() -> DatasetCardData:
    return DatasetCardData(language=["nl"], license="cc-by-4.0", tags=dataset_card.TAGS, pretty_name="Haiku")


def test_the_template_renders_every_section(context):
    card = dataset_card.render(card_data(), context)
    text = card.text
    assert text.startswith(
        "\n# Haiku KTO, Dutch\n\nA preference dataset for **haiku** in **Dutch** (Nederlands)"
    )
    assert "- `kto` (6 rows)" in text and "- `dpo` (2 pairs)" in text
    assert "## Nederlands\n\nEen dataset van haiku's.\n" in text
    assert (
        "> Schrijf een haiku.\n> Alleen de haiku.\n" in text and "> Duim omhoog voor een goede haiku." in text
    )
    assert (
        "Annotation: 2 annotators, 2 ratings asked per answer" in text and "**majority (2+ votes)**" in text
    )
    assert "| labelled-up | 3 |\n| labelled-down | 3 |\n| total | 6 |" in text
    assert "| team/a | 3 | 1 | 75% | 30% to 95% |" in text and "| team/b | 0 | 2 | 0% | 0% to 66% |" in text
    assert "Krippendorff's alpha (nominal): 0.400." in text
    assert "Judge-human agreement: 75% (3 of 4 labelled answers) for the judge team/judge" in text
    assert 'load_dataset("my-org/haiku-kto-nl", "kto", split="train")' in text
    assert "{{" not in text and "{%" not in text and text.endswith("for the ratings).\n")


def test_the_gates_table_counts_each_check_per_model(context):
    text = dataset_card.render(card_data(), context).text
    assert "Gates: empty: drop, language: flag (`drop`: never shown" in text
    assert "Expected language: nl (lingua-language-detector); longer than 300 characters" in text
    assert "characters: `length`; form: 3 lines. Answers of kto's embedded" in text
    assert (
        "| model | responses | dropped | flagged | empty | language |\n| --- | --- | --- | --- | --- | --- |"
        in text
    )
    assert "| team/a | 4 | 1 (25%) | 0 | 1 (25%) | 0 |" in text
    context["statistics"] = STATISTICS | {"checks": STATISTICS["checks"] | {"models": None}}
    assert "no counts per gate" in dataset_card.render(card_data(), context).text
    context["statistics"] = STATISTICS | {"checks": None, "judge": None, "krippendorff_alpha": None}
    text = dataset_card.render(card_data(), context).text
    assert "No quality gates were recorded for this export." in text
    assert "No judge suggestions were shown to annotators." in text
    assert "Krippendorff's alpha (nominal): undefined (too little overlap or no variation)." in text


def test_the_licences_of_the_generators_and_their_terms(context):
    text = dataset_card.render(card_data(), context).text
    assert "| team/a | `llama3.3` |\n| team/b | unknown (see the model card) |\n" in text
    assert "- team/a: Meta's terms." in text and "- team/b:" not in text
    assert "Check the licence of the models marked unknown on their model cards." in text
    context["generators"] = [{"model": "team/c", "licence": "`apache-2.0`", "terms": None, "known": True}]
    text = dataset_card.render(card_data(), context).text
    assert "put terms on this data" not in text and "marked unknown" not in text


@pytest.mark.parametrize("rtl", [False, True])
def test_texts_in_the_language_are_marked_right_to_left(context, rtl):
    text = dataset_card.render(card_data(), context | {"rtl": rtl}).text
    assert text.count('<div dir="rtl">') == (3 if rtl else 0)  # card paragraph, system prompt, guidelines
    if rtl:
        assert '<div dir="rtl">\n\n> Schrijf een haiku.\n> Alleen de haiku.\n\n</div>' in text


def test_the_metadata_round_trips(context, tmp_path):
    path = tmp_path / "README.md"
    dataset_card.render(card_data(), context).save(path)
    meta = DatasetCard.load(path).data.to_dict()
    assert meta["language"] == ["nl"] and meta["license"] == "cc-by-4.0" and meta["pretty_name"] == "Haiku"
    assert set(dataset_card.TAGS) <= set(meta["tags"])


def test_the_context_reads_the_config_and_the_export(project):
    """The TRL snippet trains as kto train would: with the configured batch size and learning rate."""

    def change(config):  # a project rendered without training gets the section here
        config.setdefault("training", {"base_model": "team/base"}).update(batch_size=16, learning_rate=2e-5)

    edit_config(project, change)
    config = load_config(project / "project.yaml")
    policy = Policy.parse("majority", 2)
    export = aggregate(CASE, policy)
    card = dataset_card.build(config, export, policy, export.statistics)
    assert "per_device_train_batch_size=16,\n    learning_rate=2e-05,\n" in card.text
    meta = card.data.to_dict()
    code = config.language.hub_code  # an 'other' project names no language until its code is set
    assert meta.get("language") == ([code] if code else None) and meta["license"] == config.hub.license
    assert meta["size_categories"] == ["n<1K"] and [c["config_name"] for c in meta["configs"]] == [
        "kto",
        "dpo",
    ]
    assert config.language.card_paragraph.strip() in card.text
    assert "| labelled-up | 1 |" in card.text and "0.067" in card.text
    assert ('dir="rtl"' in card.text) == (config.language.direction == "rtl")


def test_without_a_training_section_the_snippet_has_kto_trains_defaults(project):
    edit_config(project, lambda config: config.pop("training", None))
    config = load_config(project / "project.yaml")
    policy = Policy.parse("majority", 2)
    export = aggregate(CASE, policy)
    values = dataset_card.context(config, export, policy, export.statistics)
    assert (values["batch_size"], values["learning_rate"]) == (4, 5e-6)


def test_the_card_carries_the_community_tag_and_the_campaigns_figures(project, tmp_path):
    """What `kto community` reads: the tag, and the campaign's figures as machine-readable metadata."""
    from kto import splits

    config = load_config(project / "project.yaml")
    policy = Policy.parse("majority", 2)
    export = aggregate(CASE, policy)
    dataset_card.build(config, export, policy, export.statistics).save(tmp_path / "README.md")
    meta = DatasetCard.load(tmp_path / "README.md").data.to_dict()
    assert dataset_card.TEMPLATE_TAG in meta["tags"]
    fields = meta[dataset_card.CAMPAIGN_KEY]
    assert fields["language"] == (config.language.variant or config.language.code)
    assert fields["task"] == config.task.name and fields["policy"] == "majority (2+ votes)"
    assert fields["license"] == config.hub.license and fields["template_version"]
    submitted = [r for row in CASE for r in row["responses"] if r["status"] == "submitted"]
    assert fields["ratings"] == len(submitted) and fields["annotators"] == len({r["user"] for r in submitted})
    assert fields["agreement"] == pytest.approx(ALPHA)
    assert [model["id"] for model in fields["models"]] == ["m1", "m2"]  # the labelled answers' models
    kto_rows, dpo_rows = export.datasets["kto"], export.datasets["dpo"]
    held_out = [row for row in kto_rows if splits.is_held_out(row["prompt"], config.export.test_share)]
    kto = fields["splits"]["kto"]
    assert kto["test"]["rows"] == len(held_out) and kto["train"]["rows"] + len(held_out) == len(kto_rows)
    assert kto["train"]["prompts"] + kto["test"]["prompts"] == len({row["prompt"] for row in kto_rows})
    assert fields["splits"]["dpo"]["train"]["rows"] + fields["splits"]["dpo"]["test"]["rows"] == len(dpo_rows)
