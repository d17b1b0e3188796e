"""``kto restore``: a backup put back into an Argilla server, the same one or a new, empty one
(a Space after a restart).

The dataset is made with the project's settings; each record keeps its id, fields and metadata;
each response goes back to its annotator, matched by username, with its value, comment and status;
the judge's suggestions come back too. Usernames the server lacks are created as annotators with a
random password nobody sees (on a Space, Hugging Face sign-in matches them by username).

Twice is once, and a run killed midway finishes on the next: records go in a batch at a time and
whatever the server already has is left alone. A response changed on the server after the backup
was taken is never overwritten; neither is a suggestion the server has.

Backups made before the responses' update times were kept cannot tell which is newer: an existing
response on the server is then always kept. They also lack the comments, metadata other than model,
prompt_id and language, and the settings a backup is checked against.
"""

import json
import secrets
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from kto import ratings
from kto.argilla_client import connect
from kto.argilla_dataset import ensure_dataset, log_in_batches, settings
from kto.argilla_settings import differences, signature
from kto.config import ProjectConfig
from kto.errors import KtoError, short
from kto.labels import COMMENT, QUESTION

# Metadata an older backup kept in columns of its own.
METADATA_COLUMNS = ("model", "prompt_id", "language")


@dataclass
class RestoreReport:
    source: str
    target: str = ""
    records_added: int = 0
    written: Counter = field(default_factory=Counter)  # responses written, by status
    unchanged: int = 0  # responses the server already had, as in the backup
    kept_newer: int = 0  # responses changed on the server since the backup: left as they are
    suggestions: int = 0
    users_created: list[str] = field(default_factory=list)
    older_backup: bool = False
    journal: str | None = None  # what the watcher's journal added (kto.watch_replay)

    def describe(self) -> str:
        by_status = ", ".join(f"{self.written[name]} {name}" for name in ("submitted", "discarded", "draft"))
        lines = [
            f"Restored {self.source} into {self.target}: {self.records_added} records added; "
            f"responses written: {by_status}; {self.unchanged} already there, {self.kept_newer} kept "
            f"(newer on the server); {self.suggestions} suggestions",
        ]
        if self.users_created:
            lines.append(
                f"Created {len(self.users_created)} annotator accounts (random passwords; on a Space they "
                f"sign in with Hugging Face): {', '.join(self.users_created)}"
            )
        if self.journal:
            lines.append(self.journal)
        if self.older_backup:
            lines.append(
                "note: an older backup: no settings to check it against, no comments, no update times "
                "(responses already on the server were kept)"
            )
        return "\n".join(lines)


def restore(
    config: ProjectConfig,
    source: Path | None,
    revision: str | None,
    on_logged: Callable[[int, int], None] | None = None,
) -> RestoreReport:
    """Put the backup back; ``on_logged(records, total)`` follows the writing."""
    from kto import watch_replay

    with backup_file(config, source, revision) as (path, where):
        rows = ratings.load(path)
        origin = ratings.saved_origin(path)
    saved_at = datetime.fromisoformat(origin["saved_at"]) if origin.get("saved_at") else None
    rows, replayed = watch_replay.apply(config, rows, saved_at)
    client = connect(config)
    check_origin(origin, config, client, where)  # before anything is written
    dataset = ensure_dataset(client, config)
    result = RestoreReport(where, f"{config.argilla.workspace}/{config.argilla.dataset} at {client.api_url}")
    result.older_backup = not origin
    result.journal = replayed.describe()
    usernames = {response["user"] for row in rows for response in row["responses"]}
    user_ids = ensure_users(client, config.argilla.workspace, usernames, result.users_created)
    present = {row["id"]: row for row in ratings.fetch(client, dataset)}
    records = [record for row in rows if (record := plan(row, present.get(row["id"]), user_ids, result))]
    log_in_batches(dataset, records, on_logged)
    return result


@contextmanager
def backup_file(
    config: ProjectConfig, source: Path | None, revision: str | None
) -> Iterator[tuple[Path, str]]:
    """The file to restore and a name for it: ``source``; the Hub's backup at ``revision``; else
    the newer of the local backup and the Hub's latest, named with its age."""
    from kto import backup_history

    if source and revision:
        raise KtoError("revision", "give --from or --revision, not both")
    if source:
        if not source.is_file():
            raise KtoError("from", f"{source} does not exist")
        yield source, str(source)
        return
    repo, note = config.hub.ratings_backup_repo, ""
    if revision is not None:
        commit = backup_history.resolve(repo, revision)
    else:
        found = backup_history.search(config)
        newest = found.newest
        if newest is None:
            problem = found.hub_problem or f"{repo} holds no backup yet"
            raise KtoError("from", f"no backup: {config.backup.output} does not exist and {problem}")
        if newest.revision is None:
            yield config.path(newest.where), f"{newest.where} ({newest_words(found)})"
            return
        commit, note = newest.revision, f" ({newest_words(found)})"
    with backup_history.downloaded(repo, commit) as path:
        yield path, f"{repo} at {commit[:8]}{note}"


def newest_words(found) -> str:
    """Which backup was taken, how old it is, and what it was chosen over."""
    newest = found.newest
    kind = "the local file" if newest.revision is None else "the Hub's latest backup"
    other = found.hub if newest is found.local else found.local
    if other is None:
        problem = f"; {found.hub_problem}" if found.hub_problem else ""
        return f"{kind}, saved {newest.age()} ago, the only backup found{problem}"
    return f"{kind}, saved {newest.age()} ago, newer than {other.where} (saved {other.age()} ago)"


def check_origin(origin: dict[str, str], config: ProjectConfig, client, where: str) -> None:
    """A backup of another project's dataset (another name, or other settings) is refused."""
    if not origin:
        return  # an older backup: nothing to check it against
    differ = differences(json.loads(origin["settings"]), signature(settings(config, client)))
    name = origin["dataset"].split("/")[-1]
    if name != config.argilla.dataset or differ:
        other = f" with other settings ({', '.join(differ)})" if differ else ""
        raise KtoError(
            "from",
            f"{where} is a backup of {origin['dataset']}{other}, not of this project's dataset "
            f"{config.argilla.dataset}: nothing was written",
        )


def ensure_users(client, workspace: str, usernames: set[str], created: list[str]) -> dict:
    """The server's id of each username, creating missing users as annotators of ``workspace``."""
    import argilla as rg

    space = client.workspaces(workspace)
    members = {user.username for user in space.users}
    ids = {}
    for name in sorted(usernames):
        user = client.users(name)
        try:
            if user is None:
                # Nobody needs this password: annotators sign in with Hugging Face on a Space, and
                # an owner can set a new one on a server of their own.
                password = secrets.token_urlsafe(24)
                user = rg.User(username=name, password=password, role="annotator", client=client).create()
                created.append(name)
            if name not in members and str(user.role).endswith("annotator"):
                space.add_user(user)
        except Exception as error:  # a username this server refuses, or no right to create users
            raise KtoError("users", f"cannot create or add the user {name!r}: {short(error)}") from error
        ids[name] = user.id
    return ids


def plan(row: dict, present: dict | None, user_ids: dict, result: RestoreReport):
    """The record to log for one backup row (None: the server has it all), counted in ``result``."""
    import argilla as rg

    on_server = {response["user"]: response for response in present["responses"]} if present else {}
    answers = []
    for response in row["responses"]:
        have = on_server.get(response["user"])
        if have and same(have, response):
            result.unchanged += 1
        elif have and not (response["updated_at"] and have["updated_at"] < response["updated_at"]):
            result.kept_newer += 1
        else:
            answers += as_responses(response, user_ids[response["user"]])
            result.written[response["status"]] += 1
    suggestion = row["suggestion"] if not (present and present["suggestion"]) else None
    if present and not answers and not suggestion:
        return None
    result.records_added += present is None
    result.suggestions += suggestion is not None
    base = present or row  # a record the server has keeps its own fields and metadata
    return rg.Record(
        id=row["id"],
        fields={"prompt": base["prompt"], "completion": base["completion"]},
        metadata=metadata_of(base),
        responses=answers,
        suggestions=[rg.Suggestion(QUESTION, **suggestion)] if suggestion else [],
    )


def same(a: dict, b: dict) -> bool:
    return all(a[key] == b[key] for key in ("value", "status", "comment"))


def as_responses(response: dict, user_id) -> list:
    """One annotator's answers, as the SDK takes them: one per question, sharing the status."""
    import argilla as rg

    status = response["status"]
    answers = [rg.Response(QUESTION, response["value"], user_id=user_id, status=status)]
    if response["comment"] is not None:
        answers.append(rg.Response(COMMENT, response["comment"], user_id=user_id, status=status))
    return answers


def metadata_of(row: dict) -> dict:
    if row["metadata"]:
        return json.loads(row["metadata"])
    return {key: row[key] for key in METADATA_COLUMNS if row[key] is not None}
