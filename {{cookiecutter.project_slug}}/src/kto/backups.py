"""``kto backup``: every record and its ratings to a parquet file, and with ``--push`` a new
revision of the private backup dataset (its history: :mod:`kto.backup_history`).
"""

from dataclasses import dataclass
from pathlib import Path

from kto.config import ProjectConfig


@dataclass(frozen=True)
class BackupReport:
    path: Path
    summary: str  # what was saved, in words: "12 records, 20 responses ..."
    pushed: str | None  # the dataset's URL on the Hub


def save(config: ProjectConfig, output: Path | None = None, *, push: bool = False) -> BackupReport:
    """``kto backup``: every record and its ratings to a parquet file, and with ``push`` a new
    revision of the private backup dataset, titled with the counts ``kto backup --list`` shows."""
    from kto import ratings
    from kto.argilla_client import open_dataset
    from kto.hub import push_parquet

    client, dataset = open_dataset(config)
    rows = ratings.fetch(client, dataset)
    path = output or config.path(config.backup.output)
    ratings.save(rows, path, ratings.origin(dataset))
    summary = ratings.summary(rows)
    repo = config.hub.ratings_backup_repo
    url = push_parquet(path, repo, private=True, message=f"Backup: {summary}") if push else None
    return BackupReport(path, summary, url)
