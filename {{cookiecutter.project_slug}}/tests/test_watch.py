"""kto watch: deliveries signed as Argilla signs them (Standard Webhooks) reach the journal on disk;
forged ones (a bad signature, a stale time, a replayed id, another dataset) are refused with 401,
409 or 400, counted, and change nothing. The journal is pushed to the Hub (a double at the HTTP
boundary), keeps growing while the Hub is unreachable, and is pushed when it answers again."""

import base64
import json
import secrets
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import yaml
from helpers import signed_delivery
from hypothesis import given
from hypothesis import strategies as st

from kto.watch_events import new_row, replay
from kto.watch_journal import EventJournal, read_events
from kto.watch_push import JournalPusher
from kto.watch_receiver import Receiver, serve

DATASET = "argilla/haiku"
SECRET = base64.b64encode(secrets.token_bytes(24)).decode()


def payload(kind: str = "response.updated", value: str = "up", dataset: str = "haiku", at: str | None = None):
    """An event's body as argilla_server 2.8 builds it (webhooks/v1/schemas.py), trimmed to what kto reads."""
    moment = at or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")
    record = {
        "id": "9b1c7e1e-0000-4000-8000-000000000001",
        "external_id": "rec-1",
        "fields": {"prompt": "Write a haiku about rain.", "completion": "Rain on the tin roof"},
        "metadata": {"model": "team/model-0", "prompt_id": "p1", "language": "en"},
        "dataset": {"name": dataset, "workspace": {"name": "argilla"}},
    }
    data = {
        "id": "5f0c2a8e-0000-4000-8000-000000000002",
        "values": {"rating": {"value": value}},
        "status": "submitted",
        "record": record,
        "user": {"username": "annotator1"},
        "updated_at": moment,
    }
    return {"type": kind, "version": 1, "timestamp": moment + "Z", "data": data}


def delivery(body: dict, secret: str = SECRET, message: str | None = None, sent: float | None = None):
    """A delivery signed with this module's secret unless told otherwise."""
    return signed_delivery(body, secret, message, sent)


@pytest.fixture
def endpoint(tmp_path):
    journal = EventJournal(tmp_path)
    receiver = Receiver(journal, DATASET, SECRET)
    server = serve(receiver, "127.0.0.1", 0, lambda: {"events": len(journal.events)})
    yield receiver, f"http://127.0.0.1:{server.server_port}/webhook", tmp_path / "journal"
    server.shutdown()
    journal.close()


def on_disk(folder: Path) -> bytes:
    return b"".join(path.read_bytes() for path in sorted(folder.glob("*.jsonl")))


def test_a_signed_delivery_is_journalled_before_the_answer_and_forgeries_change_nothing(endpoint):
    receiver, url, folder = endpoint
    headers, body = delivery(payload())
    answer = httpx.post(url, headers=headers, content=body)
    assert answer.status_code == 200, answer.text
    [event] = read_events(folder.glob("*.jsonl"))  # on disk by the time the answer came
    assert (event["record"], event["user"], event["value"], event["status"]) == (
        "rec-1",
        "annotator1",
        "up",
        "submitted",
    )
    before = on_disk(folder)

    forged = {
        "replayed id": (headers, body),
        "bad signature": delivery(payload(value="down"), secret=base64.b64encode(b"x" * 24).decode()),
        "tampered body": (delivery(payload())[0], json.dumps(payload(value="down")).encode()),
        "stale": delivery(payload(value="down"), sent=time.time() - 3600),
        "other dataset": delivery(payload(value="down", dataset="someone-elses")),
    }
    codes = {name: httpx.post(url, headers=h, content=b).status_code for name, (h, b) in forged.items()}
    assert codes == {
        "replayed id": 409,
        "bad signature": 401,
        "tampered body": 401,
        "stale": 401,
        "other dataset": 400,
    }
    assert on_disk(folder) == before
    assert dict(receiver.refused) == {"replayed": 1, "bad signature": 2, "stale": 1, "other dataset": 1}
    assert receiver.journalled == 1


def test_a_redelivery_of_one_change_under_a_new_id_is_journalled_once(endpoint):
    """Argilla retries a failed delivery as a new message (jobs/webhook_jobs.py): same change."""
    receiver, url, folder = endpoint
    body = payload(at="2026-12-07T10:00:00.000001")
    for _ in range(2):
        headers, content = delivery(body)
        answer = httpx.post(url, headers=headers, content=content)
        assert answer.status_code == 200
    assert answer.text == "already journalled"
    assert len(read_events(folder.glob("*.jsonl"))) == 1
    assert receiver.refused == {}


def test_a_journal_line_torn_by_a_kill_is_skipped_and_the_next_run_goes_on(tmp_path):
    journal = EventJournal(tmp_path)
    receiver = Receiver(journal, DATASET, SECRET)
    assert receiver.handle(*delivery(payload()))[0] == 200
    journal.close()
    [written] = list((tmp_path / "journal").glob("*.jsonl"))
    with written.open("a") as handle:
        handle.write('{"id": "msg_torn", "type": "resp')  # a kill mid-write
    again = EventJournal(tmp_path)
    assert [event["value"] for event in again.events] == ["up"]
    assert Receiver(again, DATASET, SECRET).handle(*delivery(payload(value="down")))[0] == 200
    assert [event["value"] for event in EventJournal(tmp_path).events] == ["up", "down"]


def test_the_journal_is_pushed_and_waits_on_disk_while_the_hub_is_unreachable(tmp_path, hub, monkeypatch):
    double, env = hub
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr("huggingface_hub.constants.ENDPOINT", env["HF_ENDPOINT"])
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", False)
    journal = EventJournal(tmp_path)
    receiver = Receiver(journal, DATASET, SECRET)
    said: list[str] = []
    pusher = JournalPusher(journal.folder, "alice/haiku-ratings-backup", said.append, every=1)
    receiver.handle(*delivery(payload()))
    pusher.journalled()
    assert pusher.push()
    repo = "dataset/alice/haiku-ratings-backup"
    assert double.history[repo][-1]["title"].startswith("Journal: 1 files, 1 events")
    assert pusher.state.lag is not None and pusher.state.lag < 5

    double.unreachable = True
    receiver.handle(*delivery(payload(value="down")))
    pusher.journalled()
    assert not pusher.push() and not pusher.push()
    assert len(said) == 1 and said[0].startswith("cannot push the journal to alice/haiku-ratings-backup")
    assert len(read_events(journal.folder.glob("*.jsonl"))) == 2  # journalling goes on

    double.unreachable = False
    assert pusher.push()
    assert said[-1] == "pushed the journal to alice/haiku-ratings-backup again"
    pushed = b"".join(content for path, content in double.files[repo].items() if path.startswith("journal/"))
    assert [json.loads(line)["value"] for line in pushed.splitlines()] == ["up", "down"]


# -- replay over a backup, against a plain re-enactment of the same changes ----------------------

RECORDS, USERS = ["r1", "r2", "r3"], ["annotator1", "annotator2"]
CHANGE = st.tuples(
    st.sampled_from(["rate", "rate", "unrate", "drop record"]),
    st.sampled_from(RECORDS),
    st.sampled_from(USERS),
    st.sampled_from(["up", "down"]),
)


def enact(changes, backup_after: int):
    """The changes applied one by one to a plain dict: the state when the backup is taken, the final
    state, and the journal's events (one per change, a second apart)."""
    state: dict[tuple[str, str], tuple[str, datetime]] = {}
    dropped: set[str] = set()
    events, snapshot = [], None
    start = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
    for number, (kind, record, user, value) in enumerate(changes):
        if number == backup_after:
            snapshot = (dict(state), set(dropped))
        at = start + timedelta(seconds=number)
        if record in dropped:
            continue
        base = {"id": f"e{number}", "at": at.isoformat(), "record": record, "user": user, "response_id": None}
        if kind == "rate":
            state[(record, user)] = (value, at)
            fields = {"prompt": f"prompt of {record}", "completion": "a haiku"}
            events.append({**base, "type": "response.updated", "value": value, "status": "submitted",
                           "comment": None, "fields": fields, "metadata": {}})  # fmt: skip
        elif kind == "unrate" and (record, user) in state:
            del state[(record, user)]
            events.append({**base, "type": "response.deleted"})
        elif kind == "drop record":
            dropped.add(record)
            state = {key: answer for key, answer in state.items() if key[0] != record}
            events.append({**base, "type": "record.deleted", "user": None})
    return snapshot or (dict(state), set(dropped)), state, events


def as_rows(state: dict) -> list[dict]:
    rows: dict[str, dict] = {}
    for (record, user), (value, at) in state.items():
        row = rows.setdefault(
            record, new_row({"record": record, "fields": {"prompt": "p", "completion": "c"}})
        )
        row["responses"].append(
            {"user": user, "value": value, "status": "submitted", "comment": None, "updated_at": at}
        )
    return list(rows.values())


def ratings_of(rows: list[dict]) -> dict[tuple[str, str], str]:
    return {(row["id"], answer["user"]): answer["value"] for row in rows for answer in row["responses"]}


@given(st.lists(CHANGE, max_size=40), st.integers(min_value=0, max_value=40))
def test_replaying_the_journal_over_a_backup_gives_the_last_state(changes, backup_after):
    """Whether the replay gets the whole journal or only what followed the backup: a deleted
    response stays deleted, an updated one keeps its newest value, a dropped record stays gone."""
    (backed_up, _), final, events = enact(changes, backup_after)
    expected = {key: value for key, (value, _) in final.items()}
    later = [event for event in events if int(event["id"][1:]) >= backup_after]
    for journal in (events, later):
        rows, _ = replay(as_rows(backed_up), journal)
        assert ratings_of(rows) == expected
        assert all(len({a["user"] for a in row["responses"]}) == len(row["responses"]) for row in rows)
    assert replay(replay(as_rows(backed_up), events)[0], events)[0] == replay(as_rows(backed_up), events)[0]


# -- what kto doctor and kto status read from the watcher's files --------------------------------


def test_doctor_follows_the_watcher_and_status_reads_the_journal_while_the_server_is_down(project):
    """The server is out of reach (a Space restarting): kto watch runs on, says so, and catches
    up later; doctor's line says no webhook is registered, then that it stopped; kto status shows
    the ratings the journal holds."""
    from helpers import free_port, kto_env, table_rows

    from kto.config import load_config
    from kto.watch_status import check_watcher

    down = {"ARGILLA_API_URL": f"http://127.0.0.1:{free_port()}", "ARGILLA_API_KEY": "owner.key"}
    journal = EventJournal(project / "data" / "watch")
    receiver = Receiver(journal, "argilla/haiku-kto-en", SECRET)
    for value, user in (("up", "annotator1"), ("down", "annotator2")):
        body = payload(value=value, dataset=load_config(project / "project.yaml").argilla.dataset)
        body["data"]["user"]["username"] = user
        receiver.dataset = f"argilla/{body['data']['record']['dataset']['name']}"
        assert receiver.handle(*delivery(body)) == (200, "journalled")
    journal.close()
    config = load_config(project / "project.yaml")
    assert check_watcher(config).message.startswith("not running here")

    watcher = subprocess.Popen(
        [sys.executable, "-m", "kto", "watch", "--port", str(free_port())],
        cwd=project, env={**kto_env(), **down}, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while not (project / "data" / "watch" / "status.json").exists():
            assert time.monotonic() < deadline and watcher.poll() is None, watcher.stderr.read()
            time.sleep(0.2)
        finding = check_watcher(config)
        assert finding.status == "warn" and finding.message.startswith("no webhook registered for http://")
        assert "0 deliveries refused" in finding.message
    finally:
        watcher.terminate()
        log = watcher.communicate(timeout=30)[1]
    assert "cannot reach the ratings yet" in log
    assert check_watcher(config).message.startswith("stopped (last event")

    status = subprocess.run(
        [sys.executable, "-m", "kto", "status"], cwd=project, env={**kto_env(), **down},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert status.returncode == 0, status.stderr
    assert "these figures are the last backup and the ratings journal" in status.stderr
    rows = table_rows(status.stdout)
    assert rows["annotator1"][0] == "1" and rows["annotator2"][0] == "1", status.stdout


def test_space_create_watch_makes_a_public_companion_space_with_its_secrets_in_the_secret_store(project, hub):
    """The watcher's Space: the project's code and settings, kto watch on the Space's port with its
    public address for Argilla, and the Argilla Space's address, its owner key and a Hub token as
    Space secrets, in no file."""
    from helpers import PROJECT, run_kto

    for name in ("pyproject.toml", "README.md"):
        shutil.copy(PROJECT / name, project)
    double, env = hub
    owner_key = "owner.never-in-a-file-5678"
    made = run_kto(project, "space", "create", "--watch", env={**env, "ARGILLA_API_KEY": owner_key})
    assert made.returncode == 0, made.stderr
    config = yaml.safe_load((project / "project.yaml").read_text())
    name = f"{config['hub']['namespace']}/{config['argilla']['dataset']}"
    repo = f"space/{name}-watch"
    files = double.files[repo]
    assert not double.repos[repo]["private"]
    assert yaml.safe_load(files["README.md"].decode().split("---")[1])["app_port"] == 7860
    host = "https://" + name.replace("/", "-").lower()
    assert f'"--url", "{host}-watch.hf.space/webhook"' in files["Dockerfile"].decode()
    assert {"project/pyproject.toml", "project/project.yaml", "project/src/kto/watch.py"} <= files.keys()
    assert double.secrets[repo] == {
        "ARGILLA_API_URL": f"{host}-argilla.hf.space",
        "ARGILLA_API_KEY": owner_key,
        "HF_TOKEN": double.token,
    }
    assert not any(
        owner_key.encode() in content or double.token.encode() in content for content in files.values()
    )
    assert owner_key not in made.stdout + made.stderr
