"""The backup history on the Hub, and how old the newest backup is.

``kto backup --push`` commits each backup to the private dataset ``<namespace>/<dataset>-ratings-backup``
as a new revision titled with its counts: the repository's history is the backup history.
"""

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from kto.config import ProjectConfig
from kto.errors import KtoError, one_line
from kto.hub import TRAIN_FILE
from kto.ratings import saved_origin


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


@dataclass(frozen=True)
class Revision:
    id: str
    saved_at: datetime
    title: str


def revisions(repo_id: str) -> list[Revision]:
    """The backups on the Hub, newest first."""
    from huggingface_hub import HfApi

    try:
        commits = HfApi().list_repo_commits(repo_id, repo_type="dataset")
    except Exception as error:  # no token, no network, no such repository: all one line
        raise KtoError("hub", f"cannot list the backups in {repo_id}: {one_line(error)[:200]}") from error
    return [Revision(commit.commit_id, commit.created_at, commit.title) for commit in commits]


def resolve(repo_id: str, revision: str | None) -> str:
    """The full commit id of ``revision`` (a prefix of one, as ``kto backup --list`` shows), or
    of the latest backup."""
    history = revisions(repo_id)
    if not history:
        raise KtoError("hub", f"{repo_id} holds no backup yet: run kto backup --push")
    if revision is None:
        return history[0].id
    found = [entry.id for entry in history if entry.id.startswith(revision)]
    if len(found) != 1:
        raise KtoError("revision", f"{revision} is not one backup of {repo_id}: kto backup --list shows them")
    return found[0]


@contextmanager
def downloaded(repo_id: str, revision: str) -> Iterator[Path]:
    """The backup file of commit ``revision``, in a folder that goes away afterwards."""
    from huggingface_hub import hf_hub_download

    with tempfile.TemporaryDirectory(prefix="kto-restore-") as folder:
        try:
            path = hf_hub_download(
                repo_id, TRAIN_FILE, repo_type="dataset", revision=revision, cache_dir=folder
            )
        except Exception as error:
            raise KtoError(
                "hub", f"cannot download the backup {revision[:8]} of {repo_id}: {one_line(error)[:200]}"
            ) from error
        yield Path(path)


def newest(config: ProjectConfig) -> tuple[datetime, str] | None:
    """When the newest backup was saved and where it is: the local file, or the Hub's last
    commit when the Hub can be reached."""
    found = []
    local = config.path(config.backup.output)
    if local.exists():
        saved = saved_origin(local).get("saved_at")
        when = datetime.fromisoformat(saved) if saved else datetime.fromtimestamp(local.stat().st_mtime, UTC)
        found.append((when, config.backup.output))
    repo = config.hub.ratings_backup_repo
    try:
        history = revisions(repo)
    except KtoError:  # offline, or no token: the local file is all there is to go by
        history = []
    found += [(history[0].saved_at, f"{repo} on the Hub")] if history else []
    return max(found, default=None)


def staleness(config: ProjectConfig, now: datetime | None = None) -> str | None:
    """A warning when the newest backup is missing or older than ``backup.max_age_hours``."""
    latest = newest(config)
    limit = config.backup.max_age_hours
    if latest is None:
        return "no backup yet: every rating is at risk if the server loses its data; run kto backup --push"
    when, where = latest
    hours = ((now or datetime.now(UTC)) - when).total_seconds() / 3600
    if hours <= limit:
        return None
    return (
        f"the newest backup ({where}) is {hours:.0f} h old, older than backup.max_age_hours ({limit:g}): "
        "ratings given since then are at risk; run kto backup --push"
    )
