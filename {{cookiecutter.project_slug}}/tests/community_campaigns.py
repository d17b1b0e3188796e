"""Campaigns as `kto export --push` leaves them on the Hub (parquet per configuration and split, and
a card tagged kto-template with the campaign's figures), for the Hub double: tests and benchmark."""

import io

import pyarrow as pa
import pyarrow.parquet as pq
from huggingface_hub import DatasetCardData

from kto import dataset_card


def parquet(rows: list[dict]) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(rows), buffer)
    return buffer.getvalue()


def kto_rows(prompts: list[str], models: tuple[str, str]) -> list[dict]:
    """Two answers per prompt: the first model's rated up, the second's down."""
    return [
        {
            "prompt": prompt,
            "completion": f"{prompt} ({model})",
            "label": model == models[0],
            "model": model,
            "votes_up": 2 if model == models[0] else 0,
            "votes_down": 0 if model == models[0] else 2,
            "num_ratings": 2,
            "agreement": 1.0,
        }
        for prompt in prompts
        for model in models
    ]


def dpo_rows(prompts: list[str], models: tuple[str, str]) -> list[dict]:
    return [
        {
            "prompt": prompt,
            "chosen": f"{prompt} ({models[0]})",
            "rejected": f"{prompt} ({models[1]})",
            "chosen_model": models[0],
            "rejected_model": models[1],
        }
        for prompt in prompts
    ]


def campaign(
    language: str,
    train: list[str],
    test: list[str],
    *,
    license: str = "cc-by-4.0",
    models: tuple[tuple[str, str], tuple[str, str]] = (("team/a", "apache-2.0"), ("team/b", "mit")),
    fields: dict | None = None,
    data: bool = True,
) -> dict[str, bytes]:
    """A campaign's files: ``train`` and ``test`` prompts (no test file when there are none);
    ``fields`` overrides the card's campaign figures; ``data=False`` leaves the parquet files out."""
    ids = (models[0][0], models[1][0])
    sides = {"train": train, "test": test}
    counts = {
        name: {side: {"rows": len(prompts) * per, "prompts": len(prompts)} for side, prompts in sides.items()}
        for name, per in (("kto", 2), ("dpo", 1))
    }
    figures = {
        "language": language,
        "task": "haiku",
        "template_version": "0123456789ab",
        "splits": counts,
        "annotators": 2,
        "ratings": 4 * (len(train) + len(test)),
        "agreement": 0.5,
        "policy": "majority (2+ votes)",
        "license": license,
        "models": [{"id": model, "license": licence} for model, licence in models],
    } | (fields or {})
    splits = {name: {"test": len(test)} for name in ("kto", "dpo")}
    card = DatasetCardData(
        language=[language.split("-")[0]],
        license=license,
        tags=dataset_card.TAGS,
        configs=[
            {"config_name": name, "data_files": dataset_card.split_files(name, splits)}
            for name in ("kto", "dpo")
        ],
        **{dataset_card.CAMPAIGN_KEY: figures},
    )
    files = {"README.md": f"---\n{card.to_yaml()}\n---\n# A {language} campaign\n".encode()}
    for side, prompts in sides.items():
        if data and prompts:
            files[f"kto/{side}.parquet"] = parquet(kto_rows(prompts, ids))
            files[f"dpo/{side}.parquet"] = parquet(dpo_rows(prompts, ids))
    return files
