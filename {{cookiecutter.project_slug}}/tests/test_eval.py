"""kto eval: the trained model against its base, judged in both orders, on held-out prompts.

The base, the tuned model and the judge are slots on the fake provider, whose ``replies`` make
each model say what the test needs; its request counters tell what was asked, and how often.
"""

import json
import re

import pyarrow.parquet as pq
import pytest
from fake_provider import FakeProvider
from helpers import edit_config, openai_slot, rated_backup, run_kto

from kto import evaluation
from kto.config import load_config
from kto.errors import KtoError
from kto.gates import Gates

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


def test_a_judge_that_always_answers_1_gives_only_ties(project, provider):
    fake, url = provider(**{JUDGE: lambda text: "1"})
    report = evaluate(eval_project(project, url))
    assert (report.wins, report.ties, report.losses, report.prompts) == (0, 6, 0, 6)
    assert report.win_rate == 0.5 and report.ci95 == (0.5, 0.5)
    assert judge_requests(fake) == 12  # each pair twice, once in each order
    pairs = pq.read_table(project / "data" / "eval" / "pairs.parquet").to_pylist()
    assert {(pair["prefers_tuned_first"], pair["prefers_base_first"]) for pair in pairs} == {
        ("tuned", "base")
    }


def test_a_judge_that_prefers_the_tuned_answer_in_either_position_gives_1(project, provider):
    fake, url = provider(**{JUDGE: lambda text: "1" if tuned_is_first(text) else "\N{THAI DIGIT TWO}"})
    config = eval_project(project, url)
    report = evaluate(config)
    assert (report.wins, report.win_rate) == (6, 1.0)
    assert report.ci95 == (1.0, 1.0)
    assert report.mean_chars == {
        "base": len(f"answer of {BASE} to Prompt number 0"),
        "tuned": len(f"answer of {TUNED} to Prompt number 0"),
    }
    saved = json.loads((project / "data" / "eval" / "report.json").read_text())
    assert {key: saved[key] for key in ("prompts", "wins", "losses", "ties", "win_rate", "ci95")} == {
        "prompts": 6,
        "wins": 6,
        "losses": 0,
        "ties": 0,
        "win_rate": 1.0,
        "ci95": [1.0, 1.0],
    }
    assert saved["wrong_language"] == {"base": 0, "tuned": 0}
    assert (project / "data" / "eval" / "wins.png").read_bytes().startswith(b"\x89PNG")

    asked = fake.attempts.total()
    again = evaluate(config)  # a re-run asks nothing, and finds the same
    assert fake.attempts.total() == asked and again.asked == 0
    assert (again.wins, again.win_rate, again.ci95) == (6, 1.0, (1.0, 1.0))


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
    assert (report.losses, report.prompts, report.win_rate) == (6, 6, 0.0)
    assert report.wrong_language == {"base": 0, "tuned": 6}
    assert judge_requests(fake) == 0  # nothing left to judge


def test_the_cli_prints_one_summary_line_and_refuses_a_missing_test_split(project, provider):
    fake, url = provider(**{JUDGE: lambda text: "1" if tuned_is_first(text) else "2"})
    eval_project(project, url)
    missing = run_kto(project, "eval")
    assert missing.returncode == 1
    assert missing.stderr.strip().startswith("error: eval: no test split at ")
    (project / "p.txt").write_text("\n".join(PROMPTS) + "\n", encoding="utf-8")
    result = run_kto(project, "eval", "--prompts", "p.txt", "--limit", "4")
    assert result.returncode == 0, result.stderr
    assert (
        "Win rate of the trained model against its base: 1.00 (95% interval 1.00 to 1.00, better) "
        "over 4 prompts" in result.stderr
    )
    assert judge_requests(fake) == 8


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
    assert 0.0 <= report["ci95"][0] <= report["win_rate"] <= report["ci95"][1] <= 1.0
    assert report["models"]["judge"] == "gemma-3-270m-local-judge"
    pairs = pq.read_table(project / "data/eval/pairs.parquet").to_pylist()
    assert {pair["prompt"] for pair in pairs} == held_out
    for pair in pairs:  # the embedded judge is held to 1 or 2 by its grammar
        assert pair["outcome"] and {pair["judge_tuned_first"], pair["judge_base_first"]} <= {"1", "2", None}

    again = run_kto(project, "eval", "--local")
    assert again.returncode == 0 and "Asking" not in again.stderr  # nothing left to ask
    assert json.loads((project / "data/eval/report.json").read_text())["win_rate"] == report["win_rate"]

    # Trained again on the same export: the same weights, so the card carries the result.
    assert run_kto(project, "train", "--dry-run").returncode == 0
    card = (project / "data/model-dry-run/README.md").read_text(encoding="utf-8")
    assert "## Against its base" in card and f"{report['win_rate']:.2f}" in card


def test_the_judges_instructions_name_the_language_and_the_task_and_can_be_replaced(project):
    config = load_config(project / "project.yaml")
    text = evaluation.judge_text(config, "A {braced} prompt", "First answer {second}", "Second answer")
    assert config.language.name in text and config.task.system_prompt in text
    assert text.index("First answer {second}") < text.index("Second answer")  # filled in once
    assert "{first}" not in text and text.count("Second answer") == 1
    own = "Sprache {language}. {prompt} / 1: {first} / 2: {second}"
    edit_config(project, lambda config: config.update(eval={"judge_prompt": own}))
    config = load_config(project / "project.yaml")
    assert evaluation.judge_text(config, "P", "A", "B") == f"Sprache {config.language.name}. P / 1: A / 2: B"
    edit_config(project, lambda config: config.update(eval={"judge_prompt": "{prompt} {first}"}))
    with pytest.raises(
        KtoError, match=re.escape("eval: Value error, the judge prompt must contain {second}")
    ):
        load_config(project / "project.yaml")
