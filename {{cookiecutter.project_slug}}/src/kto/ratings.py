"""Records and their human ratings, read from Argilla or from a ``kto backup`` file.

One row per record: ``id``, ``prompt``, ``completion``, ``model``, ``prompt_id``, ``language``,
``status`` (Argilla's: pending or completed), ``responses``, a list of
``{"user", "value", "status"}`` for the rating question (status: submitted, discarded, draft),
and ``suggestion``, the judge's ``{"value", "score", "agent"}`` from ``kto suggest`` (or null).
"""

from collections import Counter, defaultdict
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from kto.errors import KtoError
from kto.files import write_parquet
from kto.labels import DOWN, QUESTION, UP

RESPONSE = pa.struct([("user", pa.string()), ("value", pa.string()), ("status", pa.string())])
SUGGESTION = pa.struct([("value", pa.string()), ("score", pa.float64()), ("agent", pa.string())])
SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("prompt", pa.string()),
        ("completion", pa.string()),
        ("model", pa.string()),
        ("prompt_id", pa.string()),
        ("language", pa.string()),
        ("status", pa.string()),
        ("responses", pa.list_(RESPONSE)),
        ("suggestion", SUGGESTION),
    ]
)
# Backups made before kto suggest existed lack the column; they load with no suggestions.
OPTIONAL = {"suggestion"}


def fetch(client, dataset) -> list[dict]:
    usernames = {user.id: user.username for user in client.users}
    rows = []
    for record in dataset.records(with_responses=True, with_suggestions=True):
        metadata = record.metadata or {}
        rows.append(
            {
                "id": record.id,
                "prompt": record.fields["prompt"],
                "completion": record.fields["completion"],
                "model": metadata.get("model"),
                "prompt_id": metadata.get("prompt_id"),
                "language": metadata.get("language"),
                "status": str(record.status),
                "responses": [
                    {
                        "user": usernames.get(response.user_id, str(response.user_id)),
                        "value": response.value,
                        "status": str(
                            response.status.value if hasattr(response.status, "value") else response.status
                        ),
                    }
                    for response in record.responses[QUESTION]
                ],
                "suggestion": record.suggestions.to_dict().get(QUESTION),
            }
        )
    return rows


def save(rows: list[dict], path: Path) -> None:
    write_parquet(pa.Table.from_pylist(rows, schema=SCHEMA), path)


def load(path: Path) -> list[dict]:
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowInvalid) as error:
        raise KtoError("from", f"{path} is not a readable parquet file") from error
    missing = [name for name in SCHEMA.names if name not in table.column_names]
    if set(missing) - OPTIONAL:
        raise KtoError("from", f"{path} is not a kto backup: it lacks {', '.join(missing)}")
    return [dict.fromkeys(missing) | row for row in table.to_pylist()]


def submitted(rows: list[dict]) -> list[tuple[dict, dict]]:
    return [
        (row, response) for row in rows for response in row["responses"] if response["status"] == "submitted"
    ]


def approval_by_model(rows: list[dict]) -> dict[str, Counter]:
    """Submitted thumbs up and down per model."""
    votes: dict[str, Counter] = defaultdict(Counter)
    for row, response in submitted(rows):
        if response["value"] in (UP, DOWN):
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
