"""The backup history on the Hub, and how old the newest backup is.

``kto backup --push`` commits each backup to the private dataset ``<namespace>/<dataset>-ratings-backup``
as a new revision titled with its counts: the repository's history is the backup history, which
``kto backup --list``, ``kto restore`` and ``kto status`` read through here.
"""

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from kto.config import ProjectConfig
from kto.errors import KtoError
from kto.hub import TRAIN_FILE, cause, status_of, why_unreachable
from kto.ratings import saved_origin


@dataclass(frozen=True)
class Revision:
    id: str
    saved_at: datetime
    title: str


def revisions(repo_id: str) -> list[Revision]:
    """The backups on the Hub, newest first."""
    from huggingface_hub import HfApi

    if problem := why_unreachable():
        raise KtoError("hub", f"cannot list the backups in {repo_id}: {problem}")
    try:
        commits = HfApi().list_repo_commits(repo_id, repo_type="dataset")
    except Exception as error:  # no token, no network: all one line
        if status_of(error) == 404:  # no backup pushed yet: the first kto backup --push makes it
            return []
        raise KtoError("hub", f"cannot list the backups in {repo_id}: {cause(error)}") from error
    # The watcher's journal commits (kto.watch_push) share the repository: they are not backups.
    backups = [commit for commit in commits if not commit.title.startswith("Journal:")]
    return [Revision(commit.commit_id, commit.created_at, commit.title) for commit in backups]


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
                "hub", f"cannot download the backup {revision[:8]} of {repo_id}: {cause(error)}"
            ) from error
        yield Path(path)


@dataclass(frozen=True)
class SavedBackup:
    saved_at: datetime
    where: str  # the local file, or "<repo> on the Hub"
    revision: str | None = None  # the Hub's commit; None for the local file

    def age(self, now: datetime | None = None) -> str:
        hours = ((now or datetime.now(UTC)) - self.saved_at).total_seconds() / 3600
        return f"{hours:.0f} h" if hours >= 1 else f"{hours * 60:.0f} min"


@dataclass(frozen=True)
class BackupSearchReport:
    local: SavedBackup | None  # backup.output, when it exists
    hub: SavedBackup | None  # the Hub's latest backup, when the Hub answered and has one
    hub_problem: str | None  # why the Hub's backups are not known: offline, unreachable, refused

    @property
    def newest(self) -> SavedBackup | None:
        return max(filter(None, (self.local, self.hub)), key=lambda found: found.saved_at, default=None)


def search(config: ProjectConfig) -> BackupSearchReport:
    """The local backup file and the Hub's latest backup, each when there is one. An unreachable
    Hub is tried once, briefly, and named in ``hub_problem``."""
    local = config.path(config.backup.output)
    mine = None
    if local.exists():
        saved = saved_origin(local).get("saved_at")
        when = datetime.fromisoformat(saved) if saved else datetime.fromtimestamp(local.stat().st_mtime, UTC)
        mine = SavedBackup(when, config.backup.output)
    try:
        history = revisions(config.hub.ratings_backup_repo)
    except KtoError as error:  # offline, unreachable, a refused token: said once, in its words
        return BackupSearchReport(mine, None, str(error).removeprefix("hub: "))
    repo = config.hub.ratings_backup_repo
    latest = SavedBackup(history[0].saved_at, f"{repo} on the Hub", history[0].id) if history else None
    return BackupSearchReport(mine, latest, None)


def staleness(config: ProjectConfig, now: datetime | None = None) -> str | None:
    """A warning when the newest backup is missing or older than ``backup.max_age_hours``; with
    the Hub out of reach, one line that says so and advises what can work now."""
    found = search(config)
    latest = found.newest
    limit = config.backup.max_age_hours
    # Advice that can work now: without the Hub, a local copy; the Hub's problem said once.
    fix = (
        f"run kto backup for a local copy ({found.hub_problem})"
        if found.hub_problem
        else "run kto backup --push"
    )
    if latest is None:
        return f"no backup yet: every rating is at risk if the server loses its data; {fix}"
    hours = ((now or datetime.now(UTC)) - latest.saved_at).total_seconds() / 3600
    if hours <= limit:
        return None
    return (
        f"the newest backup ({latest.where}) is {hours:.0f} h old, older than backup.max_age_hours "
        f"({limit:g}): ratings given since then are at risk; {fix}"
    )
