"""The quality gates (kto.gates) on real text, and kto check on a generations file."""

import pytest
from helpers import (
    DUTCH_HAIKU,
    DUTCH_PROMPT,
    DUTCH_PROSE,
    DUTCH_SYSTEM,
    ENGLISH_HAIKU,
    edit_config,
    write_dutch_generations,
)

from kto.checks import check_file
from kto.config import load_config
from kto.errors import KtoError
from kto.gates import CHECKS, Gates, check_response, haiku_form
from kto.local_model import MODEL_NAME

DEFAULT_GATES = {"empty": "drop", "language": "drop", "echo": "drop", "form": "flag", "length": "flag"}


def gates(expected="nl", **actions) -> Gates:
    return Gates(DEFAULT_GATES | {"duplicate": "flag"} | actions, 300, expected, True, DUTCH_SYSTEM)


def verdict(text, expected="nl", others=(), model="team/a", prompt=DUTCH_PROMPT, **actions):
    return check_response(prompt, model, text, others, gates(expected, **actions))


def test_a_dutch_haiku_passes_with_its_syllables_estimated():
    passed = verdict(DUTCH_HAIKU)
    assert passed.findings == {} and passed.dropped_by == () and passed.flags == ()
    assert (passed.language, passed.lines, passed.syllables) == ("nl", 3, "5-7-5")
    assert passed.metadata() == {"detected_language": "nl", "lines": 3, "syllables": "5-7-5"}


def test_an_english_haiku_in_a_dutch_project_is_dropped():
    english = verdict(ENGLISH_HAIKU)
    assert english.language == "en" and english.dropped_by == ("language",)
    assert english.findings == {"language": "en, nl expected"}


def test_prose_is_flagged_and_kept():
    prose = verdict(DUTCH_PROSE)
    assert prose.findings == {"form": "1 line, 3 expected"}
    assert prose.flags == ("form",) and prose.dropped_by == ()
    assert prose.metadata()["flags"] == ["form"] and "syllables" not in prose.metadata()
    three_paragraphs = verdict("\n".join([DUTCH_PROSE] * 3))
    assert three_paragraphs.findings["form"].startswith("a line of ")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("古池や 蛙飛び込む 水の音", None),  # one line in three parts
        ("古池や\n蛙飛び込む\n水の音", None),
        ("古池や蛙飛び込む水の音", None),  # unbroken, as the tradition prints it
        (
            "古い池に蛙が飛び込んで、水の音がしました。静かな夏の午後のことでした。",
            "one line of 35 characters",
        ),
        ("古池や 蛙飛び込む", "one line in 2 parts, 3 expected"),
    ],
)
def test_japanese_haiku_are_one_line_or_three(text, problem):
    assert haiku_form(text, "ja") == (problem, None)  # no syllable estimate for Japanese


def test_chinese_haiku_count_one_syllable_per_character():
    assert haiku_form("白云飘天际\n秋风吹过旧山林\n雁声落水边", "zh") == (None, "5-7-5")
    assert haiku_form("白云飘天际 秋风吹过旧山林 雁声落水边", "zh") == (None, "5-7-5")
    chinese = verdict("白云飘天际\n秋风吹过旧山林\n雁声落水边", expected="zh", prompt="写一首俳句")
    assert chinese.findings == {}


def test_languages_without_a_sound_estimate_get_none():
    assert haiku_form(ENGLISH_HAIKU, "en") == (None, None)  # hyphenation leaves syllables unsplit
    assert haiku_form("ทะเลสีคราม\nคลื่นซัดฝั่งทรายขาว\nนกนางนวลร้อง", "th") == (None, None)


def test_a_mixed_script_response_is_handled():
    mixed = verdict("古池や the old pond\n蛙飛び込む a frog jumps\n水の音 the sound of water", expected="ja")
    assert mixed.language in {"ja", "en"} and mixed.lines == 3
    with_a_word = verdict("古池や Basho\n蛙飛び込む\n水の音", expected="ja", prompt="俳句を書いて")
    assert with_a_word.language == "ja" and with_a_word.findings == {}


def test_echo_empty_length_and_duplicates():
    assert verdict(f"{DUTCH_PROMPT}\n{DUTCH_HAIKU}").dropped_by == ("echo",)
    repeats_system = verdict(f"Je bent een dichter die gespecialiseerd is in haiku.\n{DUTCH_HAIKU}")
    assert repeats_system.findings["echo"] == "repeats the system prompt"
    assert "echo" not in verdict(f"De zee\n{DUTCH_HAIKU}", prompt="De zee").findings  # a short prompt
    assert verdict("  \n").dropped_by == ("empty",) and verdict(None).findings == {"empty": "no text"}
    long = verdict("\n".join(["Golven rollen aan " * 6] * 3))
    assert long.findings["length"] == f"{len(long.text)} characters, limit 300" and "length" in long.flags
    same = "golven rollen aan,\nZilver licht op natte zand!\nmeeuwen roepen luid"
    twin = verdict(DUTCH_HAIKU, others=[None, same])
    assert twin.flags == ("duplicate",)


def test_off_finds_nothing_and_flag_logs():
    assert verdict(ENGLISH_HAIKU, language="off").findings == {}
    # The form follows the project's language even with its gate off.
    assert verdict("古池や 蛙飛び込む 水の音", expected="ja", language="off", prompt="俳句").findings == {}
    assert verdict(ENGLISH_HAIKU, expected=None).language is None  # no language to expect: skipped
    flagged = verdict(ENGLISH_HAIKU, language="flag")
    assert flagged.flags == ("language",) and flagged.dropped_by == ()


def test_the_embedded_models_answers_are_flagged_never_dropped():
    local = f"{MODEL_NAME}-local-t0.5"
    english = verdict(ENGLISH_HAIKU, model=local)
    assert english.dropped_by == () and english.flags == ("language",)
    assert verdict("", model=local).dropped_by == ("empty",)  # nothing to rate


def test_gates_come_from_project_yaml(project):
    edit_config(project, lambda config: config["checks"].update(expected_language="nl", echo="off"))
    loaded = Gates.from_config(load_config(project / "project.yaml"))
    assert loaded.language == "nl" and loaded.actions["echo"] == "off"
    edit_config(project, lambda config: config["checks"].update(expected_language=None))
    edit_config(project, lambda config: config["language"].update(code="other"))
    assert Gates.from_config(load_config(project / "project.yaml")).language is None  # skipped
    edit_config(project, lambda config: config["checks"].update(expected_language="xx"))
    with pytest.raises(KtoError, match=r"checks\.expected_language"):
        Gates.from_config(load_config(project / "project.yaml"))


def test_a_gate_of_no_check_is_refused_and_a_check_project_yaml_does_not_name_flags(project):
    edit_config(project, lambda config: config["checks"].update(lenght="off"))
    with pytest.raises(KtoError) as error:
        Gates.from_config(load_config(project / "project.yaml"))
    assert str(error.value) == f"checks.lenght: no such check; the checks are {', '.join(CHECKS)}"
    edit_config(project, lambda config: config["checks"].update(lenght="maybe"))
    with pytest.raises(KtoError, match=r"checks\.lenght: 'maybe' is not one of drop, flag, off"):
        load_config(project / "project.yaml")
    edit_config(project, lambda config: [config["checks"].pop(name) for name in ("lenght", "duplicate")])
    assert Gates.from_config(load_config(project / "project.yaml")).actions["duplicate"] == "flag"


def test_kto_check_names_each_finding_per_model(project):
    """What kto check tabulates, from its report (the template's test_checks reads the table)."""
    edit_config(project, lambda config: config["checks"].update(expected_language="nl"))
    edit_config(project, lambda config: config["task"].update(name="haiku", system_prompt=DUTCH_SYSTEM))
    path = write_dutch_generations(project)
    report = check_file(load_config(project / "project.yaml"), path)
    counts = list(report.per_model.values())
    assert list(report.per_model) == [f"team/m{n}" for n in range(5)]
    assert [tally.responses for tally in counts] == [1, 1, 1, 1, 1]
    found = {
        name: [tally.checks[name] for tally in counts] for name in ("language", "empty", "form", "duplicate")
    }
    assert found == {
        "language": [0, 1, 0, 0, 0],
        "empty": [0, 0, 1, 0, 0],
        "form": [0, 0, 0, 1, 0],
        "duplicate": [1, 0, 0, 0, 1],
    }
    assert [report.gates.actions[name] for name in found] == ["drop", "drop", "flag", "flag"]
    assert [tally.dropped for tally in counts] == [0, 1, 1, 0, 0]
    verdicts = {verdict.model: verdict for verdict in report.verdicts}
    first = {
        model: next(iter(verdicts[model].findings.items())) for model in ("team/m1", "team/m2", "team/m3")
    }
    assert first == {
        "team/m1": ("language", "en, nl expected"),
        "team/m2": ("empty", "no text"),
        "team/m3": ("form", "1 line, 3 expected"),
    }
    assert "language" in verdicts["team/m1"].dropped_by and "form" in verdicts["team/m3"].flags
