"""kto annotate, status and backup against a real Argilla server on 127.0.0.1."""

import json
from collections import Counter

import pytest
from helpers import (
    ALPHA,
    DUTCH_SYSTEM,
    EXPECTED,
    annotator_session,
    dataset_of,
    edit_config,
    kill_once_records_appear,
    record_count,
    records_of,
    run_kto,
    submit,
    write_dutch_generations,
    write_generations,
)

import kto.status
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


@pytest.mark.once
def test_a_run_killed_midway_resumes_without_loss_or_duplicates(annotation_project, argilla_server):
    write_generations(annotation_project, prompts=800)  # 1,600 records: 7 batches
    partial = kill_once_records_appear(argilla_server, annotation_project, "annotate")
    assert 0 < partial < 1600

    resumed = run_kto(annotation_project, "annotate")
    assert resumed.returncode == 0, resumed.stderr
    assert f"{1600 - partial} records added, {partial} already there" in resumed.stderr
    assert record_count(argilla_server, annotation_project) == 1600


def test_a_dataset_with_settings_argilla_cannot_change_is_left_untouched(annotation_project, argilla_server):
    import argilla as rg

    from kto import argilla_dataset

    config, client = load_config(annotation_project / "project.yaml"), argilla_server.client()
    made_elsewhere = argilla_dataset.settings(config, client)
    made_elsewhere.fields["prompt"].use_markdown = False  # as another tool, or a hand, may make it
    if client.workspaces(config.argilla.workspace) is None:
        rg.Workspace(name=config.argilla.workspace, client=client).create()
    name, workspace = config.argilla.dataset, config.argilla.workspace
    rg.Dataset(name=name, workspace=workspace, settings=made_elsewhere, client=client).create()
    write_generations(annotation_project, prompts=2)
    clash = run_kto(annotation_project, "annotate")
    assert clash.returncode == 1
    [line] = clash.stderr.strip().splitlines()
    assert line.startswith("error: argilla: dataset ") and "(fields), which Argilla cannot change" in line
    assert "another argilla.dataset name in project.yaml, which starts a new, EMPTY dataset" in line


def test_edited_texts_and_min_submitted_reach_the_existing_dataset(annotation_project, argilla_server):
    """Guidelines, question, titles, a label and min_submitted edited after the first annotate,
    with a rating given: the server shows the new ones, the rating stays, doctor saw the gap."""
    from kto import doctor

    write_generations(annotation_project, prompts=2)
    assert run_kto(annotation_project, "annotate").returncode == 0
    submit(argilla_server, annotation_project, {("annotator1", 0): "up"})

    def edit(config):
        config["argilla"].update(
            guidelines="Rate the haiku: new guidelines.",
            question="Is this a good haiku?",
            label_up="Lovely",
            prompt_title="The prompt",
            min_submitted=3,
        )

    edit_config(annotation_project, edit)
    config = load_config(annotation_project / "project.yaml")
    finding = doctor.check_argilla(config)[-1]
    assert finding.status == "warn"
    for what in ("guidelines", "min_submitted", "title of prompt", "title of rating", "label up"):
        assert what in finding.message, finding.message
    again = run_kto(annotation_project, "annotate")
    assert again.returncode == 0, again.stderr
    assert "0 records added" in again.stderr and "Updated on the dataset" in again.stderr

    dataset = dataset_of(argilla_server, annotation_project)  # read back from the server
    settings = dataset.settings
    assert settings.guidelines == "Rate the haiku: new guidelines."
    assert settings.distribution.min_submitted == 3
    assert settings.fields["prompt"].title == "The prompt"
    question = settings.questions["rating"]
    assert question.title == "Is this a good haiku?"
    options = {option["value"]: option["text"] for option in question.serialize()["settings"]["options"]}
    assert options["up"] == "👍 Lovely" and options["down"] == f"👎 {config.argilla.label_down}"
    rated = [row for row in ratings.fetch(argilla_server.client(), dataset) if row["responses"]]
    assert [(r["user"], r["value"]) for row in rated for r in row["responses"]] == [("annotator1", "up")]
    assert doctor.check_argilla(config)[-1].status == "ok"
    assert "Updated" not in run_kto(annotation_project, "annotate").stderr  # nothing left to update


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
    write_generations(annotation_project, prompts=1, models=1)
    dutch_gates(annotation_project)  # the English answer is dropped
    all_dropped = run_kto(annotation_project, "annotate")
    assert all_dropped.returncode == 1
    assert all_dropped.stderr.strip().splitlines()[-1] == (
        "error: input: the gates dropped all 1 responses (kto check lists them; "
        "kto annotate --no-checks logs every non-empty one)"
    )
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
    report = kto.status.collect(load_config(annotation_project / "project.yaml"), chart)
    assert (report.completed, report.total) == (1, 6)
    assert report.per_annotator["annotator1"] == Counter(submitted=2, pending=4)
    assert report.per_annotator["annotator2"] == Counter(submitted=1, pending=5)  # on the completed record
    assert report.approval["team/model-0"] == Counter(up=3, down=1)
    assert chart.read_bytes().startswith(b"\x89PNG")
    # The command prints the same report, as tables.
    result = run_kto(annotation_project, "status")
    assert result.returncode == 0, result.stderr
    assert "1 of 6 records completed" in result.stdout and "75%" in result.stdout  # kto status > file


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


def test_export_from_the_server_matches_the_hand_worked_case(annotation_project, argilla_server):
    """The case of test_export.py, rated on a real server by three annotators, exported from it."""
    import argilla as rg

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
    assert json.loads((folder / "reconciliation.json").read_text()) == {
        **EXPECTED["majority"][0],
        "total": 6,
    } | {
        "gold": 0,
        "label-changed-by-left-out": 0,
        "too-few-after-left-out": 0,
    }
    assert json.loads((folder / "statistics.json").read_text())["krippendorff_alpha"] == pytest.approx(ALPHA)


def dutch_gates(project, **gates) -> None:
    """A Dutch haiku project's gates, whatever language this project was rendered in."""

    def change(config):
        config["checks"].update({"language": "drop", "expected_language": "nl", **gates})
        config["task"].update(name="haiku", system_prompt=DUTCH_SYSTEM)

    edit_config(project, change)


def models_where(dataset, *condition) -> list[str]:
    import argilla as rg

    query = rg.Query(filter=rg.Filter(condition)) if condition else None
    return sorted(record.metadata["model"] for record in dataset.records(query=query))


def test_gates_decide_what_is_logged_and_their_findings_are_filterable(annotation_project, argilla_server):
    dutch_gates(annotation_project)
    generations = write_dutch_generations(annotation_project)
    before = generations.read_bytes()
    result = run_kto(annotation_project, "annotate")
    assert result.returncode == 0, result.stderr
    assert "team/m1: the gates dropped 1 of 1 (language 1)" in result.stderr  # the English haiku
    assert "team/m2: the gates dropped 1 of 1 (empty 1)" in result.stderr
    assert "3 records added, 0 already there" in result.stderr
    assert generations.read_bytes() == before  # dropped responses stay in the generations file

    dataset = dataset_of(argilla_server, annotation_project)
    assert models_where(dataset) == ["team/m0", "team/m3", "team/m4"]
    assert models_where(dataset, "metadata.flags", "==", "form") == ["team/m3"]
    assert models_where(dataset, "metadata.flags", "==", "duplicate") == ["team/m0", "team/m4"]
    assert models_where(dataset, "metadata.detected_language", "==", "nl") == models_where(dataset)
    assert models_where(dataset, "metadata.lines", ">=", 3) == ["team/m0", "team/m4"]
    assert records_of(dataset, "team/m0")[0].metadata["syllables"] == "5-7-5"

    everything = run_kto(annotation_project, "annotate", "--no-checks")
    assert "1 records added, 3 already there" in everything.stderr  # the English one; empty never
    assert "dropped" not in everything.stderr


def test_a_gate_change_adds_what_it_newly_allows_and_removes_nothing(annotation_project, argilla_server):
    import argilla as rg

    dutch_gates(annotation_project)
    write_dutch_generations(annotation_project)
    assert run_kto(annotation_project, "annotate").returncode == 0
    dataset = dataset_of(argilla_server, annotation_project)
    rated = records_of(dataset, "team/m3")[0]
    annotator = argilla_server.client().users("annotator1")
    rated.responses.add(rg.Response("rating", "down", user_id=annotator.id, status="submitted"))
    dataset.records.log([rated])

    dutch_gates(annotation_project, language="flag")
    loosened = run_kto(annotation_project, "annotate")
    assert "1 records added, 3 already there" in loosened.stderr
    assert records_of(dataset, "team/m1")[0].metadata["flags"] == ["language"]

    dutch_gates(annotation_project, form="drop")  # would drop the rated prose answer now
    tightened = run_kto(annotation_project, "annotate")
    assert tightened.returncode == 0, tightened.stderr
    assert "team/m3: the gates dropped 1 of 1 (form 1)" in tightened.stderr
    assert "0 records added, 2 already there (2 in all)" in tightened.stderr
    assert record_count(argilla_server, annotation_project) == 4
    kept = records_of(dataset_of(argilla_server, annotation_project), "team/m3")[0]
    assert [(r.value, r.status) for r in kept.responses["rating"]] == [("down", "submitted")]


def test_annotators_cannot_see_the_model(annotation_project, argilla_server):
    import argilla as rg
    import httpx

    write_generations(annotation_project, prompts=2)
    assert run_kto(annotation_project, "annotate").returncode == 0
    owner_view = dataset_of(argilla_server, annotation_project)
    assert owner_view.settings.metadata["model"].visible_for_annotators is False
    assert models_where(owner_view, "metadata.model", "==", "team/model-1") == ["team/model-1"] * 2

    key, session = annotator_session(argilla_server)
    config = load_config(annotation_project / "project.yaml")
    annotator = rg.Argilla(api_url=argilla_server.url, api_key=key)
    seen = annotator.datasets(config.argilla.dataset, workspace=config.argilla.workspace)
    assert "flags" in [prop.name for prop in seen.settings.metadata]
    assert "model" not in [prop.name for prop in seen.settings.metadata]
    # The records as the web UI fetches them for this annotator.
    url = f"{argilla_server.url}/api/v1/me/datasets/{seen.id}/records/search"
    search = httpx.post(url, headers=session, json={})
    assert search.status_code == 200, search.text
    items = search.json()["items"]
    assert len(items) == 4 and all("model" not in item["record"]["metadata"] for item in items)
    assert "team/model-" not in search.text


def test_a_dataset_from_before_the_gates_gains_their_metadata_and_keeps_its_ratings(
    annotation_project, argilla_server
):
    import argilla as rg

    from kto import annotation, argilla_dataset, responses

    config = load_config(annotation_project / "project.yaml")
    client = argilla_server.client()
    old = argilla_dataset.settings(config, client)
    names = ("model", "prompt_id", "language")
    old.metadata = [rg.TermsMetadataProperty(name, client=client) for name in names]
    argilla = config.argilla
    dataset = rg.Dataset(argilla.dataset, workspace=argilla.workspace, settings=old, client=client).create()
    rows = responses.read_generations(write_generations(annotation_project, 1))
    first = next(annotation.records(rows, "en"))
    record = rg.Record(**first)
    record.responses.add(
        rg.Response("rating", "up", user_id=client.users("annotator1").id, status="submitted")
    )
    dataset.records.log([record])

    result = run_kto(annotation_project, "annotate")
    assert result.returncode == 0, result.stderr
    assert "1 records added, 1 already there" in result.stderr
    upgraded = dataset_of(argilla_server, annotation_project)
    visible = {prop.name: prop.visible_for_annotators for prop in upgraded.settings.metadata}
    assert visible == {
        "model": False,
        "gold": False,
        **dict.fromkeys(["prompt_id", "language", "detected_language", "lines", "syllables", "flags"], True),
    }
    rated = records_of(upgraded, "team/model-0")[0]
    assert [(r.value, r.status) for r in rated.responses["rating"]] == [("up", "submitted")]


def test_the_lead_guides_order_keeps_the_dry_run_off_the_dataset(annotation_project, argilla_server):
    """docs/lead-guide.md in order: the dry run (kto generate --local --limit 4), then kto generate
    against a provider, then kto annotate: no record of the embedded model reaches the dataset."""
    import pyarrow.parquet as pq
    from fake_provider import FakeProvider
    from helpers import openai_slot

    from kto.local_model import is_local

    fake = FakeProvider(models=["team/model-a", "team/model-b"])
    url = fake.start()
    try:

        def change(config):
            config["generation"].update(models=[openai_slot(m, url) for m in fake.models], max_new_tokens=16)
            config["checks"]["echo"] = "off"  # the provider's answers quote the prompt

        edit_config(annotation_project, change)
        dry = run_kto(annotation_project, "generate", "--local", "--limit", "4")
        assert dry.returncode == 0, dry.stderr
        real = run_kto(annotation_project, "generate")
        assert real.returncode == 0, real.stderr
    finally:
        fake.stop()
    annotated = run_kto(annotation_project, "annotate")
    assert annotated.returncode == 0, annotated.stderr

    dry_rows = pq.read_table(annotation_project / "data" / "dry-run" / "generations.parquet").to_pylist()
    assert len(dry_rows) == 4
    assert all(is_local(model) for row in dry_rows for model in row["generation_model"])
    records = list(dataset_of(argilla_server, annotation_project).records())
    assert records and {record.metadata["model"] for record in records} == {"team/model-a", "team/model-b"}


def test_annotate_leaves_the_embedded_models_answers_out_unless_asked(annotation_project, argilla_server):
    from kto.local_model import slot_id
    from kto.responses import write_rows

    tiny = slot_id(0.5)

    def rows(models: list[str]) -> list[dict]:
        answers = [f"An answer of {model}\nin three\nshort lines" for model in models]
        return [
            {
                "input": "Prompt number 0",
                "generation_model": models,
                "generation_prompt": ["Prompt number 0"] * len(models),
                "raw_generation_responses": answers,
                "generations": answers,
            }
        ]

    # A generations file where both sit side by side (--output pointed the dry run there).
    write_rows(rows([tiny, "team/model-0"]), annotation_project / "data" / "generations.parquet")
    mixed = run_kto(annotation_project, "annotate")
    assert mixed.returncode == 0, mixed.stderr
    assert "left out 1 responses of the embedded model" in mixed.stderr
    assert [r.metadata["model"] for r in dataset_of(argilla_server, annotation_project).records()] == [
        "team/model-0"
    ]

    dry_run = annotation_project / "data" / "dry-run" / "generations.parquet"
    write_rows(rows([tiny]), dry_run)
    refused = run_kto(annotation_project, "annotate", "--input", str(dry_run))
    assert refused.returncode == 1
    [line] = refused.stderr.strip().splitlines()
    assert line.startswith("error: input: ") and "kto annotate --local puts them up for rating" in line
    asked = run_kto(annotation_project, "annotate", "--local")  # reads the dry run's file
    assert asked.returncode == 0, asked.stderr
    models = sorted(r.metadata["model"] for r in dataset_of(argilla_server, annotation_project).records())
    assert models == sorted([tiny, "team/model-0"])
