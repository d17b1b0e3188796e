"""Gold records from the file: what it takes, how they mix among the others, and the starter file."""

import json
from itertools import pairwise

import pytest
from helpers import PROJECT

from kto import gold
from kto.config import load_config
from kto.errors import KtoError
from kto.gates import Gates
from kto.prompts import load_prompts


def test_the_starter_gold_loads_and_answers_the_starter_prompts():
    config = load_config(PROJECT / "project.yaml")
    known = gold.load(config.path(config.quality.gold))
    if config.task.name != "haiku":
        assert known == []
        return
    prompts = load_prompts(config.prompts.source, config.prompts.column, config.root)
    assert len(known) >= config.quality.min_gold and {item.prompt for item in known} <= set(prompts)
    assert any(not item.label for item in known)
    # Good gold only where the maintainers can vouch for it: English.
    assert any(item.label for item in known) == (config.language.code == "en")


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("{not json", "is not JSON"),
        ('{"prompt": "p", "response": "r", "label": "yes"}', "label"),
        ('{"prompt": "p", "label": true}', "label"),
        ('["p", "r", true]', "label"),
    ],
)
def test_a_bad_gold_line_is_one_error_naming_the_line(tmp_path, line, problem):
    path = tmp_path / "gold.jsonl"
    path.write_text('{"prompt": "p", "response": "r", "label": true}\n\n' + line + "\n", encoding="utf-8")
    with pytest.raises(KtoError) as error:
        gold.load(path)
    assert (
        error.value.field == "quality.gold" and "line 3" in str(error.value) and problem in str(error.value)
    )


def test_no_gold_file_is_no_gold(tmp_path):
    assert gold.load(tmp_path / "missing.jsonl") == []


@pytest.mark.parametrize(("records", "golden"), [(0, 2), (1, 1), (19, 1), (40, 3), (7, 7)])
def test_gold_records_spread_evenly_and_the_order_never_changes(records, golden):
    ordinary = [{"id": f"r{n}"} for n in range(records)]
    known = [{"id": f"g{n}"} for n in range(golden)]
    mixed = gold.mixed(ordinary, known)
    assert mixed == gold.mixed(ordinary, known)
    assert [r for r in mixed if r["id"].startswith("r")] == ordinary
    assert [r for r in mixed if r["id"].startswith("g")] == known
    places = [index for index, record in enumerate(mixed) if record["id"].startswith("g")]
    if records >= golden:  # never two gold records side by side
        assert all(b - a >= 2 for a, b in pairwise(places))


def test_a_gold_record_a_gate_would_drop_shows_what_a_kept_record_shows():
    """An English answer in a Dutch project would be dropped: gold keeps it, with the metadata of
    a Dutch answer, and its label hidden in the gold property alone."""
    gates = Gates(
        {
            **dict.fromkeys(("empty", "language", "echo"), "drop"),
            "form": "flag",
            "length": "flag",
            "duplicate": "flag",
        },
        300,
        "nl",
        True,
        "",
    )
    english = gold.GoldRecord(
        "Schrijf een haiku over de zee.", "The sea is grey and cold today, and it keeps on rolling.", False
    )
    from kto.gates import check_rows

    verdicts = check_rows(gold.generation_rows([english]), gates)
    (record,) = gold.records([english], "nl", verdicts, gates)
    assert record["metadata"]["detected_language"] == "nl" and record["metadata"]["gold"] == "down"
    assert record["metadata"]["model"] == gold.GOLD and "language" not in record["metadata"].get("flags", [])
    assert json.dumps(record["fields"]) == json.dumps(
        {"prompt": english.prompt, "completion": english.response}
    )


def test_a_backup_from_before_the_gold_property_still_matches_the_settings():
    """kto restore checks a backup's settings: the hidden gold property, new since, is no
    mismatch (the dataset gains it); a property gone or shown to annotators is."""
    from kto.argilla_settings import differences

    now = {"metadata": [["gold", False], ["language", True], ["model", False]], "fields": [["prompt", True]]}
    assert differences({**now, "metadata": [["language", True], ["model", False]]}, now) == []
    assert differences({**now, "metadata": [["language", True], ["model", True]]}, now) == ["metadata"]
    assert differences({**now, "metadata": [["model", False], ["topic", True]]}, now) == ["metadata"]
    assert differences({**now, "fields": [["prompt", False]]}, now) == ["fields"]
