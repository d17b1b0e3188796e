"""kto restore against real Argilla servers: a wiped server gets every rating back, twice is once,
a killed run finishes, the Hub's backups restore by revision, and bad backups are one line."""

import json
import shutil
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import pyarrow.parquet as pq
import pytest
from helpers import (
    PROJECT,
    dataset_of,
    edit_config,
    free_port,
    kill_once_records_appear,
    run_kto,
    write_generations,
)

import kto.status
from kto import backups, export_files, ratings, restore
from kto.config import load_config
from kto.export import Policy

pytestmark = [pytest.mark.slow, pytest.mark.once]

# (prompt, model) -> the answers of (annotator, value, status, comment): three annotators, every
# status, a record rated by one of three, a discard without a rating, a draft with only a comment.
PLAN = {
    (0, 0): [("annotator1", "up", "submitted", "lovely"), ("annotator2", "up"), ("annotator3", "up")],
    (0, 1): [("annotator1", "down"), ("annotator2", "down"), ("annotator3", "up")],
    (0, 2): [("annotator1", "up"), ("annotator2", "down")],
    (1, 0): [("annotator1", "up")],
    (1, 1): [("annotator2", "down", "discarded"), ("annotator3", None, "discarded")],
    (1, 2): [("annotator1", "up", "draft"), ("annotator3", None, "draft", "not sure yet")],
}
JUDGED = {(0, 0): ("up", 1.0), (0, 1): ("down", 2 / 3), (2, 0): ("up", 1 / 3)}


def answer(user: str, value: str | None, status: str = "submitted", comment: str | None = None) -> tuple:
    return user, value, status, comment


def rate(client, dataset) -> None:
    """The plan's ratings and the judge's suggestions, logged as Argilla stores the UI's."""
    import argilla as rg

    records = {
        (int(r.fields["prompt"].split()[-1]), int(r.metadata["model"].split("-")[-1])): r
        for r in dataset.records()
    }
    for key, answers in PLAN.items():
        for user, value, status, comment in (answer(*given) for given in answers):
            user_id = client.users(user).id
            records[key].responses.add(rg.Response("rating", value, user_id=user_id, status=status))
            if comment:
                records[key].responses.add(rg.Response("comment", comment, user_id=user_id, status=status))
    for key, (value, score) in JUDGED.items():
        records[key].suggestions.add(rg.Suggestion("rating", value, score=score, agent="team/judge"))
    dataset.records.log(list(records.values()))


def content(rows: list[dict]) -> list[dict]:
    """The rows without what a server sets by itself (response times)."""
    return sorted(
        (
            {**row, "responses": sorted(({**r, "updated_at": None} for r in row["responses"]), key=str)}
            for row in rows
        ),
        key=lambda row: row["id"],
    )


def exported(project) -> dict:
    """kto export's rows and figures, read back."""
    config = load_config(project / "project.yaml")
    policy = Policy.parse("majority", config.argilla.min_submitted)
    folder = config.path(config.export.output)
    export_files.run(config, policy, folder, source=None)
    folder = project / "data" / "export"
    return {
        "kto": pq.read_table(folder / "kto" / "train.parquet").to_pylist(),
        "dpo": pq.read_table(folder / "dpo" / "train.parquet").to_pylist(),
        "statistics": json.loads((folder / "statistics.json").read_text()),
        "reconciliation": json.loads((folder / "reconciliation.json").read_text()),
    }


def status_of(project) -> tuple:
    """What kto status reports (in-process): progress, per annotator, per model."""
    report = kto.status.collect(load_config(project / "project.yaml"))
    return report.completed, report.total, report.pending, report.per_annotator, report.approval


def server_rows(client, project) -> list[dict]:
    return ratings.fetch(client, dataset_of_client(client, project))


def dataset_of_client(client, project):
    config = load_config(project / "project.yaml")
    return client.datasets(config.argilla.dataset, workspace=config.argilla.workspace)


def test_a_wiped_server_gets_every_rating_back(tmp_path):
    """kto argilla down, its data deleted, up again: an empty server with new user ids, as a Space
    after a restart. kto restore --from the backup gives the same export and the same status."""
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    import argilla as rg
    from dotenv import dotenv_values

    shutil.copy(PROJECT / "project.yaml", tmp_path)
    edit_config(tmp_path, lambda config: config["argilla"].update(min_submitted=2))

    def client():
        settings = dotenv_values(tmp_path / ".argilla" / "local.env")
        return rg.Argilla(api_url=settings["ARGILLA_API_URL"], api_key=settings["ARGILLA_API_KEY"])

    assert run_kto(tmp_path, "argilla", "up", "--annotators", "3").returncode == 0
    try:
        write_generations(tmp_path, prompts=3, models=3)
        # The synthetic English answers are not what this test is about: no language gate.
        assert run_kto(tmp_path, "annotate", "--no-checks").returncode == 0
        before_client = client()
        rate(before_client, dataset_of_client(before_client, tmp_path))
        old_ids = {user.username: user.id for user in before_client.users}
        before_rows = server_rows(before_client, tmp_path)
        before_export, before_status = exported(tmp_path), status_of(tmp_path)
        config = load_config(tmp_path / "project.yaml")
        assert "no backup yet" in kto.status.collect(config).backup_warning
        saved = backups.save(config)
        assert saved.summary == "9 records, 13 responses (9 submitted, 2 discarded, 2 draft)"
        assert kto.status.collect(config).backup_warning is None
        backup = tmp_path / "data" / "backup" / "ratings.parquet"
        assert saved.path == backup
        kept = tmp_path / "kept.parquet"
        shutil.move(backup, kept)  # restore --from must not need the default file

        assert run_kto(tmp_path, "argilla", "down").returncode == 0
        shutil.rmtree(tmp_path / ".argilla" / "home")
        assert run_kto(tmp_path, "argilla", "up", "--annotators", "2").returncode == 0
        after_client = client()
        assert dataset_of_client(after_client, tmp_path) is None
        assert after_client.users("annotator1").id != old_ids["annotator1"]
        assert after_client.users("annotator3") is None

        restored = restore.restore(config, kept, None)
        assert (restored.records_added, restored.suggestions, restored.unchanged) == (9, 3, 0)
        assert restored.written == Counter(submitted=9, discarded=2, draft=2)
        assert restored.users_created == ["annotator3"]
        assert str(after_client.users("annotator3").role).endswith("annotator")
        assert content(server_rows(after_client, tmp_path)) == content(before_rows)
        assert exported(tmp_path) == before_export
        assert status_of(tmp_path) == before_status

        again = restore.restore(config, kept, None)
        assert (again.records_added, sum(again.written.values()), again.unchanged) == (0, 0, 13)
        assert again.users_created == []
        assert status_of(tmp_path) == before_status
    finally:
        run_kto(tmp_path, "argilla", "down")


def many_ratings(argilla_server, project) -> None:
    """Every record rated: annotator1 submits, annotator2 discards every third, annotator3 drafts
    every fifth."""
    import argilla as rg

    client = argilla_server.client()
    ids = {name: client.users(name).id for name in ("annotator1", "annotator2", "annotator3")}
    dataset = dataset_of(argilla_server, project)
    records = list(dataset.records())
    for n, record in enumerate(records):
        given = [("annotator1", "up" if n % 2 else "down", "submitted")]
        given += [("annotator2", "down", "discarded")] if n % 3 == 0 else []
        given += [("annotator3", "up", "draft")] if n % 5 == 0 else []
        for user, value, status in given:
            record.responses.add(rg.Response("rating", value, user_id=ids[user], status=status))
    dataset.records.log(records)


def test_a_restore_killed_midway_finishes_on_the_next_run(annotation_project, argilla_server):
    write_generations(annotation_project, prompts=400)  # 800 records: 4 batches
    assert run_kto(annotation_project, "annotate").returncode == 0
    many_ratings(argilla_server, annotation_project)
    assert run_kto(annotation_project, "backup").returncode == 0
    backup = ratings.load(annotation_project / "data" / "backup" / "ratings.parquet")
    dataset_of(argilla_server, annotation_project).delete()

    partial = kill_once_records_appear(argilla_server, annotation_project, "restore")
    assert 0 < partial < 800

    resumed = run_kto(annotation_project, "restore")
    assert resumed.returncode == 0, resumed.stderr
    assert f"{800 - partial} records added" in resumed.stderr
    client = argilla_server.client()
    assert content(server_rows(client, annotation_project)) == content(backup)


def test_hub_backups_restore_by_revision_and_never_over_newer_ratings(
    annotation_project, argilla_server, hub
):
    import argilla as rg

    double, hub_env = hub
    write_generations(annotation_project, prompts=2)
    assert run_kto(annotation_project, "annotate").returncode == 0
    unrated = run_kto(annotation_project, "backup")
    assert "Saved 4 records, 0 responses (0 submitted, 0 discarded, 0 draft)" in unrated.stderr
    client = argilla_server.client()
    dataset = dataset_of(argilla_server, annotation_project)
    record = next(r for r in dataset.records() if r.fields["prompt"] == "Prompt number 0")

    def answer(user: str, value: str) -> None:
        record.responses.add(rg.Response("rating", value, user_id=client.users(user).id, status="submitted"))
        dataset.records.log([record])

    answer("annotator1", "up")
    first = run_kto(annotation_project, "backup", "--push", env=hub_env)
    assert first.returncode == 0, first.stderr
    answer("annotator2", "down")
    assert run_kto(annotation_project, "backup", "--push", env=hub_env).returncode == 0

    listed = run_kto(annotation_project, "backup", "--list", env=hub_env)
    assert listed.returncode == 0, listed.stderr
    config = load_config(annotation_project / "project.yaml")
    commits = double.history[f"dataset/{config.hub.ratings_backup_repo}"]
    assert [commit["title"] for commit in commits] == [
        "Backup: 4 records, 1 responses (1 submitted, 0 discarded, 0 draft)",
        "Backup: 4 records, 2 responses (2 submitted, 0 discarded, 0 draft)",
    ]
    lines = [line.split("  ") for line in listed.stderr.splitlines()[1:]]
    assert (
        [(line[0], line[-1]) for line in lines]
        == [  # newest first
            (commit["id"][:8], commit["title"]) for commit in reversed(commits)
        ]
    )

    (annotation_project / "data" / "backup" / "ratings.parquet").unlink()  # the Hub is the source
    fresh = run_kto(annotation_project, "status", env=hub_env)
    assert fresh.returncode == 0 and "warning: " not in fresh.stderr, fresh.stderr

    dataset.delete()
    older = run_kto(annotation_project, "restore", "--revision", commits[0]["id"][:8], env=hub_env)
    assert older.returncode == 0, older.stderr
    assert f"at {commits[0]['id'][:8]}" in older.stderr and "1 submitted" in older.stderr
    latest = run_kto(annotation_project, "restore", env=hub_env)
    assert latest.returncode == 0, latest.stderr
    assert f"at {commits[1]['id'][:8]}" in latest.stderr
    assert "0 records added; responses written: 1 submitted, 0 discarded, 0 draft; 1 already there" in (
        latest.stderr
    )

    # annotator1 changes their mind after the backup: the server's newer rating stays.
    dataset = dataset_of(argilla_server, annotation_project)
    record = next(r for r in dataset.records() if r.fields["prompt"] == "Prompt number 0")
    changed = rg.Record(
        id=record.id,
        fields=dict(record.fields),
        metadata=dict(record.metadata),
        responses=[rg.Response("rating", "down", user_id=client.users("annotator1").id, status="submitted")],
    )
    dataset.records.log([changed])
    kept = run_kto(annotation_project, "restore", env=hub_env)
    assert "1 already there, 1 kept (newer on the server)" in kept.stderr, kept.stderr
    values = {
        response["user"]: response["value"]
        for row in server_rows(client, annotation_project)
        for response in row["responses"]
    }
    assert values == {"annotator1": "down", "annotator2": "down"}

    unknown = run_kto(annotation_project, "restore", "--revision", "0000000", env=hub_env)
    assert unknown.returncode == 1 and unknown.stderr.startswith("error: revision: 0000000 is not one backup")


def test_bad_backups_are_one_line_and_write_nothing(annotation_project, argilla_server):
    config = load_config(annotation_project / "project.yaml")
    other = annotation_project / "other.parquet"
    from kto.argilla_dataset import settings
    from kto.argilla_settings import signature as settings_signature

    # This project's settings, but for the fields (the overlap may differ: kto annotate changes it).
    signature = {**settings_signature(settings(config, argilla_server.client())), "fields": []}
    origin = {"dataset": "argilla/someone-else", "settings": json.dumps(signature), "saved_at": "2026-01-01"}
    ratings.save([], other, origin)
    refused = run_kto(annotation_project, "restore", "--from", str(other))
    assert refused.returncode == 1
    assert refused.stderr.startswith(f"error: from: {other} is a backup of argilla/someone-else with other ")
    assert "(fields)" in refused.stderr and len(refused.stderr.strip().splitlines()) == 1
    assert dataset_of(argilla_server, annotation_project) is None

    renamed = {**origin, "dataset": f"argilla/{config.argilla.dataset}"}
    ratings.save([], other, renamed)
    assert (
        "with other settings (fields)" in run_kto(annotation_project, "restore", "--from", str(other)).stderr
    )

    broken = annotation_project / "broken.parquet"
    broken.write_bytes(b"PAR1 not really a parquet file")
    garbled = run_kto(annotation_project, "restore", "--from", str(broken))
    assert garbled.returncode == 1
    assert garbled.stderr.strip() == f"error: from: {broken} is not a readable parquet file"
    assert dataset_of(argilla_server, annotation_project) is None

    missing = run_kto(annotation_project, "restore", "--from", "nope.parquet")
    assert missing.stderr.strip() == "error: from: nope.parquet does not exist"


def aged(hours: float) -> datetime:
    return datetime.now(UTC) - timedelta(hours=hours)


def test_restore_takes_the_newer_of_the_local_and_the_hubs_backup(annotation_project, argilla_server, hub):
    """With no --from, the local backup.output and the Hub's latest are compared: the newer one
    is restored, and the output says which and how old both are."""
    double, hub_env = hub
    write_generations(annotation_project, prompts=1, models=1)
    assert run_kto(annotation_project, "annotate").returncode == 0
    assert run_kto(annotation_project, "backup", "--push", env=hub_env).returncode == 0
    config = load_config(annotation_project / "project.yaml")
    local = annotation_project / config.backup.output
    (commit,) = double.history[f"dataset/{config.hub.ratings_backup_repo}"]

    def local_saved(hours: float) -> None:
        rows, origin = ratings.load(local), ratings.saved_origin(local)
        ratings.save(rows, local, {**origin, "saved_at": aged(hours).isoformat(timespec="seconds")})

    # The Hub's backup is newer: the hourly workflow ran after the lead's last local backup.
    local_saved(27)
    dataset_of(argilla_server, annotation_project).delete()
    from_hub = run_kto(annotation_project, "restore", env=hub_env)
    assert from_hub.returncode == 0, from_hub.stderr
    assert f"{config.hub.ratings_backup_repo} at {commit['id'][:8]} (the Hub's latest backup, saved " in (
        from_hub.stderr
    )
    assert f"newer than {config.backup.output} (saved 27 h ago)" in from_hub.stderr

    # The local file is newer.
    local_saved(0)
    commit["date"] = aged(5).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    dataset_of(argilla_server, annotation_project).delete()
    from_file = run_kto(annotation_project, "restore", env=hub_env)
    assert from_file.returncode == 0, from_file.stderr
    assert (
        f"Restored {config.backup.output} (the local file, saved 0 min ago, newer than " in from_file.stderr
    )
    assert f"{config.hub.ratings_backup_repo} on the Hub (saved 5 h ago))" in from_file.stderr
    assert dataset_of(argilla_server, annotation_project) is not None


def test_status_with_the_hub_out_of_reach_is_quick_and_says_it_once(annotation_project, monkeypatch):
    """Offline, or a Hub that does not answer: one line about it, no retries, and no advice to
    push, which cannot work then."""
    from huggingface_hub import constants

    from kto import status

    write_generations(annotation_project, prompts=1, models=1)
    assert run_kto(annotation_project, "annotate").returncode == 0
    closed = f"http://127.0.0.1:{free_port()}"
    for env in ({"HF_HUB_OFFLINE": "1"}, {"HF_HUB_OFFLINE": "0", "HF_ENDPOINT": closed, "HF_TOKEN": "hf_x"}):
        result = run_kto(annotation_project, "status", env=env)
        assert result.returncode == 0, result.stderr
        said = [line for line in result.stderr.splitlines() if "Hub" in line or "hub" in line]
        assert len(said) == 1, result.stderr
        assert "--push" not in result.stderr and "Retrying" not in result.stderr
        assert ("HF_HUB_OFFLINE is set" if env["HF_HUB_OFFLINE"] == "1" else "cannot reach the Hub") in said[
            0
        ]
        assert "records completed" in result.stdout  # the report itself is on stdout

    # What it costs, measured in this process: the unreachable Hub is tried once, briefly.
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "ENDPOINT", closed)
    config = load_config(annotation_project / "project.yaml")
    started = time.monotonic()
    report = status.collect(config)
    assert time.monotonic() - started < 3, "kto status waited for the Hub"
    assert "cannot reach the Hub" in report.backup_warning


def test_a_wiped_server_points_at_restore_when_a_backup_exists(annotation_project, argilla_server):
    write_generations(annotation_project, prompts=1, models=1)
    assert run_kto(annotation_project, "annotate").returncode == 0
    first = run_kto(annotation_project, "status")
    assert first.returncode == 0, first.stderr
    dataset_of(argilla_server, annotation_project).delete()
    never_backed_up = run_kto(annotation_project, "status")
    assert "run kto annotate first, or kto restore if it held ratings before" in never_backed_up.stderr
    write_generations(annotation_project, prompts=1, models=1)
    assert run_kto(annotation_project, "annotate").returncode == 0
    assert run_kto(annotation_project, "backup").returncode == 0
    dataset_of(argilla_server, annotation_project).delete()
    wiped = run_kto(annotation_project, "status")
    assert wiped.returncode == 1
    assert "kto restore puts the backup data/backup/ratings.parquet back" in wiped.stderr
