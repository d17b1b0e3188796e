"""Language ID on real text: each language file's starter prompts and haiku system prompt are
identified as that language by the detector kto's language gate uses (kto.checks)."""

import pytest
from kto import checks

from local_extensions import load_language, supported_language_codes

CODES = [code for code in supported_language_codes() if code != "other"]
# Every language kto-template ships is a language lingua knows: each one is checked, none skipped.
REQUIRED_ACCURACY = 0.9


def test_the_detector_chooses_among_the_languages_the_template_ships():
    assert sorted(checks.SHIPPED_LANGUAGES) == CODES
    assert all(checks.lingua_language(code) for code in CODES)


@pytest.mark.parametrize("code", CODES)
def test_starter_prompts_and_system_prompt_are_identified(code):
    language = load_language(code)
    texts = [*language["starter_prompts"], language["system_prompts"]["haiku"]]
    assert len(texts) >= 21, f"{code}: {len(texts) - 1} starter prompts"
    found = [checks.detect_language(text, code) for text in texts]
    accepted = {code, *checks.SAME_LANGUAGE.get(code, ())}
    wrong = [(text, got) for text, got in zip(texts, found, strict=True) if got not in accepted]
    accuracy = 1 - len(wrong) / len(texts)
    print(f"{code}: {accuracy:.0%} of {len(texts)} identified")  # the per-language report (pytest -s)
    assert accuracy >= REQUIRED_ACCURACY, wrong
    assert found[-1] in accepted, "the haiku system prompt"
