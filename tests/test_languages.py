"""The language files: complete, consistent with English, and rendered into working projects."""

import importlib.util
import os
import re
import string
import subprocess
import sys
import unicodedata

import pyarrow.parquet as pq
import pytest
import yaml
from conftest import TEMPLATE, bake
from kto import dataset_card
from kto.config import load_config
from kto.export import Policy, aggregate
from kto.prompts import load_prompts

from kto_jinja import load_language

LANGUAGES = TEMPLATE / "languages"
CODES = sorted(path.stem for path in LANGUAGES.glob("*.yaml"))
OTHER = "other"
REQUIRED = {"en", "es", "fr", "de", "it", "pt", "nl", "pl", "ru", "uk", "tr", "ar", "fa", "hi", "bn", "zh"}
REQUIRED |= {"ja", "ko", "vi", "th", "id", "sw", "he", "el", "cs", OTHER}
# The multi-line texts a language must write itself; a copy of the English one is a translation left undone.
PROSE = ["system_prompts.haiku", "system_prompts.generic", "annotation.guidelines", "judge", "card_paragraph"]
# Words that give away English left in a text marked reviewed.
ENGLISH_WORDS = {"the", "you", "your", "with", "write", "respond", "please", "should", "response", "thumbs"}
MODEL_ID = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")


def load(code: str) -> dict:
    return yaml.safe_load((LANGUAGES / f"{code}.yaml").read_text(encoding="utf-8"))


def texts(value, path: str = ""):
    """(dotted path, text) for every string in a language file, list items included."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from texts(item, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from texts(item, f"{path}[{index}]")
    elif isinstance(value, str):
        yield path, value


def shape(value):
    """The keys of a language file, with lists reduced to the shape of their items."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value and isinstance(value[0], dict) else list
    return type(value)


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def dig(data: dict, dotted: str) -> str:
    for key in dotted.split("."):
        data = data[key]
    return data


ENGLISH = load("en")
ENGLISH_TEXTS = dict(texts(ENGLISH))


def test_the_required_languages_are_there():
    assert set(CODES) >= REQUIRED


@pytest.mark.parametrize("code", CODES)
def test_a_language_has_the_keys_and_placeholders_of_english(code):
    lang = load(code)
    assert shape(lang) == shape(ENGLISH)
    # other's English texts carry the language's name, typed by the team, as {language}.
    extra = {"language"} if code == OTHER else set()
    for path, text in texts(lang):
        if path in ENGLISH_TEXTS and not path.startswith(("models", "small_model", "starter_prompts")):
            english = placeholders(ENGLISH_TEXTS[path])
            assert placeholders(text) == english | (extra & placeholders(text)), path


@pytest.mark.parametrize("code", CODES)
def test_a_language_is_complete(code):
    lang = load(code)
    assert lang["code"] == code
    assert code == OTHER or re.fullmatch(r"[a-z]{2,3}", code)
    assert lang["direction"] in {"ltr", "rtl"} and isinstance(lang["reviewed"], bool)
    assert lang["source"].strip()
    assert all(text.strip() for _, text in texts(lang)), "an empty text"
    prompts = lang["starter_prompts"]
    assert len(prompts) == 20 and len({prompt.strip() for prompt in prompts}) == 20
    assert not any(placeholders(prompt) for prompt in prompts)
    picks = [*lang["models"], lang["small_model"]]
    assert len(lang["models"]) >= 3 and len({model["id"] for model in lang["models"]}) == len(lang["models"])
    assert all(MODEL_ID.fullmatch(model["id"]) and model["source"].strip() for model in picks)


@pytest.mark.parametrize("code", [code for code in CODES if code not in {"en", OTHER}])
def test_a_language_writes_its_own_texts(code):
    lang = load(code)
    for path in PROSE:
        assert dig(lang, path) != dig(ENGLISH, path), f"{path} is the English text"
    if lang["reviewed"]:
        for path, text in texts(lang):
            if not path.startswith(("models", "small_model", "source")):
                words = set(re.findall(r"[a-z]+", text.lower()))
                assert not words & ENGLISH_WORDS, f"English left in {path}: {words & ENGLISH_WORDS}"


@pytest.mark.parametrize("code", CODES)
def test_the_script_direction_matches_the_native_name(code):
    lang = load(code)
    right_to_left = any(unicodedata.bidirectional(char) in {"R", "AL"} for char in lang["native_name"])
    assert (lang["direction"] == "rtl") == right_to_left


def test_the_readme_table_matches_the_files():
    path = TEMPLATE / "scripts" / "update_readme_languages.py"
    spec = importlib.util.spec_from_file_location("update_readme_languages", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    readme = (TEMPLATE / "README.md").read_text(encoding="utf-8")
    assert module.readme_with_table(readme) == readme, "run python scripts/update_readme_languages.py"
    for code in CODES:
        assert f"| `{code}` |" in readme


def rated(prompt: str, completions: list[str]) -> list[dict]:
    """Two records on one prompt, one rated up and one down by two annotators."""
    return [
        {
            "id": str(index),
            "prompt": prompt,
            "completion": completion,
            "model": f"m{index}",
            "responses": [{"user": user, "value": value, "status": "submitted"} for user in ("a", "b")],
        }
        for index, (completion, value) in enumerate(zip(completions, ["up", "down"], strict=True))
    ]


@pytest.mark.parametrize("code", CODES)
def test_every_language_renders_a_project_in_its_language(tmp_path, code):
    answers = {"language_code": code} | ({"language_name": "Basque"} if code == OTHER else {})
    project = bake(tmp_path, **answers)
    config = load_config(project / "project.yaml")
    lang = load_language(code, "Basque")
    assert config.task.system_prompt == lang["system_prompts"]["haiku"]
    assert config.language.card_paragraph == lang["card_paragraph"]
    for key in ("guidelines", "question", "label_up", "label_down", "prompt_title", "response_title"):
        assert getattr(config.argilla, key) == lang["annotation"][key]
    assert load_prompts(config.prompts.source, config.prompts.column, config.root) == lang["starter_prompts"]

    rtl = config.language.direction == "rtl"
    assert config.language.markdown_block(config.argilla.guidelines).startswith('<div dir="rtl">') == rtl
    export = aggregate(rated(lang["starter_prompts"][0], ["a", "b"]), Policy.parse("majority", 2))
    card = dataset_card.build(config, export, Policy.parse("majority", 2), annotators=2)
    assert card.data.language == (None if code == OTHER else [code])
    text = str(card)
    assert lang["card_paragraph"] in text
    assert text.count('<div dir="rtl">') == (3 if rtl else 0)  # card paragraph, system prompt, guidelines

    if code == OTHER:
        readme = (project / "README.md").read_text(encoding="utf-8")
        assert "## Translate first" in readme and "Basque" in readme
        assert "TO TRANSLATE into Basque" in (project / "project.yaml").read_text(encoding="utf-8")
        assert "in Basque" in config.task.system_prompt and "{language}" not in text


def test_other_written_right_to_left_marks_the_card_and_guidelines(tmp_path):
    project = bake(tmp_path, language_code=OTHER, language_name="Urdu", language_direction="rtl")
    config = load_config(project / "project.yaml")
    assert config.language.direction == "rtl"
    assert config.language.markdown_block(config.argilla.guidelines).startswith('<div dir="rtl">')
    lang = load_language(OTHER, "Urdu", "rtl")
    export = aggregate(rated(lang["starter_prompts"][0], ["a", "b"]), Policy.parse("majority", 2))
    card = str(dataset_card.build(config, export, Policy.parse("majority", 2), annotators=2))
    assert card.count('<div dir="rtl">') == 3  # card paragraph, system prompt, guidelines


@pytest.mark.slow
def test_generate_runs_offline_in_a_right_to_left_script(tmp_path):
    """kto generate --local --limit 2, end to end, on the Arabic project as rendered."""
    project = bake(tmp_path, language_code="ar")
    env = {**os.environ, "PYTHONPATH": str(project / "src"), "HF_HUB_OFFLINE": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "kto", "generate", "--local", "--limit", "2"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    rows = pq.read_table(project / "data" / "generations.parquet").to_pylist()
    lang = load("ar")
    assert [row["input"] for row in rows] == lang["starter_prompts"][:2]
    system_prompt = lang["system_prompts"]["haiku"]
    for row in rows:
        assert all(system_prompt in seen for seen in row["generation_prompt"])
        assert all(text and text.strip() for text in row["generations"])
