"""kto suggest: a real judge (the embedded tiny model) on a real local Argilla."""

import json
import unicodedata
from dataclasses import replace

import pytest
from fake_provider import FakeProvider
from helpers import (
    dataset_of,
    edit_config,
    export_rows,
    free_port,
    openai_slot,
    records_of,
    run_kto,
    submit,
    write_generations,
)

from kto import engine, jobs, suggest
from kto import judge as judge_module
from kto.config import ModelSlot, load_config
from kto.judge import RATING_CHOICES, Judge
from kto.suggest import SuggestedLabel

JUDGE = "gemma-3-270m-local-judge"


def suggestions(server, project) -> dict[str, list[dict]]:
    """Every record's suggestions, by record id."""
    dataset = dataset_of(server, project)
    return {
        record.id: [
            {"question": s.question_name, "value": s.value, "score": s.score, "agent": s.agent}
            for s in record.suggestions
        ]
        for record in dataset.records(with_suggestions=True)
    }


@pytest.mark.slow
def test_suggestions_fill_every_record_once_and_never_become_labels(annotation_project, argilla_server):
    write_generations(annotation_project, prompts=2, models=2)
    assert run_kto(annotation_project, "annotate").returncode == 0
    submit(argilla_server, annotation_project, {("annotator1", 0): "up"})  # a rating given before

    first = run_kto(annotation_project, "suggest", "--local")
    assert first.returncode == 0, first.stderr
    assert "4 suggestions from gemma-3-270m-local-judge" in first.stderr
    found = suggestions(argilla_server, annotation_project)
    assert len(found) == 4
    for [one] in found.values():
        assert (
            one["question"] == "rating"
            and one["agent"].startswith(f"{JUDGE} ")
            and one["value"] in {"up", "down"}
        )
        assert one["score"] == pytest.approx(2 / 3) or one["score"] == 1.0  # 2 or 3 of 3 judgements
    dataset = dataset_of(argilla_server, annotation_project)
    [rated] = [record for record in records_of(dataset, "team/model-0") if record.responses["rating"]]
    assert [response.value for response in rated.responses["rating"]] == ["up"]  # left as it was
    assert {record.metadata["model"] for record in dataset.records()} == {"team/model-0", "team/model-1"}

    again = run_kto(annotation_project, "suggest", "--local")
    assert again.returncode == 0 and "all 4 records already have a suggestion" in again.stderr
    redo = run_kto(annotation_project, "suggest", "--local", "--redo")
    assert redo.returncode == 0, redo.stderr
    assert all(len(each) == 1 for each in suggestions(argilla_server, annotation_project).values())

    # People decide two records: one as the judge did, one against it.
    judged = {record.fields["prompt"]: record for record in records_of(dataset, "team/model-0")}
    verdict = {prompt: record.suggestions["rating"].value for prompt, record in judged.items()}
    against = {"up": "down", "down": "up"}
    votes = {}
    for index, agree in ((0, True), (1, False)):
        wanted = verdict[f"Prompt number {index}"] if agree else against[verdict[f"Prompt number {index}"]]
        votes |= {(user, index): wanted for user in ("annotator2", "annotator3")}
    submit(argilla_server, annotation_project, votes)

    result = run_kto(annotation_project, "export")
    assert result.returncode == 0, result.stderr
    folder = annotation_project / "data" / "export"
    rows = export_rows(folder, "kto")
    labels = {row["prompt"]: row["label"] for row in rows}
    assert labels == {f"Prompt number {index}": (votes[("annotator2", index)] == "up") for index in (0, 1)}
    judge = json.loads((folder / "statistics.json").read_text())["judge"]
    assert judge == {"agents": [one["agent"]], "compared": 2, "agreed": 1, "rate": 0.5}
    assert "Judge-human agreement: 50% (1 of 2" in (folder / "README.md").read_text(encoding="utf-8")


def rating_judge() -> Judge:
    return Judge(
        ModelSlot(id="team/judge", backend="openai", base_url="http://127.0.0.1:9/v1"),
        "{prompt}",
        RATING_CHOICES,
    )


def test_the_majority_of_judgements_is_the_suggested_label():
    judge = rating_judge()
    assert suggest.suggested(judge, ["1", "1", "0"]) == SuggestedLabel("up", 2 / 3)
    assert suggest.suggested(judge, ["0", " 0.", None]) == SuggestedLabel("down", 1.0)
    assert suggest.suggested(judge, ["Yes: 1", "no digit", ""]) == SuggestedLabel("up", 1.0)
    assert suggest.suggested(judge, ["1", "0"]) is None  # a tie decides nothing
    assert suggest.suggested(judge, ["maybe", None]) is None


@pytest.mark.parametrize(
    "script", ["", "EXTENDED ARABIC-INDIC", "ARABIC-INDIC", "DEVANAGARI", "BENGALI", "THAI", "FULLWIDTH"]
)
def test_a_judge_may_answer_in_the_digits_of_its_script(script):
    one, zero = (unicodedata.lookup(f"{script} DIGIT {name}".strip()) for name in ("ONE", "ZERO"))
    judge = rating_judge()
    assert judge.choice(one) == 1
    assert judge.choice(f" {zero}.") == 0
    assert suggest.suggested(judge, [one, one, zero]) == SuggestedLabel("up", 2 / 3)
    assert suggest.suggested(judge, [zero, f"{zero}\n", None]) == SuggestedLabel("down", 1.0)


def test_only_digits_that_mean_zero_or_one_count():
    two, three = unicodedata.lookup("EXTENDED ARABIC-INDIC DIGIT TWO"), unicodedata.lookup("THAI DIGIT THREE")
    judge = rating_judge()
    assert judge.choice(f"{two} or 1") == 1  # a Persian 2 is skipped, as an ASCII 2 is
    assert judge.choice(three) is None
    assert judge.choice("\N{SUPERSCRIPT ONE} I l") is None  # not decimal digits


def test_the_agent_changes_with_anything_that_changes_the_judges_verdicts(project):
    config = load_config(project / "project.yaml")
    judge = judge_module.rating_judge(config, local=False)
    assert suggest.agent(judge).startswith(f"{judge.slot.id} ")
    assert suggest.agent(judge) == suggest.agent(judge_module.rating_judge(config, local=False))
    others = [
        replace(judge, template=judge.template + " "),
        replace(judge, slot=judge.slot.model_copy(update={"temperature": 0.0})),
        replace(judge, slot=judge.slot.model_copy(update={"base_url": "http://127.0.0.1:1/v1"})),
        replace(judge, fixed={"instructions": "another task"}),
    ]
    assert len({suggest.agent(judge), *map(suggest.agent, others)}) == 5


def test_each_sample_is_a_slot_of_the_judge(project):
    judge = ModelSlot(id="team/judge", backend="openai", base_url="http://127.0.0.1:9/v1", temperature=0.3)
    slots = Judge(judge, "{prompt}", RATING_CHOICES).samples(3)
    assert [slot.id for slot in slots] == ["team/judge#1", "team/judge#2", "team/judge#3"]
    assert {slot.served_model for slot in slots} == {"team/judge"}  # the name every request carries
    assert {(slot.base_url, slot.temperature) for slot in slots} == {("http://127.0.0.1:9/v1", 0.3)}
    config = load_config(project / "project.yaml")
    assert judge_module.rating_judge(config, local=True).slot.backend == "local"
    assert judge_module.rating_judge(config, local=False).slot == config.suggest.judge


def test_the_judge_prompt_carries_the_task_and_the_record(project):
    config = load_config(project / "project.yaml")
    text = judge_module.rating_judge(config, local=False).text(
        prompt="A {braced} prompt", response="An answer"
    )
    assert config.task.system_prompt in text and "A {braced} prompt" in text and "An answer" in text
    assert "{prompt}" not in text and "{response}" not in text


class Quiet:
    def planned(self, jobs, estimates, recovered: int) -> None: ...

    def answered(self, model: str, ok: bool) -> None: ...


@pytest.mark.parametrize("served_model", [None, "judge-on-the-server"])
def test_every_judgement_carries_the_judges_model_name(project, served_model):
    """A real server answers 404 for a model it does not serve: the samples are slots of the
    journal, never model names."""
    model = served_model or "team/judge"
    fake = FakeProvider(models=[model])
    url = fake.start()
    try:
        config = load_config(project / "project.yaml")
        judge = ModelSlot(id="team/judge", backend="openai", base_url=url, served_model=served_model)
        texts = ["Is this good? one", "Is this good? two"]
        filled = engine.fill_gaps(
            config,
            journal=project / ".cache" / "kto" / "suggest.journal.jsonl",
            command="kto suggest",
            prompts=texts,
            slots=Judge(judge, "{prompt}", RATING_CHOICES).samples(3),
            messages=lambda text: jobs.messages(None, text),
            max_new_tokens=judge_module.MAX_NEW_TOKENS,
            progress=Quiet(),
            warn=pytest.fail,
            save=lambda answers: None,
            choices=RATING_CHOICES,
        )
    finally:
        fake.stop()
    assert set(fake.attempts) == {(model, text) for text in texts}  # only the served name was asked
    assert all(count == 3 for count in fake.answers.values())  # three judgements of each text
    assert not filled.errors and not filled.missing
    assert set(filled.answers[texts[0]]) == {"team/judge#1", "team/judge#2", "team/judge#3"}


def test_a_judge_its_server_does_not_list_or_that_does_not_answer_is_refused_before_asking(project):
    fake = FakeProvider(models=["team/other"])
    url = fake.start()
    try:
        edit_config(project, lambda config: config["suggest"].update(judge=openai_slot("team/judge", url)))
        unlisted = run_kto(project, "suggest")
        down = f"http://127.0.0.1:{free_port()}/v1"
        edit_config(project, lambda config: config["suggest"].update(judge=openai_slot("team/judge", down)))
        dead = run_kto(project, "suggest")
    finally:
        fake.stop()
    assert unlisted.returncode == 1 and dead.returncode == 1
    [line] = unlisted.stderr.strip().splitlines()
    assert line.startswith("error: model team/judge: team/judge is not served by ")
    [line] = dead.stderr.strip().splitlines()
    assert line.startswith("error: model team/judge: ") and "no answer" in line
    assert fake.attempts.total() == 0


@pytest.mark.slow  # five kto runs against a real Argilla
def test_a_changed_judge_judges_again_and_failed_judgements_exit_non_zero(annotation_project, fake_provider):
    """A judge is its server, model, sampling and prompt: change one and every record is judged
    again; a run whose requests fail leaves records without a suggestion and exits 1, naming the
    judge's server."""
    write_generations(annotation_project, prompts=2, models=2)
    assert run_kto(annotation_project, "annotate").returncode == 0
    fake, url = fake_provider(["team/judge"], latency=0.01, replies={"team/judge": lambda text: "1"})

    def use_judge(url: str, prompt_end: str = "", **settings) -> None:
        def change(config):
            config["suggest"].update(judge=openai_slot("team/judge", url, **settings), samples=1)
            config["suggest"]["prompt"] = config["suggest"]["prompt"].rstrip() + prompt_end

        edit_config(annotation_project, change)

    use_judge(url)
    first = run_kto(annotation_project, "suggest")
    assert first.returncode == 0 and ": 4 suggestions from team/judge " in first.stderr, first.stderr
    same = run_kto(annotation_project, "suggest")
    assert same.returncode == 0 and "all 4 records already have a suggestion" in same.stderr
    use_judge(url, " One digit.")
    changed = run_kto(annotation_project, "suggest")
    assert changed.returncode == 0 and ": 4 suggestions from team/judge " in changed.stderr
    assert fake.attempts.total() == 8  # each record asked once per judge prompt

    _, failing = fake_provider(["team/judge"], latency=0.01, share_500=1.0)
    use_judge(failing, max_retries=0)
    failed = run_kto(annotation_project, "suggest")
    assert failed.returncode == 1
    assert (
        failed.stderr.strip()
        .splitlines()[-1]
        .startswith(
            f"error: suggest: no suggestion for 4 records, requests failed (first: team/judge at {failing}: "
            "InternalServerError"
        )
    )
