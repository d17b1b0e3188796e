"""Catch-up: webhooks are not a ledger. What the watcher missed (it was down, a delivery failed)
is found by reading the dataset from the Argilla API and comparing it with the journal.

Every record is read, not only the responses changed since the newest event: a deletion leaves
nothing behind to find by its time. A response the server has that the journal lacks, or has
with another value, status, comment or id, is journalled as an update; one the journal has that
the server no longer has is journalled as deleted, and so is a record. Deletions are inferred only
for changes journalled before the reading began (a response made while it ran is not missing),
and not at all when the dataset is not the one the journal saw (a new server being restored).
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from kto.ratings import server_records
from kto.watch_events import latest, removal, response_event, utc
from kto.watch_journal import EventJournal

# Clocks of the server and the watcher's machine may differ by this much.
CLOCK_SLACK = timedelta(seconds=5)


@dataclass(frozen=True)
class CatchUp:
    updated: int
    deleted: int

    def describe(self) -> str:
        if not self.updated + self.deleted:
            return "catch-up: nothing missed"
        return f"catch-up: journalled {self.updated} missed changes and {self.deleted} missed deletions"


def catch_up(client, dataset, journal: EventJournal, *, infer_deletions: bool = True) -> CatchUp:
    """Journal what the server has that the journal does not, and (``infer_deletions``) what it no
    longer has."""
    started = datetime.now(UTC)
    usernames = {str(user.id): user.username for user in client.users}
    items = list(server_records(client, dataset.id, include=("responses",)))
    last, gone = latest(journal.events)
    updated = 0
    on_server: set[tuple[str, str]] = set()
    for item in items:
        for response in item.get("responses") or []:
            user = usernames.get(str(response["user_id"]), str(response["user_id"]))
            on_server.add((item["external_id"], user))
            change = response_event(
                f"catch-up:{response['id']}:{response['updated_at']}",
                "response.updated",
                response["updated_at"],
                item,
                response,
                user,
            )
            if differs(last.get((item["external_id"], user)), change):
                updated += journal.append(change)
    deleted = 0
    if infer_deletions:
        records = {item["external_id"] for item in items}
        deleted = journal_deletions(journal, last, gone, on_server, records, started - CLOCK_SLACK)
    return CatchUp(updated, deleted)


def differs(known: dict | None, found: dict) -> bool:
    if known is None or known["type"] == "response.deleted":
        return True
    return any(known.get(key) != found[key] for key in ("value", "status", "comment", "response_id"))


def journal_deletions(journal, last, gone, on_server, records, before: datetime) -> int:
    """Deletion events for what the journal had before ``before`` and the server no longer has."""
    stamp, count = before.isoformat(), 0
    for record in sorted({record for record, _ in last} - records - gone):
        if all(utc(event["at"]) < before for (mine, _), event in last.items() if mine == record):
            event_id = f"catch-up:record:{record}:{stamp}"
            count += journal.append(removal(event_id, "record.deleted", stamp, record))
    for (record, user), event in last.items():
        missing = (record, user) not in on_server and record in records
        if missing and event["type"] != "response.deleted" and utc(event["at"]) < before:
            response_id = event["response_id"]
            event_id = f"catch-up:deleted:{response_id}"
            count += journal.append(removal(event_id, "response.deleted", stamp, record, user, response_id))
    return count
