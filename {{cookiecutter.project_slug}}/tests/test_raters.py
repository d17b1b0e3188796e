"""Gold records and flagged raters on a real local Argilla: four annotators, two careful, one
who always rates good and one who always rates against the truth."""

import json
import re

import pytest
from helpers import dataset_of, export_rows, run_kto, table_rows, write_generations

from kto import gold, plots, ratings
from kto.config import load_config

CAREFUL = ("annotator1", "annotator2")
GOLD = [(f"Prompt number {n}", f"A known answer, number {n}.", n % 2 == 0) for n in range(6)]
PROMPTS, MODELS = 10, 2  # 20 ordinary records, 26 with the gold ones: each annotator rates all
WIDE = {"COLUMNS": "200"}  # kto status's tables, one line per row


def write_gold(project, known=GOLD) -> None:
    lines = [json.dumps({"prompt": p, "response": r, "label": label}) for p, r, label in known]
    (project / "prompts" / "gold.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")


def truth(completion: str) -> bool:
    """The true label of an answer: a known one's, or, for "Answer {m} to prompt {p}.", a mix."""
    known = {response: label for _, response, label in GOLD}
    if completion in known:
        return known[completion]
    model, prompt = map(int, re.findall(r"\d+", completion))
    return (model + prompt) % 3 != 0


def rating(user: str, completion: str, suggestion: str | None = None) -> str | None:
    """annotator1 and 2 rate with care, annotator3 always says good, annotator4 the opposite."""
    if user == "annotator3":
        return "up"
    right = truth(completion)
    return "up" if right == (user != "annotator4") else "down"


def rate_all(server, project, rate=rating, suggest=None) -> None:
    """Every annotator rates every record as ``rate`` says (None: not at all), after the judge
    suggested what ``suggest`` says, as kto suggest writes it."""
    import argilla as rg

    client = server.client()
    dataset = dataset_of(server, project)
    records = list(dataset.records())
    for record in records:
        completion = record.fields["completion"]
        suggestion = suggest(completion) if suggest else None
        if suggestion:
            record.suggestions.add(rg.Suggestion("rating", suggestion, score=1.0, agent="org/judge"))
        for user in (*CAREFUL, "annotator3", "annotator4"):
            if value := rate(user, completion, suggestion):
                record.responses.add(
                    rg.Response("rating", value, user_id=client.users(user).id, status="submitted")
                )
    dataset.records.log(records)


def chart_texts(statistics: dict, folder) -> list[str]:
    """Every text the export's charts draw (titles, ticks, labels, legends)."""
    from matplotlib.figure import Figure
    from matplotlib.text import Text

    texts: list[str] = []
    real = Figure.savefig

    def save(figure, path, **options):
        real(figure, path, **options)  # drawing fills in the tick labels
        texts.extend(text.get_text() for text in figure.findobj(Text))

    folder.mkdir(parents=True, exist_ok=True)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Figure, "savefig", save)
        plots.export_charts(statistics, folder)
    return texts


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
    # 3 of 6 gold right is no proof of carelessness; ignoring the answer (reliability 50%) is.
    assert always_up.gold_accuracy == 0.5 and [r for r in always_up.reasons if "min_reliability" in r]
    assert opposite.gold_accuracy == 0.0 and any("min_gold_accuracy" in r for r in opposite.reasons)
    for user in CAREFUL:
        assert report.quality[user].gold_accuracy == 1.0 and report.quality[user].gold_rated == len(GOLD)
    assert "gold" not in report.approval  # gold records are no model's
    shown = run_kto(rated, "status", env=WIDE)
    assert shown.returncode == 0 and "100% of 6" in shown.stdout and "0% of 6" in shown.stdout, shown.stderr
    post = run_kto(rated, "status", "--markdown")  # the public post: kind and blind
    assert post.returncode == 0, post.stderr
    assert "annotator1: 26" in post.stdout and "annotator3" not in post.stdout
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
    drawn = " ".join(chart_texts(stats, rated / "charts"))
    assert "52 ratings of 2 left out" in drawn and not re.search(r"annotator\d", drawn)
    # Published without names: two flagged, with their reasons, two not.
    flags = [(figures["flagged"], bool(figures["reasons"])) for figures in stats["annotators"].values()]
    assert sorted(flags) == [(False, False), (False, False), (True, True), (True, True)]
    assert not re.search(r"annotator\d", (folder / "statistics.json").read_text())
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


# -- A campaign's first 40 records, 2 of them gold (one per twenty) ------------------------------

FIRST_GOLD = [(f"Prompt number {n}", f"A known answer, number {n}.", n == 0) for n in range(2)]


def noisy_or_careless(user: str, completion: str, suggestion: str | None = None) -> str | None:
    """annotator1 and 2 are wrong on one answer in ten (not the same ones); 3 and 4 as before."""
    if user in CAREFUL:
        slip = sum(map(int, re.findall(r"\d+", completion))) % 10 == (3 if user == "annotator1" else 8)
        return "up" if truth(completion) != slip else "down"
    return rating(user, completion)


@pytest.fixture
def first_forty(annotation_project, argilla_server):
    write_gold(annotation_project, FIRST_GOLD)
    write_generations(annotation_project, prompts=19, models=2)  # 38 answers and 2 gold records
    assert run_kto(annotation_project, "annotate").returncode == 0
    rate_all(argilla_server, annotation_project, noisy_or_careless)
    return annotation_project


@pytest.mark.slow
def test_the_first_forty_records_flag_the_careless_everywhere_and_rank_only_the_careful(first_forty):
    from kto import status

    report = status.collect(load_config(first_forty / "project.yaml"))
    assert report.total == 40 and {u for u, r in report.quality.items() if r.flagged} == {
        "annotator3",
        "annotator4",
    }
    # Per model: the careful annotators' ratings alone, as the export counts them.
    answers = [f"Answer {m} to prompt {p}." for p in range(19) for m in range(2)]
    careful_ups = sum(noisy_or_careless(user, text) == "up" for user in CAREFUL for text in answers)
    assert sum(votes["up"] for votes in report.approval.values()) == careful_ups
    assert sum(votes.total() for votes in report.approval.values()) == 2 * len(answers)
    assert (report.left_out_annotators, report.left_out_ratings) == (2, 80)
    shown = run_kto(first_forty, "status", env=WIDE)
    assert shown.returncode == 0, shown.stderr
    text = " ".join(shown.stdout.split())
    assert "80 ratings of 2 flagged annotators left out" in text
    counts = table_rows(shown.stdout)  # annotator -> submitted, discarded, draft, pending, flagged
    assert counts["annotator3"][-1] == counts["annotator4"][-1] == "yes" and counts["annotator1"][-1] == "-"

    post = run_kto(first_forty, "status", "--markdown")
    assert post.returncode == 0, post.stderr
    assert "1. annotator1: 40\n2. annotator2: 40\n" in post.stdout and "**80**" in post.stdout
    assert "annotator3" not in post.stdout and "annotator4" not in post.stdout and "flag" not in post.stdout

    assert run_kto(first_forty, "export").returncode == 0
    stats = json.loads((first_forty / "data" / "export" / "statistics.json").read_text())
    drawn = " ".join(chart_texts(stats, first_forty / "charts"))
    assert "80 ratings of 2 left out" in drawn and not re.search(r"annotator\d", drawn)


# -- Gold that measures the rater, not the judge --------------------------------------------------


def judge(completion: str) -> str:
    """Right on every answer but three of the gold records (two good ones called bad, a bad one good)."""
    wrong = completion in {response for _, response, _ in GOLD[:3]}
    return "up" if truth(completion) != wrong else "down"


def follows_the_judge(user: str, completion: str, suggestion: str | None = None) -> str | None:
    """annotator1 accepts every suggestion, annotator2 rates with care; nobody else rates."""
    if user == "annotator1":
        return suggestion
    return rating(user, completion) if user == "annotator2" else None


def test_an_annotator_who_accepts_every_suggestion_is_flagged_where_the_judge_is_wrong(
    annotation_project, argilla_server
):
    write_gold(annotation_project)
    write_generations(annotation_project, prompts=PROMPTS, models=MODELS)
    assert run_kto(annotation_project, "annotate").returncode == 0
    rate_all(argilla_server, annotation_project, follows_the_judge, judge)

    from kto import status

    quality = status.collect(load_config(annotation_project / "project.yaml")).quality
    follower, careful = quality["annotator1"], quality["annotator2"]
    assert follower.follows_judge == 1.0 and (follower.traps_rated, follower.traps_right) == (3, 0)
    assert follower.gold_right == 3  # half the gold right: the gold accuracy alone would not tell
    assert [reason for reason in follower.reasons if "follows the judge where it is wrong" in reason]
    assert not careful.flagged and careful.trap_accuracy == 1.0 and careful.follows_judge == 23 / 26
    shown = run_kto(annotation_project, "status", env=WIDE)
    assert shown.returncode == 0 and "100% of 26" in shown.stdout and "88% of 26" in shown.stdout
