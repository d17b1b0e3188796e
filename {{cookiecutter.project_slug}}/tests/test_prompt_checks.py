"""The gates on prompts: kto prompts check as a linter, kto generate's warning and refusal (near
repeats have their own tests, test_near_repeats.py)."""

import json

from helpers import edit_config, openai_slot, run_kto, use_models

from kto.config import load_config
from kto.prompt_checks import check

DUTCH = [
    "Schrijf een haiku over een reiger die bij de sloot op een kikker wacht.",
    "Maak een haiku over de geur van natte bladeren in een bos in oktober.",
    "Schrijf een haiku over een oude vissersboot die in de haven ligt te roesten.",
    "Kun je een haiku schrijven over kinderen die op het ijs van de vijver glijden?",
]
LONG = ("Schrijf een haiku over de zee. " * 1613).strip()  # 50,002 characters
ENGLISH = "Write a haiku about a heron waiting by the ditch."


def dutch_file(project, rows: list[str]) -> None:
    lines = [json.dumps({"prompt": row}, ensure_ascii=False) for row in rows]
    (project / "mine.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")

    def change(config):
        config["language"]["code"] = config["checks"]["expected_language"] = "nl"
        config["prompts"]["source"] = "mine.jsonl"
        config["prompts"]["max_chars"] = 300  # haiku's default, in projects of any task

    edit_config(project, change)


def test_check_lists_a_long_a_repeated_and_an_english_prompt(project):
    rows = [
        DUTCH[0],
        LONG,
        DUTCH[1],
        "  schrijf een haiku over een reiger die bij de sloot op een kikker wacht",
        ENGLISH,
    ]
    dutch_file(project, [*rows, "", DUTCH[2]])
    report = check(load_config(project / "project.yaml"))
    found = {finding.row: (finding.reason, finding.detail) for finding in report.findings}
    assert found == {
        2: ("too long", "50,002 characters, limit 300 (prompts.max_chars)"),
        4: ("repeat", "repeat of row 1"),
        5: ("wrong language", "en, nl expected"),
        6: ("empty", "no text"),
    }
    assert report.rows == 7 and report.fixed is None

    result = run_kto(project, "prompts", "check", "--fix")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-2] == (
        "mine.jsonl: 7 prompts, 1 empty, 1 too long, 1 wrong language, 1 repeat"
    )
    clean = (project / "mine.clean.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["prompt"] for line in clean] == [DUTCH[0], DUTCH[1], DUTCH[2]]
    assert run_kto(project, "prompts", "check", "mine.clean.jsonl").returncode == 0


def test_generate_warns_in_one_line_and_refuses_a_prompt_no_context_holds(project):
    dutch_file(project, [*DUTCH, DUTCH[0].upper()])
    use_models(project, openai_slot("team/model", "http://127.0.0.1:9/v1"))
    warned = run_kto(project, "generate", "--estimate")
    assert warned.returncode == 0, warned.stderr
    [line] = [line for line in warned.stderr.splitlines() if line.startswith("warning")]
    assert line == "warning: 1 of 5 prompts have problems (1 repeat): kto prompts check lists them"

    dutch_file(project, [DUTCH[0], LONG])
    refused = run_kto(project, "generate", "--local", "--estimate")
    assert refused.returncode == 1
    [line] = refused.stderr.strip().splitlines()
    assert line.startswith("error: prompts: prompt 2 has 50,002 characters, more than gemma-3-270m-local-t")
    assert "context can hold (about 7,168)" in line
