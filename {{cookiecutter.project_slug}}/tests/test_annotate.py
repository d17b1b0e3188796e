"""kto annotate, status and backup against a real Argilla server on 127.0.0.1."""

import json
import os
import signal

import pytest
from conftest import (
    dataset_of,
    edit_config,
    kill_once_records_appear,
    record_count,
    records_of,
    run_kto,
    submit,
    table_rows,
    write_generations,
)

from kto import ratings
from kto.config import load_config

pytestmark = pytest.mark.slow


def test_each_response_becomes_one_record_once(annotation_project, argilla_server):
    write_generations(annotation_project, prompts=4, models=3, missing={(0, 1), (2, 2)})
    first = run_kto(annotation_project, "annotate")
    assert first.returncode == 0, first.stderr
    assert "10 records added" in first.stderr
    assert record_count(argilla_server, annotation_project) == 10

    again = run_kto(annotation_project, "annotate")
    assert again.returncode == 0, again.stderr
    assert "0 records added, 10 already there" in again.stderr
    assert record_count(argilla_server, annotation_project) == 10

    dataset = dataset_of(argilla_server, annotation_project)
    record = records_of(dataset, "team/model-0")[0]
    assert record.fields["completion"].startswith("Answer 0 to prompt")
    assert record.metadata["model"] == "team/model-0"
    assert record.metadata["language"] == load_config(annotation_project / "project.yaml").language.code
    assert dataset.settings.distribution.min_submitted == 2
    assert set(dataset.settings.questions["rating"].labels) == {"up", "down"}


def test_more_generations_add_only_the_new_records(annotation_project, argilla_server):
    write_generations(annotation_project, prompts=3)
    assert run_kto(annotation_project, "annotate").returncode == 0
    write_generations(annotation_project, prompts=5)
    grown = run_kto(annotation_project, "annotate")
    assert "4 records added, 6 already there" in grown.stderr
    assert record_count(argilla_server, annotation_project) == 10


def test_a_run_killed_midway_resumes_without_loss_or_duplicates(annotation_project, argilla_server):
    write_generations(annotation_project, prompts=800)  # 1,600 records: 7 batches
    partial = kill_once_records_appear(argilla_server, annotation_project, "annotate")
    assert 0 < partial < 1600

    resumed = run_kto(annotation_project, "annotate")
    assert resumed.returncode == 0, resumed.stderr
    assert f"{1600 - partial} records added, {partial} already there" in resumed.stderr
    assert record_count(argilla_server, annotation_project) == 1600


def test_a_dataset_with_other_settings_is_left_untouched(annotation_project, argilla_server):
    write_generations(annotation_project, prompts=2)
    assert run_kto(annotation_project, "annotate").returncode == 0
    edit_config(annotation_project, lambda config: config["argilla"].update(min_submitted=5))
    clash = run_kto(annotation_project, "annotate")
    assert clash.returncode == 1
    assert clash.stderr.strip().startswith("error: argilla: dataset ")
    assert "min_submitted" in clash.stderr and len(clash.stderr.strip().splitlines()) == 1
    assert dataset_of(argilla_server, annotation_project).settings.distribution.min_submitted == 2


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("ARGILLA_API_KEY", "not-the-key", "refused the API key"),
        ("ARGILLA_API_URL", "http://127.0.0.1:9", "cannot reach http://127.0.0.1:9"),
    ],
)
def test_bad_connections_are_one_line(annotation_project, monkeypatch, variable, value, message):
    write_generations(annotation_project, prompts=1)
    monkeypatch.setenv(variable, value)
    result = run_kto(annotation_project, "annotate")
    assert result.returncode == 1
    assert result.stderr.strip().startswith("error: argilla: ") and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_nothing_to_annotate_is_one_line(annotation_project):
    write_generations(annotation_project, prompts=2, models=1, missing={(0, 0), (1, 0)})
    result = run_kto(annotation_project, "annotate")
    assert result.returncode == 1
    assert result.stderr.strip() == "error: input: no non-empty responses to annotate"
    missing_file = run_kto(annotation_project, "annotate", "--input", "nope.parquet")
    assert missing_file.stderr.startswith("error: input: ")


def test_status_counts_submissions_per_annotator_and_model(annotation_project, argilla_server, tmp_path):
    write_generations(annotation_project, prompts=3)
    assert run_kto(annotation_project, "annotate").returncode == 0
    submit(
        argilla_server,
        annotation_project,
        {
            ("annotator1", 0): "up",
            ("annotator2", 0): "up",
            ("annotator1", 1): "down",
            ("annotator3", 2): "up",
        },
    )
    chart = tmp_path / "status.png"
    result = run_kto(annotation_project, "status", "--plot", str(chart))
    assert result.returncode == 0, result.stderr
    assert "1 of 6 records completed" in result.stderr
    rows = table_rows(result.stderr)
    assert rows["annotator1"] == ["2", "0", "0", "4"]  # submitted, discarded, draft, pending
    assert rows["annotator2"] == ["1", "0", "0", "5"]  # their one rating is on the completed record
    assert rows["team/model-0"] == ["3", "1", "75%"]
    assert chart.read_bytes().startswith(b"\x89PNG")


def test_backup_keeps_every_record_and_rating(annotation_project, argilla_server, hub):
    write_generations(annotation_project, prompts=2)
    assert run_kto(annotation_project, "annotate").returncode == 0
    submit(argilla_server, annotation_project, {("annotator1", 0): "up", ("annotator2", 0): "down"})
    result = run_kto(annotation_project, "backup")
    assert result.returncode == 0, result.stderr
    rows = ratings.load(annotation_project / "data" / "backup" / "ratings.parquet")
    assert len(rows) == 4
    rated = next(row for row in rows if row["responses"])
    assert rated["prompt"] == "Prompt number 0" and rated["model"] == "team/model-0"
    assert sorted((r["user"], r["value"], r["status"]) for r in rated["responses"]) == [
        ("annotator1", "up", "submitted"),
        ("annotator2", "down", "submitted"),
    ]
    assert rated["status"] == "completed"

    double, hub_env = hub
    pushed = run_kto(annotation_project, "backup", "--push", env=hub_env)
    assert pushed.returncode == 0, pushed.stderr
    config = load_config(annotation_project / "project.yaml")
    repo = f"dataset/{config.hub.namespace}/{config.hub.dataset}-ratings-backup"
    assert double.repos[repo]["private"] is True
    assert (
        double.files[repo]["data/train-00000-of-00001.parquet"]
        == (annotation_project / "data" / "backup" / "ratings.parquet").read_bytes()
    )


def processes_started_in(folder) -> list[int]:
    """Live processes whose working directory is ``folder`` (where kto argilla up starts them)."""
    import psutil

    found = []
    for process in psutil.process_iter(["cwd", "status"]):
        if process.info["cwd"] == str(folder.resolve()) and process.info["status"] != psutil.STATUS_ZOMBIE:
            found.append(process.pid)
    return found


def test_the_local_server_keeps_its_data_through_down_and_up_and_a_crash(tmp_path):
    """A server of its own: stopped and started again, or killed, it still has every record."""
    import shutil

    from conftest import PROJECT

    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    shutil.copy(PROJECT / "project.yaml", tmp_path)
    assert run_kto(tmp_path, "argilla", "up", "--annotators", "1").returncode == 0
    try:
        write_generations(tmp_path, prompts=3)
        assert run_kto(tmp_path, "annotate").returncode == 0
        assert run_kto(tmp_path, "argilla", "status").returncode == 0
        stopped = run_kto(tmp_path, "argilla", "down")
        assert "Stopped worker, server, redis, search" in stopped.stderr
        assert run_kto(tmp_path, "argilla", "status").returncode == 3
        assert processes_started_in(tmp_path / ".argilla") == []  # the worker's forks too
        restarted = run_kto(tmp_path, "argilla", "up")
        assert restarted.returncode == 0, restarted.stderr
        again = run_kto(tmp_path, "annotate")
        assert "0 records added, 6 already there" in again.stderr

        state = json.loads((tmp_path / ".argilla" / "state.json").read_text())
        for name in ("server", "worker"):  # as the OOM killer or a reboot would
            os.killpg(state["pids"][name], signal.SIGKILL)
        after_crash = run_kto(tmp_path, "argilla", "up")
        assert after_crash.returncode == 0, after_crash.stderr
        assert "half running (server, worker had stopped): stopped the rest" in after_crash.stderr
        assert "0 records added, 6 already there" in run_kto(tmp_path, "annotate").stderr
    finally:
        run_kto(tmp_path, "argilla", "down")


def test_export_from_the_server_matches_the_hand_worked_case(annotation_project, argilla_server):
    """The case of test_export.py, rated on a real server by three annotators, exported from it."""
    import argilla as rg
    from test_export import ALPHA, EXPECTED

    write_generations(annotation_project, prompts=2, models=3)
    assert run_kto(annotation_project, "annotate").returncode == 0
    client = argilla_server.client()
    dataset = dataset_of(argilla_server, annotation_project)
    records = {(r.fields["prompt"], r.metadata["model"]): r for r in dataset.records()}
    plan = {
        (0, 0): [("annotator1", "up"), ("annotator2", "up"), ("annotator3", "up")],
        (0, 1): [("annotator1", "down"), ("annotator2", "down"), ("annotator3", "up")],
        (0, 2): [("annotator1", "up"), ("annotator2", "down")],
        (1, 0): [("annotator1", "up")],
        (1, 1): [("annotator2", "down", "discarded")],
    }
    for (prompt, model), given in plan.items():
        target = records[(f"Prompt number {prompt}", f"team/model-{model}")]
        for user, value, *status in given:
            status = status[0] if status else "submitted"
            target.responses.add(rg.Response("rating", value, user_id=client.users(user).id, status=status))
    dataset.records.log(list(records.values()))

    result = run_kto(annotation_project, "export")
    assert result.returncode == 0, result.stderr
    folder = annotation_project / "data" / "export"
    assert json.loads((folder / "reconciliation.json").read_text()) == {**EXPECTED["majority"][0], "total": 6}
    assert json.loads((folder / "statistics.json").read_text())["krippendorff_alpha"] == pytest.approx(ALPHA)
