"""Backup files without a server: their age for kto status, older backups, and what a restore
would write for a record the server already has."""

import os
import time
import uuid
from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pyarrow.parquet as pq
from helpers import edit_config

from kto import backup_history, ratings, restore
from kto.config import load_config

SAVED = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
USERS = {"a1": uuid.uuid4(), "a2": uuid.uuid4()}  # the server's ids of the usernames


def response(user: str, value: str | None, status: str = "submitted", at: datetime | None = SAVED) -> dict:
    return {"user": user, "value": value, "status": status, "comment": None, "updated_at": at}


def row(*responses: dict, suggestion: dict | None = None) -> dict:
    return {
        "id": "r1",
        "prompt": "P",
        "completion": "C",
        "model": "m",
        "prompt_id": "p1",
        "language": "xx",
        "metadata": '{"language": "xx", "model": "m", "prompt_id": "p1", "source": "kept"}',
        "status": "pending",
        "responses": list(responses),
        "suggestion": suggestion,
    }


def test_status_warns_when_the_newest_backup_is_missing_or_old(project):
    edit_config(project, lambda config: config.update(backup={"max_age_hours": 6}))
    config = load_config(project / "project.yaml")
    assert backup_history.staleness(config).startswith("no backup yet: every rating is at risk")
    origin = {"dataset": "argilla/x", "settings": "{}", "saved_at": SAVED.isoformat()}
    ratings.save([row()], project / "data" / "backup" / "ratings.parquet", origin)
    assert backup_history.staleness(config, now=SAVED + timedelta(hours=5)) is None
    late = backup_history.staleness(config, now=SAVED + timedelta(hours=30))
    assert late.startswith("the newest backup (data/backup/ratings.parquet) is 30 h old")
    assert "max_age_hours (6)" in late and "at risk" in late


def test_a_backup_without_a_saved_time_is_as_old_as_its_file(project):
    config = load_config(project / "project.yaml")
    path = project / config.backup.output
    ratings.save([row()], path)
    day_ago = time.time() - 25 * 3600
    os.utime(path, (day_ago, day_ago))
    assert "is 25 h old, older than backup.max_age_hours (24)" in backup_history.staleness(config)


def test_an_older_backup_loads_and_restores_what_it_has(tmp_path):
    """Before update times, comments and all metadata were kept: those load as nulls."""
    old = pa.schema(
        [field for field in ratings.SCHEMA if field.name not in ("metadata", "suggestion", "responses")]
        + [
            (
                "responses",
                pa.list_(pa.struct([("user", pa.string()), ("value", pa.string()), ("status", pa.string())])),
            )
        ]
    )
    given = row(response("a1", "up"))
    given["responses"] = [{"user": "a1", "value": "up", "status": "submitted"}]
    pq.write_table(pa.Table.from_pylist([given], schema=old), tmp_path / "old.parquet")
    (loaded,) = ratings.load(tmp_path / "old.parquet")
    assert loaded["responses"] == [response("a1", "up", at=None)]
    assert loaded["metadata"] is None and loaded["suggestion"] is None
    assert ratings.saved_origin(tmp_path / "old.parquet") == {}
    assert restore.metadata_of(loaded) == {"model": "m", "prompt_id": "p1", "language": "xx"}


def plan(backup: dict, server: dict | None) -> tuple[restore.RestoreReport, object]:
    result = restore.RestoreReport("backup")
    record = restore.plan(backup, server, USERS, result)
    return result, record


def test_a_response_newer_on_the_server_is_kept_and_an_older_one_replaced():
    later = SAVED + timedelta(hours=1)
    server = row(response("a1", "down", at=later), response("a2", "down", at=SAVED - timedelta(hours=1)))
    result, record = plan(row(response("a1", "up"), response("a2", "up")), server)
    assert (result.kept_newer, dict(result.written), result.records_added) == (1, {"submitted": 1}, 0)
    assert [(r.user_id, r.value) for r in record.responses] == [(USERS["a2"], "up")]
    assert record.metadata["source"] == "kept"  # the server's record keeps its metadata


def test_an_older_backup_never_replaces_a_response_the_server_has():
    server = row(response("a1", "down"))
    result, record = plan(row(response("a1", "up", at=None)), server)
    assert (result.kept_newer, record) == (1, None)


def test_what_the_server_has_already_is_not_written_again():
    judged = {"value": "up", "score": 1.0, "agent": "judge"}
    same = row(response("a1", "up"), response("a2", None, "discarded"), suggestion=judged)
    result, record = plan(same, same)
    assert (result.unchanged, record) == (2, None)
    result, record = plan(same, None)  # a record the server lacks: everything, with the suggestion
    assert result.records_added == 1 and dict(result.written) == {"submitted": 1, "discarded": 1}
    assert record.suggestions["rating"].value == "up" and result.suggestions == 1
