"""The dataset card of an export: Hub metadata through ``huggingface_hub``'s ``DatasetCardData``,
and a Markdown template (``templates/dataset_card.md.j2``) filled from a context that reads the
config and the export's statistics, with a section in the project's own language."""

from pathlib import Path

from huggingface_hub import DatasetCard, DatasetCardData

from kto import licences
from kto.campaign_settings import Training
from kto.config import ProjectConfig
from kto.export_formats import FORMATS

TAGS = ["kto", "dpo", "preference", "synthetic", "argilla", "distilabel"]
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


def card_data(config: ProjectConfig, rows: int, splits: dict | None = None) -> DatasetCardData:
    """The card's metadata: what the Hub indexes the dataset by."""
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
    )


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
    }


def render(data: DatasetCardData, values: dict) -> DatasetCard:
    return DatasetCard.from_template(data, template_path=str(TEMPLATE), **values)


def build(config: ProjectConfig, export, policy, statistics: dict) -> DatasetCard:
    data = card_data(config, len(export.datasets[FORMATS[0].name]), statistics.get("splits"))
    return render(data, context(config, export, policy, statistics))
