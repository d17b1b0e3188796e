"""``kto status``: how far the rating has come, overall, per annotator and per model."""

from collections import Counter
from dataclasses import dataclass

from kto import ratings
from kto.config import ProjectConfig


@dataclass(frozen=True)
class StatusReport:
    dataset: str
    completed: int
    total: int
    pending: int
    # annotator -> responses by status (submitted, discarded, draft) and records still pending
    per_annotator: dict[str, Counter]
    # model -> submitted ups and downs
    approval: dict[str, Counter]


def collect(config: ProjectConfig) -> StatusReport:
    from kto.argilla_client import open_dataset

    client, dataset = open_dataset(config)
    progress = dataset.progress(with_users_distribution=True)
    rows = ratings.fetch(client, dataset)
    return StatusReport(
        dataset=f"{config.argilla.workspace}/{config.argilla.dataset}",
        completed=progress["completed"],
        total=progress["total"],
        pending=progress["pending"],
        per_annotator=ratings.by_annotator(rows, ratings.annotators(client, config.argilla.workspace)),
        approval=ratings.approval_by_model(rows),
    )
