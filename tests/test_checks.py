"""The quality gates at the template's level: language ID on every language file's real text, and
`kto check` in a rendered Dutch project."""

import os
import subprocess
import sys

import pytest
from conftest import bake
from kto import gates
from kto.responses import write_rows

from kto_jinja import load_language, supported_language_codes

CODES = [code for code in supported_language_codes() if code != "other"]
# Every language kto-template ships is a language lingua knows: each one is checked, none skipped.
REQUIRED_ACCURACY = 0.9


def test_the_detector_chooses_among_the_languages_the_template_ships():
    assert sorted(gates.SHIPPED_LANGUAGES) == CODES
    assert all(gates.lingua_language(code) for code in CODES)


@pytest.mark.parametrize("code", CODES)
def test_starter_prompts_and_system_prompt_are_identified(code):
    language = load_language(code)
    texts = [*language["starter_prompts"], language["system_prompts"]["haiku"]]
    assert len(texts) >= 21, f"{code}: {len(texts) - 1} starter prompts"
    found = [gates.detect_language(text, code) for text in texts]
    accepted = {code, *gates.SAME_LANGUAGE.get(code, ())}
    wrong = [(text, got) for text, got in zip(texts, found, strict=True) if got not in accepted]
    accuracy = 1 - len(wrong) / len(texts)
    print(f"{code}: {accuracy:.0%} of {len(texts)} identified")  # the per-language report (pytest -s)
    assert accuracy >= REQUIRED_ACCURACY, wrong
    assert found[-1] in accepted, "the haiku system prompt"


def test_kto_check_in_a_dutch_project_names_each_finding(tmp_path):
    """The issue's "done when": an English answer, an empty one, prose and a duplicate."""
    project = bake(tmp_path, language_code="nl", model_preset="self-hosted")
    prompt = load_language("nl")["starter_prompts"][0]
    haiku = "Golven rollen aan\nzilver licht op natte zand\nmeeuwen roepen luid"
    answers = {
        "team/dutch": haiku,
        "team/english": "Waves roll onto the shore\nsilver light on the wet sand\nseagulls calling loud",
        "team/empty": "",
        "team/prose": "De zee is heel mooi en ik wandel daar graag met mijn hond, vooral in de zomer.",
        "team/copy": haiku.upper(),
    }
    row = {
        "input": prompt,
        "generation_model": list(answers),
        "generation_prompt": [prompt] * len(answers),
        "raw_generation_responses": list(answers.values()),
        "generations": [text or None for text in answers.values()],
    }
    env = {**os.environ, "PYTHONPATH": str(project / "src"), "COLUMNS": "200", "NO_COLOR": "1"}
    run = {"cwd": project, "env": env, "capture_output": True, "text": True, "timeout": 300}
    write_rows([row], project / "data" / "generations.parquet")
    result = subprocess.run([sys.executable, "-m", "kto", "check"], **run)
    assert result.returncode == 0, result.stderr
    findings = {
        line.split("│")[1].strip(): line.split("│")[2].strip()
        for line in result.stdout.splitlines()
        if line.count("│") == 4
    }
    assert findings["team/english"] == "language (drop): en, nl expected"
    assert findings["team/empty"] == "empty (drop): no text"
    assert findings["team/prose"] == "form (flag): 1 line, 3 expected"
    assert findings["team/copy"] == "duplicate (flag): the same as another model's answer"
    assert "team/dutch" in findings  # the copy's original is a duplicate too
