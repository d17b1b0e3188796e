"""The dataset card of an export: Hub metadata through ``huggingface_hub``'s ``DatasetCardData``,
and a Markdown template (``templates/dataset_card.md.j2``) filled from a context that reads the
config and the export's statistics, with a section in the project's own language."""

from pathlib import Path
from typing import Any

from huggingface_hub import DatasetCard, DatasetCardData

from kto import licences, splits
from kto.campaign_settings import Training
from kto.config import ProjectConfig
from kto.export_formats import FORMATS
from kto.labels import DOWN, UP

# Every export of every project made from this template carries this tag: `kto community` finds
# the campaigns by it on the Hub, and reads their CAMPAIGN_KEY metadata.
TEMPLATE_TAG = "kto-template"
TAGS = ["kto", "dpo", "preference", "synthetic", "argilla", "distilabel", TEMPLATE_TAG]
CAMPAIGN_KEY = "kto_template"
TEMPLATE = Path(__file__).parent / "templates" / "dataset_card.md.j2"


def size_category(count: int) -> str:
    for limit, name in (
        (1_000, "n<1K"),
        (10_000, "1K<n<10K"),
        (100_000, "10K<n<100K"),
        (1_000_000, "100K<n<1M"),
    ):
        if count < limit:
            return name
    return "1M<n<10M"


def split_files(name: str, splits: dict | None) -> list[dict]:
    """A configuration's files: ``test`` when it has rows (kto export writes no empty one)."""
    sides = ["train"] + (["test"] if splits and splits[name]["test"] else [])
    return [{"split": side, "path": f"{name}/{side}.parquet"} for side in sides]


def card_data(
    config: ProjectConfig, rows: int, splits: dict | None = None, campaign: dict | None = None
) -> DatasetCardData:
    """The card's metadata: what the Hub indexes the dataset by, and the campaign's own fields."""
    extra: dict[str, Any] = {CAMPAIGN_KEY: campaign} if campaign else {}
    return DatasetCardData(
        language=[config.language.hub_code] if config.language.hub_code else None,
        license=config.hub.license,
        task_categories=["text-generation"],
        size_categories=[size_category(rows)],
        tags=TAGS,
        pretty_name=f"{config.task.name.capitalize()} KTO, {config.language.name}",
        configs=[
            {"config_name": form.name, "data_files": split_files(form.name, splits)}
            | ({"default": True} if form is FORMATS[0] else {})
            for form in FORMATS
        ],
        **extra,
    )


def per_split(rows: list[dict], share: float) -> dict:
    """Rows and distinct prompts on each side of the held-out split (as kto export splits them)."""
    sides = zip(("train", "test"), splits.split(rows, share), strict=True)
    return {
        side: {"rows": len(kept), "prompts": len({splits.prompt_text(row["prompt"]) for row in kept})}
        for side, kept in sides
    }


def campaign(config: ProjectConfig, export, policy, stats: dict) -> dict:
    """The machine-readable fields `kto community` lists and merges by (metadata key CAMPAIGN_KEY)."""
    from kto.template_version import template_version

    raters = stats.get("annotators", {}).values()
    models = sorted(stats["models"]) or [slot.id for slot in config.generation.models]
    share = config.export.test_share
    licence_ids = {slot.id: slot.license for slot in config.generation.models}
    return {
        "language": config.language.variant or config.language.code,  # BCP 47, with the variant
        "task": config.task.name,
        "template_version": template_version(config.root).commit or "unknown",
        "splits": {form.name: per_split(export.datasets[form.name], share) for form in FORMATS},
        "annotators": len(stats.get("annotators", {})),
        "ratings": sum(rater.get(UP, 0) + rater.get(DOWN, 0) for rater in raters),
        "agreement": stats.get("krippendorff_alpha"),  # Krippendorff's alpha; None when undefined
        "policy": str(policy),
        "license": config.hub.license,
        # The licence id of each model whose answers the data holds (None: not in project.yaml).
        "models": [{"id": model, "license": licence_ids.get(model)} for model in models],
    }


def generators(config: ProjectConfig, model_ids: list[str]) -> list[dict]:
    """Each generator model with its licence and the terms it puts on the data (None: none known)."""
    known = {slot.id: slot.license for slot in config.generation.models}
    return [
        {
            "model": model,
            "licence": licences.named(known.get(model)),
            "terms": licences.terms(known.get(model)),
            "known": bool(known.get(model)),
        }
        for model in model_ids
    ]


def datasets(export) -> list[dict]:
    """Each format's name, size and paragraph, in the order of ``FORMATS`` (the first is the default)."""
    return [
        {"name": form.name, "count": len(export.datasets[form.name]), "unit": form.unit, "about": form.about}
        for form in FORMATS
    ]


def context(config: ProjectConfig, export, policy, stats: dict) -> dict:
    """What the template shows: the config's texts, the export's counts and the statistics that
    statistics.json holds."""
    # The snippet trains as kto train would: the training section's values, else its defaults.
    defaults = Training.model_fields
    training = config.training
    return {
        "title": f"{config.task.name.capitalize()} KTO, {config.language.name}",
        "task": config.task.name,
        "language": config.language.name,
        "native_name": config.language.native_name,
        "rtl": config.language.direction == "rtl",
        "card_paragraph": config.language.card_paragraph.strip(),
        "system_prompt": config.task.system_prompt,
        "guidelines": config.argilla.guidelines,
        "datasets": datasets(export),
        "generators": generators(config, sorted(stats["models"]) or [m.id for m in config.generation.models]),
        "annotators": len(stats["annotators"]),
        "min_submitted": config.argilla.min_submitted,
        "policy": str(policy),
        "reconciliation": export.reconciliation,
        "statistics": stats,
        "repo": config.hub.export_repo,
        "batch_size": training.batch_size if training else defaults["batch_size"].default,
        "learning_rate": training.learning_rate if training else defaults["learning_rate"].default,
        "template_tag": TEMPLATE_TAG,
        "campaign_key": CAMPAIGN_KEY,
    }


def render(data: DatasetCardData, values: dict) -> DatasetCard:
    return DatasetCard.from_template(data, template_path=str(TEMPLATE), **values)


def build(config: ProjectConfig, export, policy, statistics: dict) -> DatasetCard:
    rows = len(export.datasets[FORMATS[0].name])
    data = card_data(config, rows, statistics.get("splits"), campaign(config, export, policy, statistics))
    return render(data, context(config, export, policy, statistics))
