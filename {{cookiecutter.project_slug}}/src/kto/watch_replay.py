"""What ``kto restore`` adds to a full backup: the watcher's journal, from this machine and from the
backup dataset on the Hub (the union, by event id), replayed over the backup's rows.

Only the events after the backup was saved are replayed, and those of the few minutes a backup
takes to read (a change made while it read): each wins over the backup's response only if newer.
An older event is left out, so a deletion the journal missed long ago brings nothing back.
"""

import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from kto.config import ProjectConfig
from kto.watch_events import ordered, replay, utc
from kto.watch_journal import FOLDER, JOURNAL, read_events
from kto.watch_push import HUB_FOLDER

# How long before its saved_at a backup may have read a record.
BACKUP_READ = timedelta(minutes=5)


@dataclass(frozen=True)
class Replayed:
    events: int  # in the journal
    later: int  # changed after the backup was saved
    applied: int  # that changed the backup's rows
    newest: dict | None  # the latest change the journal holds
    hub_problem: str | None

    def describe(self, now: datetime | None = None) -> str:
        if not self.events:
            where = f" (the Hub's copy: {self.hub_problem})" if self.hub_problem else ""
            return f"journal: none found{where}; the backup is all there was"
        assert self.newest is not None
        age = ((now or datetime.now(UTC)) - utc(self.newest["at"])).total_seconds()
        lines = (
            f"journal: replayed {self.later} of its {self.events} events, those from the backup on "
            f"({self.applied} changed a rating), up to {self.newest['id']} at {self.newest['at'][:19]} "
            f"UTC, {words(age)} ago"
        )
        if self.hub_problem:
            lines += f"; only this machine's journal was read ({self.hub_problem})"
        return lines


def words(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min" if seconds < 7200 else f"{seconds / 3600:.1f} h"


def apply(config: ProjectConfig, rows: list[dict], saved_at: datetime | None) -> tuple[list[dict], Replayed]:
    """The backup's rows with the journal replayed over them."""
    local = list(config.path(FOLDER).joinpath(JOURNAL).glob("*.jsonl"))
    with tempfile.TemporaryDirectory(prefix="kto-journal-") as folder:
        pushed, problem = hub_files(config.hub.ratings_backup_repo, Path(folder))
        events = read_events([*local, *pushed])
    later = [event for event in events if saved_at is None or utc(event["at"]) >= saved_at - BACKUP_READ]
    merged, applied = replay(rows, later)
    newest = ordered(events)[-1] if events else None
    return merged, Replayed(len(events), len(later), applied, newest, problem)


def hub_files(repo_id: str, folder: Path) -> tuple[list[Path], str | None]:
    """The journal's files in the backup dataset, downloaded to ``folder``; none, with the
    reason, when the Hub cannot be asked."""
    from huggingface_hub import HfApi

    from kto.hub import cause, status_of, why_unreachable

    if problem := why_unreachable():
        return [], problem
    api = HfApi()
    try:
        names = [
            entry.path
            for entry in api.list_repo_tree(repo_id, HUB_FOLDER, repo_type="dataset")
            if entry.path.endswith(".jsonl")
        ]
        download = lambda name: api.hf_hub_download(repo_id, name, repo_type="dataset", cache_dir=folder)  # noqa: E731
        return [Path(download(name)) for name in names], None
    except Exception as error:  # no journal pushed yet is no problem; anything else is said
        if status_of(error) == 404:
            return [], None
        return [], cause(error)
