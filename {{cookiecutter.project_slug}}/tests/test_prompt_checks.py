"""The gates on prompts: kto prompts check as a linter, kto generate's warning and refusal (near
repeats have their own tests, test_near_repeats.py)."""

import json

from helpers import edit_config, openai_slot, run_kto, use_models

from kto.config import load_config
from kto.prompt_checks import check
from kto.prompt_gates import PromptGates, split_list

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
    assert result.returncode == 0, result.stderr  # it did what was asked: a copy without problems
    assert result.stderr.strip().splitlines()[-2] == (
        "mine.jsonl: 7 prompts, 1 empty, 1 too long, 1 wrong language, 1 repeat"
    )
    clean = (project / "mine.clean.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["prompt"] for line in clean] == [DUTCH[0], DUTCH[1], DUTCH[2]]
    assert run_kto(project, "prompts", "check", "mine.clean.jsonl").returncode == 0


PASTED = [
    DUTCH[0],
    "\U0001f338\U0001f338\U0001f338\U0001f338\U0001f338\U0001f338",
    "!!!!!!!!!!!!",
    "12345 67890",
    "Schrijf een haiku over de \udcff\udcfe oude kerk.",  # two bytes that are not UTF-8
    "Wie was Matsuo Basho?",
    "1. Schrijf een haiku over de zee. 2. Maak een haiku over de wind. 3) Schrijf een haiku over de maan.",
    "- Schrijf een haiku over een molen - Schrijf een haiku over een dijk",
    "Schrijf een haiku over de top 2. van de berg.",
]
LISTED = [
    "Schrijf een haiku over de zee.",
    "Maak een haiku over de wind.",
    "Schrijf een haiku over de maan.",
    "Schrijf een haiku over een molen",
    "Schrijf een haiku over een dijk",
]


def test_what_people_paste_each_has_its_own_finding_and_fix(project):
    """Emoji, punctuation and digits have no words (never a repeat of each other), a bad byte is
    named by its line, a question about a poet is Dutch, and lists on one line are split."""
    data = b"".join(line.encode("utf-8", "surrogateescape") + b"\n" for line in PASTED)
    (project / "mine.txt").write_bytes(data)
    dutch_file(project, [])
    report = check(load_config(project / "project.yaml"), "mine.txt")
    found = {(finding.where, finding.reason) for finding in report.findings}
    assert found == {
        ("2", "no words"),
        ("3", "no words"),
        ("4", "no words"),
        ("5", "bad bytes"),
        ("7", "list"),
        ("8", "list"),
    }
    assert report.bad_lines == (5,) and report.read_as is None

    assert run_kto(project, "prompts", "check", "mine.txt").returncode == 1
    result = run_kto(project, "prompts", "check", "mine.txt", "--fix")
    assert result.returncode == 0, result.stderr
    assert "warning: mine.txt: line 5 holds bytes that are not UTF-8" in result.stderr
    clean = (project / "mine.clean.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["prompt"] for line in clean] == [DUTCH[0], PASTED[5], *LISTED, PASTED[8]]
    again = run_kto(project, "prompts", "check", "mine.clean.jsonl")
    assert again.returncode == 0 and again.stderr.strip().endswith("no problems"), again.stderr

    (project / "none.txt").write_text(f"{PASTED[1]}\n{PASTED[2]}\n", encoding="utf-8")
    nothing = run_kto(project, "prompts", "check", "none.txt", "--fix")  # no clean copy to give
    assert nothing.returncode == 1 and "Wrote the 0 prompts" in nothing.stderr


def test_a_file_in_a_code_page_is_read_and_the_guess_said(project):
    (project / "mine.txt").write_bytes("Schrijf een haiku over een café in de regen.\n".encode("cp1252"))
    dutch_file(project, [])
    result = run_kto(project, "prompts", "check", "mine.txt")
    assert result.returncode == 0, result.stderr
    assert "warning: mine.txt is not UTF-8: read as cp1252 (a guess)" in result.stderr


def test_a_japanese_numbered_list_on_one_line_is_three_prompts():
    line = (
        "春の朝の霧を詠んでください。 2. 夏の海辺の貝殻を俳句にしてください。 "
        "3. 秋の夜長の虫の声を俳句に詠んでください。"
    )
    assert split_list(line) == [
        "春の朝の霧を詠んでください。",
        "夏の海辺の貝殻を俳句にしてください。",
        "秋の夜長の虫の声を俳句に詠んでください。",
    ]
    full_width = "1\uff0e雪の朝 2\uff0e雨の夜"  # full-width full stops, a leading 1
    assert split_list(full_width) == ["雪の朝", "雨の夜"]
    for prose in (
        "Write about the top 2. floors.",
        "Pi is 3.14 and e is 2.71",
        "A haiku - about the sea - please",
    ):
        assert split_list(prose) == [prose]


def test_a_name_is_no_language_but_a_sentence_around_it_is():
    gates = PromptGates(1, 300, "nl")
    assert gates.problem("Wie was Matsuo Basho?") is None
    assert gates.problem("Schrijf een haiku zoals Matsuo Basho die schreef.") is None
    english = "Who was Matsuo Basho and what did he write about in his travels?"
    assert gates.problem(english) == ("wrong language", "en, nl expected")


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
