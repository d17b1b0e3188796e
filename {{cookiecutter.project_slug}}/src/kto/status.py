"""``kto status``: how far the rating has come, overall, per annotator and per model."""

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from kto import ratings
from kto.config import ProjectConfig
from kto.errors import KtoError
from kto.rater_quality import RaterReport, assess, flagged, without


@dataclass(frozen=True)
class StatusReport:
    dataset: str
    completed: int
    total: int
    pending: int
    # annotator -> responses by status (submitted, discarded, draft) and records still pending
    per_annotator: dict[str, Counter]
    # model -> submitted ups and downs, flagged annotators' left out as kto export leaves them out
    approval: dict[str, Counter]
    left_out_annotators: int
    left_out_ratings: int
    backup_warning: str | None  # the newest backup is missing or too old
    # annotator -> gold accuracy, agreement, same-label share and flags (the lead's eyes only)
    quality: dict[str, RaterReport]
    note: str | None = None  # where the figures come from when not from the server


def collect(config: ProjectConfig, chart: Path | None = None) -> StatusReport:
    """The lead's view of the campaign; with ``chart``, also drawn as a PNG there."""
    from kto.argilla_client import open_dataset
    from kto.backup_history import staleness

    client, dataset = open_dataset(config)
    progress = dataset.progress(with_users_distribution=True)
    rows = ratings.fetch(client, dataset)
    quality = assess(rows, config.quality)
    left_out = flagged(quality)
    report = StatusReport(
        dataset=f"{config.argilla.workspace}/{config.argilla.dataset}",
        completed=progress["completed"],
        total=progress["total"],
        pending=progress["pending"],
        per_annotator=ratings.by_annotator(rows, ratings.annotators(client, config.argilla.workspace)),
        approval=ratings.approval_by_model(without(rows, left_out)),
        left_out_annotators=len(left_out),
        left_out_ratings=sum(quality[user].submitted for user in left_out),
        backup_warning=staleness(config),
        quality=quality,
    )
    if chart:
        from kto.plots import status_chart

        status_chart(report.approval, report.per_annotator, chart)
    return report


def collect_or_journal(config: ProjectConfig, chart: Path | None = None) -> StatusReport:
    """``collect``; with the server out of reach (a Space restarting), the figures of the last
    backup with the watcher's journal replayed over it, when this machine has a journal."""
    try:
        return collect(config, chart)
    except KtoError as error:
        report = from_journal(config, str(error))
        if report is None:
            raise
        return report


def from_journal(config: ProjectConfig, problem: str) -> StatusReport | None:
    from datetime import datetime

    from kto import watch_replay
    from kto.watch_journal import FOLDER, JOURNAL

    if not any(config.path(FOLDER).joinpath(JOURNAL).glob("*.jsonl")):
        return None
    backup = config.path(config.backup.output)
    rows, saved = (
        (ratings.load(backup), ratings.saved_origin(backup).get("saved_at"))
        if backup.exists()
        else ([], None)
    )
    rows, replayed = watch_replay.apply(config, rows, datetime.fromisoformat(saved) if saved else None)
    wanted = config.argilla.min_submitted
    completed = sum(1 for row in rows if sum(r["status"] == "submitted" for r in row["responses"]) >= wanted)
    users = sorted({response["user"] for row in rows for response in row["responses"]})
    quality = assess(rows, config.quality)
    left_out = flagged(quality)
    return StatusReport(
        dataset=f"{config.argilla.workspace}/{config.argilla.dataset}",
        completed=completed,
        total=len(rows),
        pending=len(rows) - completed,
        per_annotator=ratings.by_annotator(rows, users),
        approval=ratings.approval_by_model(without(rows, left_out)),
        left_out_annotators=len(left_out),
        left_out_ratings=sum(quality[user].submitted for user in left_out),
        backup_warning=None,
        quality=quality,
        note=f"{problem}; these figures are the last backup and the ratings journal ({replayed.describe()})",
    )
