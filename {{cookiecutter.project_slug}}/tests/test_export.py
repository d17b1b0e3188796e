"""kto export on a case worked out by hand: three annotators, one record per outcome."""

import json

import pyarrow.parquet as pq
import pytest
from helpers import (
    ALPHA,
    CASE,
    DUTCH_HAIKU,
    DUTCH_SYSTEM,
    ENGLISH_HAIKU,
    EXPECTED,
    edit_config,
    record,
    run_kto,
)
from huggingface_hub import DatasetCard

from kto import export_files, ratings
from kto.config import load_config
from kto.export import ExportReport, Policy

LEFT_OUT = ("label-changed-by-left-out", "too-few-after-left-out")


@pytest.fixture
def backup(project):
    """The case as a backup file, in a project that asks two ratings per record (the case's premise)."""
    edit_config(project, lambda config: config["argilla"].update(min_submitted=2))
    path = project / "ratings.parquet"
    ratings.save(CASE, path)
    return path


def export_from(project, backup, policy: str = "majority") -> ExportReport:
    """``kto export --from backup --policy policy``, called in-process (the CLI's own contract is
    tested below with the command itself)."""
    config = load_config(project / "project.yaml")
    chosen = Policy.parse(policy, config.argilla.min_submitted)
    folder = config.path(config.export.output)
    return export_files.run(config, chosen, folder, source=backup)


def read(project, name):
    return pq.read_table(project / "data" / "export" / name / "train.parquet").to_pylist()


@pytest.mark.parametrize("policy", list(EXPECTED))
def test_each_policy_gives_the_expected_rows_and_reconciliation(project, backup, policy):
    report = export_from(project, backup, policy)
    reconciliation, kto_rows = EXPECTED[policy]
    saved = json.loads((project / "data" / "export" / "reconciliation.json").read_text())
    expected = {**reconciliation, "gold": 0, "total": 6} | dict.fromkeys(LEFT_OUT, 0)
    assert saved == report.reconciliation == expected
    assert sum(reconciliation.values()) == 6
    rows = read(project, "kto")
    assert [(r["completion"], r["label"], r["votes_up"], r["votes_down"]) for r in rows] == kto_rows
    assert [r["prompt"] for r in rows] == ["P1"] * (len(kto_rows) - (policy == "min-votes=1")) + ["P2"] * (
        policy == "min-votes=1"
    )
    pairs = read(project, "dpo")
    expected_pairs = [] if policy == "unanimous" else [("P1", "answer 1", "answer 2", "m1", "m2")]
    assert [
        (p["prompt"], p["chosen"], p["rejected"], p["chosen_model"], p["rejected_model"]) for p in pairs
    ] == (expected_pairs)


def test_statistics_agreement_and_weights(project, backup):
    report = export_from(project, backup)
    stats = json.loads((project / "data" / "export" / "statistics.json").read_text())
    # The export's statistics, with what the writing adds: the gates' counts and the split sizes.
    assert set(stats) - set(report.statistics) == {"checks", "splits"}
    published = export_files.anonymised(report.statistics)
    assert {key: stats[key] for key in report.statistics} == json.loads(json.dumps(published))
    assert stats["krippendorff_alpha"] == pytest.approx(ALPHA)
    assert stats["desirable"] == 1 and stats["undesirable"] == 1
    assert stats["weights"] == {"desirable_weight": 1.0, "undesirable_weight": 1.0}
    assert stats["models"]["m1"]["up"] == 1 and stats["models"]["m1"]["rate"] == 1.0
    low, high = stats["models"]["m1"]["ci95"]
    assert 0.2 < low < 0.21 and high == 1.0  # Wilson interval of 1 out of 1
    counts = {user: (figures.get("up"), figures.get("down")) for user, figures in stats["annotators"].items()}
    # Ranked by their ratings, never named: the folder goes to the Hub.
    assert counts == {"rater 1": (3, 1), "rater 2": (1, 2), "rater 3": (2, None)}
    assert not {"a1", "a2", "a3"} & set(json.dumps(stats).replace('"', " ").split())
    # No gold record anchors the reliability model here: its figure is shown and flags nobody.
    assert 0.0 <= stats["annotators"]["rater 1"].pop("reliability") <= 1.0
    assert stats["annotators"]["rater 1"] | {"up": 0, "down": 0} == {
        "up": 0,
        "down": 0,
        "submitted": 4,
        "gold_rated": 0,
        "gold_accuracy": None,
        "traps_rated": 0,
        "trap_accuracy": None,
        "follows_judge": None,
        "top_label_share": 0.75,
        "flagged": False,
        "reasons": [],
    }
    assert stats["left_out"]["annotators"] == 0
    for chart in ("approval.png", "annotators.png"):
        assert (project / "data" / "export" / chart).read_bytes().startswith(b"\x89PNG")


def test_the_card_round_trips_with_valid_metadata(project, backup):
    export_from(project, backup)
    config = load_config(project / "project.yaml")
    path = project / "data" / "export" / "README.md"
    card = DatasetCard.load(path)
    meta = card.data.to_dict()
    # An 'other' project's card names no language until language.code is set.
    code = config.language.hub_code
    assert meta.get("language") == ([code] if code else None) and meta["license"] == config.hub.license
    assert {"kto", "dpo", "preference", "synthetic", "argilla", "distilabel"} <= set(meta["tags"])
    assert meta["task_categories"] == ["text-generation"] and meta["size_categories"] == ["n<1K"]
    assert [c["config_name"] for c in meta["configs"]] == ["kto", "dpo"]
    text = path.read_text(encoding="utf-8")
    assert "{{" not in text and "{%" not in text
    assert config.language.card_paragraph in text and config.task.system_prompt.splitlines()[0] in text
    assert "| labelled-up | 1 |" in text and "0.067" in text
    assert ('dir="rtl"' in text) == (config.language.direction == "rtl")


def test_conversational_format_and_pair_limit(project, backup):
    result = run_kto(
        project, "export", "--from", str(backup), "--format", "conversational", "--max-pairs-per-prompt", "1"
    )
    assert result.returncode == 0, result.stderr
    row = read(project, "kto")[0]
    assert row["prompt"] == [{"role": "user", "content": "P1"}]
    assert row["completion"] == [{"role": "assistant", "content": "answer 1"}]
    assert len(read(project, "dpo")) == 1


@pytest.mark.parametrize(
    ("args", "field", "code"),
    [
        (["--policy", "loudest"], "policy", 1),
        (["--policy", "min-votes=0"], "policy", 1),
        (["--format", "chat"], "format", 2),  # a usage error: typer knows the choices
        (["--from", "missing.parquet"], "from", 1),
    ],
)
def test_bad_input_is_one_line_and_leaves_the_last_export(project, backup, args, field, code):
    export_from(project, backup)
    before = (project / "data" / "export" / "kto" / "train.parquet").read_bytes()
    if args[0] != "--from":
        args = ["--from", str(backup), *args]
    result = run_kto(project, "export", *args)
    assert result.returncode == code
    assert (
        result.stderr.strip().startswith(f"error: {field}: ") and len(result.stderr.strip().splitlines()) == 1
    )
    assert (project / "data" / "export" / "kto" / "train.parquet").read_bytes() == before


def test_no_ratings_and_a_file_of_another_shape(project):
    empty = project / "empty.parquet"
    ratings.save([record(1, "P1", "m1")], empty)
    result = run_kto(project, "export", "--from", str(empty))
    assert result.stderr.strip().startswith("error: ratings: no submitted ratings yet")
    (project / "data").mkdir()
    wrong = project / "data" / "generations.parquet"
    from helpers import write_generations

    write_generations(project, prompts=1)
    result = run_kto(project, "export", "--from", str(wrong))
    assert result.stderr.strip().startswith("error: from: ") and "not a kto backup" in result.stderr
    assert not (project / "data" / "export").exists()


def test_judge_suggestions_are_compared_not_counted(project, backup):
    """r1 (3 up) judged down, r2 (2 down, 1 up) judged down, r4 (1 up: below threshold) judged up."""
    judged = {"r1": "down", "r2": "down", "r4": "up"}
    rows = [
        {**row, "suggestion": {"value": judged[row["id"]], "score": 1.0, "agent": "team/judge"}}
        if row["id"] in judged
        else row
        for row in CASE
    ]
    ratings.save(rows, backup)
    export_from(project, backup)
    assert [(row["completion"], row["label"]) for row in read(project, "kto")] == [
        ("answer 1", True),
        ("answer 2", False),
    ]
    stats = json.loads((project / "data" / "export" / "statistics.json").read_text())
    assert stats["judge"] == {"agents": ["team/judge"], "compared": 2, "agreed": 1, "rate": 0.5}


def test_a_backup_from_before_suggestions_still_loads(project, backup):
    import pyarrow as pa

    old = pa.schema([field for field in ratings.SCHEMA if field.name != "suggestion"])
    pq.write_table(pa.Table.from_pylist(CASE, schema=old), backup)
    export_from(project, backup)
    assert json.loads((project / "data" / "export" / "statistics.json").read_text())["judge"] is None


def test_the_export_folder_loads_with_datasets_by_config_name(project, backup):
    """The card's configs point at the files, as they will on the Hub."""
    import datasets

    export_from(project, backup)
    folder = str(project / "data" / "export")
    # A cache of its own: datasets may reuse another run's cache of a folder at the same path.
    cache = str(project / "datasets-cache")
    kto_rows = datasets.load_dataset(folder, "kto", split="train", cache_dir=cache)
    dpo_rows = datasets.load_dataset(folder, "dpo", split="train", cache_dir=cache)
    assert kto_rows.to_list() == read(project, "kto") and len(kto_rows) == 2
    assert dpo_rows.column_names == ["prompt", "chosen", "rejected", "chosen_model", "rejected_model"]
    assert kto_rows.features["label"].dtype == "bool"


def test_the_card_lists_the_models_licences_and_their_terms(project, backup):
    slots = [
        {"id": "m1", "backend": "local", "license": "llama3.3"},
        {"id": "m2", "backend": "local"},  # a model added by hand, licence not given
        {"id": "m3", "backend": "local", "license": "cc-by-nc-4.0"},
    ]
    edit_config(project, lambda config: config["generation"].update(models=slots))
    export_from(project, backup)
    text = (project / "data" / "export" / "README.md").read_text(encoding="utf-8")
    # The models whose answers are in the data: m3's were not labelled under the majority policy.
    assert "| m1 | `llama3.3` |\n| m2 | unknown (see the model card) |\n\n" in text
    assert "- m1: Meta's Llama licence: a model made from it or from its answers, when shared, must" in text
    assert "Check the licence of the models marked unknown" in text
    assert "| m3 |" not in text and "non-commercial" not in text


def test_gate_counts_per_model_reach_statistics_and_the_card(project, backup):
    from kto.responses import write_rows

    def change(config):
        config["checks"].update(language="drop", expected_language="nl")
        config["task"].update(name="haiku", system_prompt=DUTCH_SYSTEM)

    edit_config(project, change)
    # team/a answers in English 2 times out of 5: the card must show it.
    other = DUTCH_HAIKU.replace("luid", "zacht")
    answers = {"team/a": [DUTCH_HAIKU] * 3 + [ENGLISH_HAIKU] * 2, "team/b": [other] * 5}
    rows = [
        {
            "input": f"Schrijf een haiku over nummer {n}.",
            "generation_model": list(answers),
            "generation_prompt": ["-"] * 2,
            "raw_generation_responses": [texts[n] for texts in answers.values()],
            "generations": [texts[n] for texts in answers.values()],
        }
        for n in range(5)
    ]
    write_rows(rows, project / "data" / "generations.parquet")
    export_from(project, backup)
    checks = json.loads((project / "data" / "export" / "statistics.json").read_text())["checks"]
    assert checks["gates"]["language"] == "drop" and checks["expected_language"] == "nl"
    assert checks["models"]["team/a"]["responses"] == 5
    assert checks["models"]["team/a"]["dropped_by"]["language"] == 2
    assert checks["models"]["team/b"]["dropped"] == 0
    card = (project / "data" / "export" / "README.md").read_text()
    assert "Gates: empty: drop, language: drop, form: flag, length: flag, echo: drop" in card
    assert "| team/a | 5 | 2 (40%) | 0 | 0 | 2 (40%) | 0 | 0 | 0 | 0 |" in card


def test_an_export_from_a_backup_alone_says_the_gates_without_counts(project, backup):
    export_from(project, backup)
    checks = json.loads((project / "data" / "export" / "statistics.json").read_text())["checks"]
    assert checks["models"] is None and set(checks["gates"]) >= {"empty", "language", "duplicate"}
    assert "no counts per gate" in (project / "data" / "export" / "README.md").read_text()
