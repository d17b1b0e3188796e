"""kto eval: the trained model against its base, judged in both orders, on held-out prompts.

The base, the tuned model and the judge are slots on the fake provider, whose ``replies`` make
each model say what the test needs; its request counters tell what was asked, and how often.
"""

import asyncio
import gc
import json
import logging
import re

import pyarrow.parquet as pq
import pytest
from fake_provider import FakeProvider
from helpers import edit_config, openai_slot, rated_backup, run_kto

from kto import engine, evaluation, jobs, judging
from kto.config import ModelSlot, load_config
from kto.errors import KtoError
from kto.gates import Gates
from kto.jobs import Job
from kto.journal import Journal
from kto.judge import pair_judge
from kto.judging import TOO_FEW
from kto.remote import RemoteModel

BASE, TUNED, JUDGE = "team/base", "team/tuned", "team/judge"
PROMPTS = [f"Prompt number {n}" for n in range(6)]
# Sentences no project's language shares with both: the tuned model answers in the other one.
FOREIGN = {
    "de": "Der alte Fischer sitzt jeden Morgen am Hafen und wartet geduldig auf die kleinen Boote.",
    "fr": "Le vieux pêcheur s'assoit chaque matin sur le port et attend patiemment les petits bateaux.",
}


class Silent:
    """The engine's Progress, unseen: these tests read the report."""

    def planned(self, jobs, estimates, recovered) -> None: ...

    def answered(self, model, ok) -> None: ...


def tuned_is_first(text: str) -> bool:
    return text.index(f"answer of {TUNED}") < text.index(f"answer of {BASE}")


@pytest.fixture
def provider(fake_provider):
    """``provider(**replies)``: the base, the tuned model and the judge on a fake provider whose
    ``replies`` script their answers (stopped after the test)."""
    return lambda **replies: fake_provider([BASE, TUNED, JUDGE], latency=0.01, replies=replies)


def eval_project(project, url: str, *, gate: str = "off"):
    """The three slots on the provider; the language gate ``gate`` (the fake's answers are English)."""

    def change(config):
        config["eval"] = {
            slot: openai_slot(model, url)
            for slot, model in zip(("base", "tuned", "judge"), (BASE, TUNED, JUDGE), strict=True)
        }
        config["checks"]["language"] = gate

    edit_config(project, change)
    return load_config(project / "project.yaml")


def evaluate(config):
    return evaluation.run(config, prompts=PROMPTS, local=False, progress=Silent(), warn=print)


def judge_requests(fake: FakeProvider) -> int:
    return sum(count for (model, _), count in fake.attempts.items() if model == JUDGE)


def test_a_judge_that_always_answers_1_gives_only_ties_and_no_verdict(project, provider):
    fake, url = provider(**{JUDGE: lambda text: "1"})
    report = evaluate(eval_project(project, url))
    assert (report.wins, report.ties, report.losses, report.prompts) == (0, 6, 0, 6)
    assert report.conclusion.verdict == TOO_FEW and report.conclusion.ci95 is None
    assert judge_requests(fake) == 12  # each pair twice, once in each order
    pairs = pq.read_table(project / "data" / "eval" / "pairs.parquet").to_pylist()
    assert {(pair["prefers_tuned_first"], pair["prefers_base_first"]) for pair in pairs} == {
        ("tuned", "base")
    }
    assert "the judge decided 0 of 6, and a verdict needs 30" in evaluation.summary_line(report)


def test_a_judge_that_prefers_the_tuned_answer_in_either_position_gives_1(project, provider):
    fake, url = provider(**{JUDGE: lambda text: "1" if tuned_is_first(text) else "\N{THAI DIGIT TWO}"})
    config = eval_project(project, url)
    report = evaluate(config)
    assert (report.wins, report.conclusion.win_rate, report.conclusion.verdict) == (6, 1.0, TOO_FEW)
    assert report.mean_chars == {
        "base": len(f"answer of {BASE} to Prompt number 0"),
        "tuned": len(f"answer of {TUNED} to Prompt number 0"),
    }
    saved = json.loads((project / "data" / "eval" / "report.json").read_text())
    low = 0.025 ** (1 / 6)  # Clopper-Pearson's lower bound at 6 of 6
    assert {key: saved[key] for key in ("prompts", "wins", "losses", "ties", "win_rate", "p_value")} == {
        "prompts": 6,
        "wins": 6,
        "losses": 0,
        "ties": 0,
        "win_rate": 1.0,
        "p_value": 2 / 64,
    }
    assert saved["ci95"] == [pytest.approx(low), 1.0] and saved["verdict"] == "too few prompts"
    assert saved["method"] == judging.METHOD and saved["more_prompts_needed"] == 24
    assert saved["wrong_language"] == {"base": 0, "tuned": 0}
    assert (project / "data" / "eval" / "wins.png").read_bytes().startswith(b"\x89PNG")

    asked = fake.attempts.total()
    again = evaluate(config)  # a re-run asks nothing, finds the same, and says what it reused
    assert fake.attempts.total() == asked and again.asked == 0
    assert (again.wins, again.conclusion) == (6, report.conclusion)
    assert (again.reused["answers"].count, again.reused["verdicts"].count) == (12, 12)
    assert evaluation.reuse_line(again).startswith("Reused 12 answers (since 20")


def test_a_tuned_model_in_the_wrong_language_loses_every_prompt_unjudged(project, provider):
    config = load_config(project / "project.yaml")
    expected = Gates.from_config(config).language
    if expected is None or not config.language.card_paragraph.strip():
        pytest.skip("the project names no language lingua knows: the language gate is off")
    foreign = FOREIGN["fr" if expected == "de" else "de"]
    fake, url = provider(
        **{
            BASE: lambda prompt: config.language.card_paragraph,
            TUNED: lambda prompt: foreign,
            JUDGE: lambda text: "2",
        }
    )
    report = evaluate(eval_project(project, url, gate="drop"))
    assert (report.losses, report.prompts, report.conclusion.win_rate) == (6, 6, 0.0)
    assert report.wrong_language == {"base": 0, "tuned": 6}
    assert judge_requests(fake) == 0  # nothing left to judge


def test_a_swapped_judge_under_the_same_id_is_reused_until_redo(project, provider):
    """The judge's identity is its server, model name, sampling and prompt: a model swapped behind
    the same name is the same identity, so its old verdicts are reused (and said so) until --redo."""
    fake, url = provider(**{JUDGE: lambda text: "1" if tuned_is_first(text) else "2"})
    config = eval_project(project, url)
    assert evaluate(config).wins == 6
    fake.replies[JUDGE] = lambda text: "1"  # another judge, served under the same id
    kept = evaluate(config)
    assert (kept.wins, kept.asked, kept.reused["verdicts"].count) == (6, 0, 12)
    redone = evaluation.run(config, prompts=PROMPTS, local=False, redo=True, progress=Silent(), warn=print)
    assert (redone.wins, redone.ties, redone.asked) == (0, 6, 24)
    assert redone.reused["verdicts"].count == redone.reused["answers"].count == 0


def test_a_changed_judge_prompt_or_sampling_asks_again_what_it_changes(project, provider):
    fake, url = provider(**{JUDGE: lambda text: "1" if tuned_is_first(text) else "2"})
    evaluate(eval_project(project, url))
    answers = {model: requests(fake, model) for model in (BASE, TUNED, JUDGE)}
    own = "{prompt} -- 1: {first} -- 2: {second}. One digit."
    edit_config(project, lambda config: config["eval"].update(judge_prompt=own))
    again = evaluate(load_config(project / "project.yaml"))
    assert again.reused["answers"].count == 12 and again.reused["verdicts"].count == 0
    assert requests(fake, JUDGE) == 2 * answers[JUDGE] and requests(fake, BASE) == answers[BASE]
    edit_config(project, lambda config: config["eval"]["base"].update(temperature=0.1))
    evaluate(load_config(project / "project.yaml"))
    assert requests(fake, BASE) == 2 * answers[BASE] and requests(fake, TUNED) == answers[TUNED]


def requests(fake: FakeProvider, model: str) -> int:
    return sum(count for (name, _), count in fake.attempts.items() if name == model)


def test_an_unreachable_judge_is_refused_before_anything_is_asked(project, provider):
    fake, url = provider()
    eval_project(project, url)
    edit_config(
        project, lambda config: config["eval"].update(judge=openai_slot(JUDGE, "http://127.0.0.1:9/v1"))
    )
    (project / "p.txt").write_text("\n".join(PROMPTS) + "\n", encoding="utf-8")
    result = run_kto(project, "eval", "--prompts", "p.txt")
    assert result.returncode == 1 and fake.attempts.total() == 0
    assert result.stderr.strip().startswith(f"error: model {JUDGE}: http://127.0.0.1:9/v1: no answer")
    assert not (project / "data" / "eval" / "report.json").exists()


def test_failed_verdicts_exit_non_zero_naming_the_server_and_leave_no_report(
    project, provider, fake_provider
):
    _, url = provider()
    _, judge_url = fake_provider([JUDGE], latency=0.01, share_500=1.0)
    eval_project(project, url)
    edit_config(
        project, lambda config: config["eval"].update(judge=openai_slot(JUDGE, judge_url, max_retries=0))
    )
    (project / "p.txt").write_text("\n".join(PROMPTS) + "\n", encoding="utf-8")
    result = run_kto(project, "eval", "--prompts", "p.txt")
    assert result.returncode == 1, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: eval: 6 of 6 prompts have no outcome (first error: ")
    assert f"{JUDGE} at {judge_url}: InternalServerError" in last
    assert not (project / "data" / "eval" / "report.json").exists()
    assert not list((project / ".cache" / "kto").glob("*.lock.json"))  # no run holds the lock
    assert "Traceback" not in result.stderr


def test_the_cli_says_how_many_prompts_are_missing_then_gives_a_verdict(project, provider):
    fake, url = provider(**{JUDGE: lambda text: "1" if tuned_is_first(text) else "2"})
    eval_project(project, url)
    missing = run_kto(project, "eval")
    assert missing.returncode == 1
    assert missing.stderr.strip().startswith("error: eval: no test split at ")
    prompts = [f"Prompt number {n}" for n in range(40)]
    (project / "p.txt").write_text("\n".join(prompts) + "\n", encoding="utf-8")
    seven = run_kto(project, "eval", "--prompts", "p.txt", "--limit", "7")
    assert seven.returncode == 0, seven.stderr
    assert (
        "Too few prompts for a verdict: the judge decided 7 of 7, and a verdict needs 30 (eval.min_prompts): "
        "about 23 more held-out prompts. Win rate 1.000 over the decided prompts (95% interval 0.590 to "
        "1.000, sign test p = 0.016): 7 wins, 0 losses, 0 ties" in seven.stderr
    )
    assert "Traceback" not in seven.stderr and "Event loop is closed" not in seven.stderr
    forty = run_kto(project, "eval", "--prompts", "p.txt")
    assert forty.returncode == 0, forty.stderr
    assert (
        "The trained model against its base: better. Win rate 1.000 over the decided prompts (95% "
        "interval 0.911 to 1.000, sign test p = 1.8e-12): 40 wins" in forty.stderr
    )
    assert "Reused 14 answers (since " in forty.stderr and "and 14 verdicts" in forty.stderr
    assert judge_requests(fake) == 80
    saved = json.loads((project / "data" / "eval" / "report.json").read_text())
    assert saved["verdict"] == "better" and saved["p_value"] == pytest.approx(2 / 2**40)


@pytest.mark.slow
def test_export_then_a_dry_run_then_eval_local_runs_end_to_end_offline(project):
    pytest.importorskip("trl", reason="needs the train extra")
    pytest.importorskip("llama_cpp", reason="needs the local extra (the embedded judge)")
    if load_config(project / "project.yaml").training is None:
        pytest.skip("the project was rendered without training")
    edit_config(project, lambda config: config["argilla"].update(min_submitted=2))
    prompts = [f"Prompt number {n}" for n in range(12)]  # 1, 2 and 5 are held out
    backup = rated_backup(project / "ratings.parquet", prompts)
    assert run_kto(project, "export", "--from", str(backup)).returncode == 0
    held_out = {row["prompt"] for row in pq.read_table(project / "data/export/kto/test.parquet").to_pylist()}
    assert held_out

    trained = run_kto(project, "train", "--dry-run")
    assert trained.returncode == 0, trained.stderr
    card = (project / "data/model-dry-run/README.md").read_text(encoding="utf-8")
    assert "On the export's held-out test split (TRL's evaluation): loss " in card and "kl " in card

    result = run_kto(project, "eval", "--local")
    assert result.returncode == 0, result.stderr
    report = json.loads((project / "data/eval/report.json").read_text())
    assert report["prompts"] == len(held_out) and report["wins"] + report["ties"] + report["losses"] == len(
        held_out
    )
    if report["ci95"]:  # None when the judge decided no prompt
        assert 0.0 <= report["ci95"][0] <= report["win_rate"] <= report["ci95"][1] <= 1.0
    assert report["verdict"] == "too few prompts"  # a handful of held-out prompts is never a verdict
    assert report["models"]["judge"] == "gemma-3-270m-local-judge"
    pairs = pq.read_table(project / "data/eval/pairs.parquet").to_pylist()
    assert {pair["prompt"] for pair in pairs} == held_out
    for pair in pairs:  # the embedded judge is held to 1 or 2 by its grammar
        assert pair["outcome"] and {pair["judge_tuned_first"], pair["judge_base_first"]} <= {"1", "2", None}

    again = run_kto(project, "eval", "--local")
    assert again.returncode == 0 and "Asking" not in again.stderr  # nothing left to ask
    assert json.loads((project / "data/eval/report.json").read_text())["wins"] == report["wins"]

    # Trained again on the same export: the same weights, so the card carries the result.
    assert run_kto(project, "train", "--dry-run").returncode == 0
    card = (project / "data/model-dry-run/README.md").read_text(encoding="utf-8")
    assert "## Against its base" in card and "Verdict: **too few prompts**" in card


def test_the_judges_instructions_name_the_language_and_the_task_and_can_be_replaced(project):
    config = load_config(project / "project.yaml")
    judge = pair_judge(config, local=False)
    text = judge.text(prompt="A {braced} prompt", first="First answer {second}", second="Second answer")
    assert config.language.name in text and config.task.system_prompt in text
    assert text.index("First answer {second}") < text.index("Second answer")  # filled in once
    assert "{first}" not in text and text.count("Second answer") == 1
    own = "Sprache {language}. {prompt} / 1: {first} / 2: {second}"
    edit_config(project, lambda config: config.update(eval={"judge_prompt": own}))
    judge = pair_judge(load_config(project / "project.yaml"), local=False)
    assert judge.text(prompt="P", first="A", second="B") == f"Sprache {config.language.name}. P / 1: A / 2: B"
    edit_config(project, lambda config: config.update(eval={"judge_prompt": "{prompt} {first}"}))
    with pytest.raises(
        KtoError, match=re.escape("eval: Value error, the judge prompt must contain {second}")
    ):
        load_config(project / "project.yaml")


def test_a_models_client_is_closed_in_the_loop_that_used_it(tmp_path, provider, caplog):
    """kto eval runs the engine twice (answers, then verdicts): a client left open for the garbage
    collector to close during a later loop logged "Event loop is closed" tracebacks after a clean
    run. The engine closes every model's client inside its own loop."""
    _, url = provider()
    slot = ModelSlot(id=BASE, backend="openai", base_url=url)
    models = {slot.id: RemoteModel(slot, 8)}
    engine.run(
        [Job(slot, ["Prompt number 0"])],
        models,
        Journal(tmp_path / "journal.jsonl", print),
        messages=lambda prompt: jobs.messages(None, prompt),
        stall_timeout=30,
        answered=lambda model, ok: None,
        landed=lambda prompt, model, response: False,
    )
    assert models[slot.id]._client.is_closed()

    async def later_loop() -> None:  # the next round: the earlier model is collected meanwhile
        models.clear()
        gc.collect()
        await asyncio.sleep(0.05)

    with caplog.at_level(logging.ERROR, logger="asyncio"):
        asyncio.run(later_loop())
        gc.collect()
    assert "Event loop is closed" not in caplog.text and "never retrieved" not in caplog.text
