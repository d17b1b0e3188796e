"""Gold records and flagged raters on a real local Argilla: four annotators, two careful, one
who always rates good and one who always rates against the truth."""

import json
import re

import pytest
from helpers import dataset_of, export_rows, run_kto, write_generations

from kto import gold, ratings
from kto.config import load_config

CAREFUL = ("annotator1", "annotator2")
GOLD = [(f"Prompt number {n}", f"A known answer, number {n}.", n % 2 == 0) for n in range(6)]
PROMPTS, MODELS = 10, 2  # 20 ordinary records, 26 with the gold ones: each annotator rates all


def write_gold(project) -> None:
    lines = [json.dumps({"prompt": p, "response": r, "label": label}) for p, r, label in GOLD]
    (project / "prompts" / "gold.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")


def truth(completion: str) -> bool:
    """The true label of an answer: a known one's, or, for "Answer {m} to prompt {p}.", a mix."""
    known = {response: label for _, response, label in GOLD}
    if completion in known:
        return known[completion]
    model, prompt = map(int, re.findall(r"\d+", completion))
    return (model + prompt) % 3 != 0


def rating(user: str, completion: str) -> str:
    if user == "annotator3":
        return "up"  # always good
    right = truth(completion)
    return "up" if right == (user != "annotator4") else "down"  # annotator4: always the opposite


def rate_all(server, project) -> None:
    import argilla as rg

    client = server.client()
    dataset = dataset_of(server, project)
    records = list(dataset.records())
    for record in records:
        for user in (*CAREFUL, "annotator3", "annotator4"):
            value = rating(user, record.fields["completion"])
            record.responses.add(
                rg.Response("rating", value, user_id=client.users(user).id, status="submitted")
            )
    dataset.records.log(records)


@pytest.fixture
def rated(annotation_project, argilla_server):
    write_gold(annotation_project)
    write_generations(annotation_project, prompts=PROMPTS, models=MODELS)
    assert run_kto(annotation_project, "annotate").returncode == 0
    rate_all(argilla_server, annotation_project)
    return annotation_project


def test_careless_raters_are_flagged_and_left_out_of_the_export(rated):
    from kto import status

    report = status.collect(load_config(rated / "project.yaml"))
    assert {user for user, rater in report.quality.items() if rater.flagged} == {"annotator3", "annotator4"}
    always_up, opposite = report.quality["annotator3"], report.quality["annotator4"]
    assert any("max_same_label" in reason for reason in always_up.reasons)
    assert any("min_gold_accuracy" in reason for reason in always_up.reasons)  # 3 of 6 gold right
    assert opposite.gold_accuracy == 0.0 and any("min_gold_accuracy" in r for r in opposite.reasons)
    for user in CAREFUL:
        assert report.quality[user].gold_accuracy == 1.0 and report.quality[user].gold_rated == len(GOLD)
    assert "gold" not in report.approval  # gold records are no model's
    shown = run_kto(rated, "status")
    assert shown.returncode == 0 and "100% of 6" in shown.stdout and "0% of 6" in shown.stdout, shown.stderr
    post = run_kto(rated, "status", "--markdown")  # the public post: kind and blind
    assert post.returncode == 0, post.stderr
    assert "annotator3: 26" in post.stdout and "annotator4: 26" in post.stdout
    words = ("flag", "gold", "accura", "agree", "same_label", "min_", "max_")
    assert not [word for word in words if word in post.stdout.lower()], post.stdout

    result = run_kto(rated, "export")
    assert result.returncode == 0, result.stderr
    assert "Left out 52 ratings of 2 flagged annotators" in " ".join(result.stderr.split())
    folder = rated / "data" / "export"
    rows = export_rows(folder, "kto")
    # Exactly the careful annotators' labels, on every ordinary record, and no gold record.
    assert {row["completion"]: row["label"] for row in rows} == {
        f"Answer {m} to prompt {p}.": truth(f"Answer {m} to prompt {p}.")
        for p in range(PROMPTS)
        for m in range(MODELS)
    }
    assert all(row["num_ratings"] == 2 and row["agreement"] == 1.0 for row in rows)
    dpo = export_rows(folder, "dpo")
    known = {response for _, response, _ in GOLD}
    assert dpo and not {text for pair in dpo for text in (pair["chosen"], pair["rejected"])} & known
    reconciliation = json.loads((folder / "reconciliation.json").read_text())
    downs = sum(not truth(f"Answer {m} to prompt {p}.") for p in range(PROMPTS) for m in range(MODELS))
    # With all four, every record the truth calls bad was a tie (two careful downs, two careless ups).
    assert reconciliation["gold"] == len(GOLD) and reconciliation["label-changed-by-left-out"] == downs
    assert reconciliation["too-few-after-left-out"] == 0
    stats = json.loads((folder / "statistics.json").read_text())
    assert {user: figures["flagged"] for user, figures in stats["annotators"].items()} == {
        "annotator1": False,
        "annotator2": False,
        "annotator3": True,
        "annotator4": True,
    }
    assert stats["annotators"]["annotator4"]["reasons"] and not stats["annotators"]["annotator1"]["reasons"]
    card = (folder / "README.md").read_text(encoding="utf-8")
    assert "52 ratings of 2 annotators were left out" in " ".join(card.split())
    assert "annotator3" not in card and "annotator4" not in card

    kept = run_kto(rated, "export", "--keep-flagged")
    assert kept.returncode == 0, kept.stderr
    reconciliation = json.loads((folder / "reconciliation.json").read_text())
    assert reconciliation["tie"] == downs and reconciliation["label-changed-by-left-out"] == 0


def test_gold_records_look_like_the_others_and_stay_gold_through_backup_and_restore(rated, argilla_server):
    dataset = dataset_of(argilla_server, rated)
    by_id = {record.id: record for record in dataset.records()}
    known = [record for record in by_id.values() if record.metadata.get(gold.GOLD)]
    plain = [record for record in by_id.values() if not record.metadata.get(gold.GOLD)]
    assert len(known) == len(GOLD) and len(plain) == PROMPTS * MODELS
    hidden = {prop.name for prop in dataset.settings.metadata if prop.visible_for_annotators is False}
    assert hidden == {"model", "gold"}
    for record in known:
        assert set(record.fields) == set(plain[0].fields) and len(record.id) == len(plain[0].id)
        assert set(record.metadata) - hidden == set(plain[0].metadata) - hidden

    assert run_kto(rated, "backup").returncode == 0
    backup = rated / "data" / "backup" / "ratings.parquet"
    saved = {row["id"]: gold.label_of(row) for row in ratings.load(backup)}
    assert sorted(label for label in saved.values() if label) == sorted(
        "up" if label else "down" for *_, label in GOLD
    )
    dataset.delete()
    restored = run_kto(rated, "restore", "--from", str(backup))
    assert restored.returncode == 0, restored.stderr
    again = {
        row["id"]: gold.label_of(row)
        for row in ratings.fetch(argilla_server.client(), dataset_of(argilla_server, rated))
    }
    assert again == saved
    again_hidden = {
        prop.name
        for prop in dataset_of(argilla_server, rated).settings.metadata
        if not prop.visible_for_annotators
    }
    assert again_hidden == {"model", "gold"}
