"""The watcher's events: each change to a rating in one shape, whether a webhook delivered it or
catch-up found it, and how a backup's rows and the later events fold into the ratings to restore.

An event is one JSON object: ``id`` (the delivery's ``webhook-id``, or ``catch-up:...``), ``type``
(response.created / updated / deleted, record.deleted), ``at`` (the server's time of the change,
UTC), ``received_at``, ``source`` (webhook or catch-up), ``record`` (the record's external id, as
backups name records), ``user`` (username), ``response_id``, ``value``, ``status``, ``comment``,
and for a response its record's ``fields`` and ``metadata``, so a record made after the backup
comes back too.
"""

import copy
import json
from collections.abc import Iterable
from datetime import UTC, datetime

from kto.labels import COMMENT, QUESTION

RESPONSE_EVENTS = ("response.created", "response.updated", "response.deleted")
RATING_EVENTS = (*RESPONSE_EVENTS, "record.deleted")
DELETED = ("response.deleted", "record.deleted")


class Refused(Exception):
    """A delivery the watcher does not journal; ``cause`` names it in the refusal counts."""

    def __init__(self, cause: str, message: str):
        super().__init__(message)
        self.cause = cause


def now() -> str:
    return datetime.now(UTC).isoformat()


def utc(text: str) -> datetime:
    """A time as the server writes it (UTC, with or without a zone or a trailing Z)."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def answer(values: dict | None) -> dict:
    values = values or {}
    return {
        "value": values.get(QUESTION, {}).get("value"),
        "comment": values.get(COMMENT, {}).get("value"),
    }


def response_event(event_id: str, kind: str, at: str, record: dict, response: dict, user: str) -> dict:
    """A response created or updated, with what restoring its record needs."""
    return {
        "id": event_id,
        "type": kind,
        "at": utc(at).isoformat(),
        "received_at": now(),
        "source": "catch-up" if event_id.startswith("catch-up:") else "webhook",
        "record": record["external_id"],
        "user": user,
        "response_id": str(response["id"]),
        "status": response["status"],
        **answer(response.get("values")),
        "fields": record.get("fields") or {},
        "metadata": record.get("metadata") or {},
    }


def removal(event_id: str, kind: str, at: str, record: str, user: str | None = None, response_id=None):
    """A response or a whole record deleted."""
    source = "catch-up" if event_id.startswith("catch-up:") else "webhook"
    return {
        "id": event_id, "type": kind, "at": utc(at).isoformat(), "received_at": now(), "source": source,
        "record": record, "user": user, "response_id": response_id,
    }  # fmt: skip


def from_delivery(delivery_id: str, payload: dict, dataset: str) -> dict:
    """The event of one verified delivery; ``dataset`` is "workspace/name". Argilla 2.8 sends a
    response's record, with its dataset, and its user in every response event, deletions too
    (argilla_server/webhooks/v1/responses.py), and the record itself in record.deleted."""
    kind, data = str(payload.get("type")), payload.get("data") or {}
    record = data["record"] if kind in RESPONSE_EVENTS else data
    where = record.get("dataset") or {}
    if f"{(where.get('workspace') or {}).get('name')}/{where.get('name')}" != dataset:
        raise Refused("other dataset", f"an event of another dataset, not {dataset}")
    if kind == "record.deleted":
        return removal(delivery_id, kind, payload["timestamp"], record["external_id"])
    if kind == "response.deleted":
        user, response_id = data["user"]["username"], str(data["id"])
        return removal(delivery_id, kind, payload["timestamp"], record["external_id"], user, response_id)
    return response_event(delivery_id, kind, data["updated_at"], record, data, data["user"]["username"])


def change_of(event: dict) -> str:
    """What an event changed, whatever delivered it: Argilla's retries of one change come with
    new delivery ids, and must be journalled once."""
    return f"{event['type']}:{event.get('response_id') or event['record']}:{event['at']}"


def ordered(events: Iterable[dict]) -> list[dict]:
    """In the order the changes happened on the server; ties keep the journal's order."""
    return sorted(events, key=lambda event: utc(event["at"]))


def latest(events: Iterable[dict]) -> tuple[dict[tuple[str, str], dict], set[str]]:
    """The last event of each (record, user), and the records deleted."""
    last: dict[tuple[str, str], dict] = {}
    gone: set[str] = set()
    for event in ordered(events):
        if event["type"] == "record.deleted":
            gone.add(event["record"])
        else:
            last[(event["record"], event["user"])] = event
    return last, gone


def replay(rows: list[dict], events: Iterable[dict]) -> tuple[list[dict], int]:
    """The backup's rows with the journal's events applied in order: a change newer than the
    backup's response wins, a deleted response stays deleted, a deleted record is not brought
    back. Returns the rows and how many events changed them."""
    by_id = {row["id"]: copy.deepcopy(row) for row in rows}
    applied = 0
    for event in ordered(events):
        if event["type"] == "record.deleted":
            applied += by_id.pop(event["record"], None) is not None
            continue
        row = by_id.get(event["record"])
        if row is None and event["type"] in DELETED:
            continue
        row = row or by_id.setdefault(event["record"], new_row(event))
        mine = [response for response in row["responses"] if response["user"] == event["user"]]
        if mine and mine[0]["updated_at"] and mine[0]["updated_at"] >= utc(event["at"]):
            continue  # the backup (or a later event) is newer
        applied += 1
        row["responses"] = [response for response in row["responses"] if response["user"] != event["user"]]
        if event["type"] not in DELETED:
            row["responses"].append(as_response(event))
    return list(by_id.values()), applied


def as_response(event: dict) -> dict:
    return {
        "user": event["user"],
        "value": event["value"],
        "status": event["status"],
        "comment": event["comment"],
        "updated_at": utc(event["at"]),
    }


def new_row(event: dict) -> dict:
    """A record made after the backup, as a backup row, from its response's event."""
    metadata = event.get("metadata") or {}
    return {
        "id": event["record"],
        "prompt": event["fields"].get("prompt"),
        "completion": event["fields"].get("completion"),
        "model": metadata.get("model"),
        "prompt_id": metadata.get("prompt_id"),
        "language": metadata.get("language"),
        "metadata": json.dumps(metadata, ensure_ascii=False, sort_keys=True),
        "status": "pending",
        "responses": [],
        "suggestion": None,
    }
