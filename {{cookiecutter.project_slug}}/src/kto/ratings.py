"""Records and their human ratings, read from Argilla or from a ``kto backup`` file.

One row per record: ``id``, ``prompt``, ``completion``, ``model``, ``prompt_id``, ``language``,
``metadata`` (all the record's metadata, as JSON), ``status`` (Argilla's: pending or completed),
``responses``, one ``{"user", "value", "status", "comment", "updated_at"}`` per annotator who
answered (status: submitted, discarded or draft; value: the rating, null if none was chosen),
and ``suggestion``, the judge's ``{"value", "score", "agent"}`` from ``kto suggest`` (or null).

A backup file also names, in its parquet metadata, the dataset it was taken from, that dataset's
settings and the time it was saved: ``kto restore`` checks them before writing anything.
"""

import json
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime
from itertools import count
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from kto.argilla_settings import signature
from kto.errors import KtoError, short
from kto.files import write_parquet
from kto.labels import COMMENT, DOWN, QUESTION, UP

RESPONSE = pa.struct(
    [
        ("user", pa.string()),
        ("value", pa.string()),
        ("status", pa.string()),
        ("comment", pa.string()),
        ("updated_at", pa.timestamp("us", tz="UTC")),
    ]
)
SUGGESTION = pa.struct([("value", pa.string()), ("score", pa.float64()), ("agent", pa.string())])
SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("prompt", pa.string()),
        ("completion", pa.string()),
        ("model", pa.string()),
        ("prompt_id", pa.string()),
        ("language", pa.string()),
        ("metadata", pa.string()),
        ("status", pa.string()),
        ("responses", pa.list_(RESPONSE)),
        ("suggestion", SUGGESTION),
    ]
)
# Older backups lack these columns (and the responses' comment and updated_at): they load with
# nulls there.
OPTIONAL = {"suggestion", "metadata"}
PAGE = 1000  # the most records the server lists at once
ORIGIN_PREFIX = "kto."


def fetch(client, dataset) -> list[dict]:
    """Every record with every annotator's response. Read from the server's records endpoint: the
    SDK's records leave out a response's update time, and a discard without a rating."""
    usernames = {str(user.id): user.username for user in client.users}
    questions = {str(question.id): question.name for question in dataset.settings.questions}
    return [_row(item, usernames, questions) for item in server_records(client, dataset.id)]


def server_records(
    client, dataset_id, include: tuple[str, ...] = ("responses", "suggestions")
) -> Iterator[dict]:
    """The records as the server lists them (with their responses' update times), a page at a time."""
    import httpx

    for offset in count(0, PAGE):
        try:
            reply = client.api.http_client.get(
                f"/api/v1/datasets/{dataset_id}/records",
                params={"include": list(include), "offset": offset, "limit": PAGE},
            )
            reply.raise_for_status()
        except httpx.HTTPError as error:
            raise KtoError("argilla", f"could not read the records: {short(error)}") from error
        items = reply.json()["items"]
        yield from items
        if len(items) < PAGE:
            return


def _row(item: dict, usernames: dict[str, str], questions: dict[str, str]) -> dict:
    metadata = item.get("metadata") or {}
    suggestions = {questions.get(found["question_id"]): found for found in item.get("suggestions") or []}
    judged = suggestions.get(QUESTION)
    return {
        "id": item["external_id"],
        "prompt": item["fields"]["prompt"],
        "completion": item["fields"]["completion"],
        "model": metadata.get("model"),
        "prompt_id": metadata.get("prompt_id"),
        "language": metadata.get("language"),
        "metadata": json.dumps(metadata, ensure_ascii=False, sort_keys=True),
        "status": item["status"],
        "responses": [
            {
                "user": usernames.get(response["user_id"], response["user_id"]),
                "value": (response.get("values") or {}).get(QUESTION, {}).get("value"),
                "status": response["status"],
                "comment": (response.get("values") or {}).get(COMMENT, {}).get("value"),
                "updated_at": utc(response["updated_at"]),
            }
            for response in item.get("responses") or []
        ],
        "suggestion": {key: judged[key] for key in ("value", "score", "agent")} if judged else None,
    }


def utc(text: str) -> datetime:
    """The server's times are UTC without a zone."""
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def origin(dataset) -> dict[str, str]:
    """What a backup of ``dataset`` records about where it comes from."""
    return {
        "dataset": f"{dataset.workspace.name}/{dataset.name}",
        "settings": json.dumps(signature(dataset.settings)),
        "saved_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def save(rows: list[dict], path: Path, source: dict[str, str] | None = None) -> None:
    table = pa.Table.from_pylist(rows, schema=SCHEMA)
    if source:
        table = table.replace_schema_metadata({ORIGIN_PREFIX + key: value for key, value in source.items()})
    write_parquet(table, path)


def load(path: Path) -> list[dict]:
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowInvalid) as error:
        raise KtoError("from", f"{path} is not a readable parquet file") from error
    missing = [name for name in SCHEMA.names if name not in table.column_names]
    if set(missing) - OPTIONAL:
        raise KtoError("from", f"{path} is not a kto backup: it lacks {', '.join(missing)}")
    unknown = {"comment": None, "updated_at": None}
    return [
        dict.fromkeys(missing)
        | row
        | {"responses": [unknown | response for response in row["responses"] or []]}
        for row in table.to_pylist()
    ]


def saved_origin(path: Path) -> dict[str, str]:
    """The origin a backup file was saved with ({} for backups older than that)."""
    metadata = pq.read_schema(path).metadata or {}
    return {
        key.decode()[len(ORIGIN_PREFIX) :]: value.decode()
        for key, value in metadata.items()
        if key.decode().startswith(ORIGIN_PREFIX)
    }


def summary(rows: list[dict]) -> str:
    """Records and responses by status, in a few words (commit messages, kto backup, kto restore)."""
    statuses = Counter(response["status"] for row in rows for response in row["responses"])
    by_status = ", ".join(f"{statuses[name]} {name}" for name in ("submitted", "discarded", "draft"))
    return f"{len(rows)} records, {statuses.total()} responses ({by_status})"


def submitted(rows: list[dict]) -> list[tuple[dict, dict]]:
    return [
        (row, response) for row in rows for response in row["responses"] if response["status"] == "submitted"
    ]


def approval_by_model(rows: list[dict]) -> dict[str, Counter]:
    """Submitted thumbs up and down per model (gold records are no model's)."""
    from kto.gold import label_of

    votes: dict[str, Counter] = defaultdict(Counter)
    for row, response in submitted(rows):
        if response["value"] in (UP, DOWN) and label_of(row) is None:
            votes[row["model"]][response["value"]] += 1
    return dict(sorted(votes.items()))


def by_annotator(rows: list[dict], annotators: list[str]) -> dict[str, Counter]:
    """Per annotator: responses by status (submitted, discarded, draft), and ``pending``, the
    records still open (not completed) that they have not answered."""
    counts: dict[str, Counter] = {user: Counter() for user in annotators}
    for row in rows:
        answered = {response["user"] for response in row["responses"]}
        for response in row["responses"]:
            counts.setdefault(response["user"], Counter())[response["status"]] += 1
        if row["status"] == "pending":
            for user in counts.keys() - answered:
                counts[user]["pending"] += 1
    return dict(sorted(counts.items()))


def annotators(client, workspace: str) -> list[str]:
    space = client.workspaces(workspace)
    return [user.username for user in space.users if str(user.role).endswith("annotator")] if space else []
