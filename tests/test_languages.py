"""The language files: complete, consistent with English, and rendered into working projects."""

import importlib.util
import json
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
from kto.language_export import leaves
from kto.prompt_gates import PromptGates, find_problems
from kto.prompts import load_prompts
from kto.topic_glosses import glosses

from kto_jinja import load_language

LANGUAGES = TEMPLATE / "languages"
CODES = sorted(path.stem for path in LANGUAGES.glob("*.yaml"))
OTHER = "other"
REQUIRED = {"en", "es", "fr", "de", "it", "pt", "nl", "pl", "ru", "uk", "tr", "ar", "fa", "hi", "bn", "zh"}
REQUIRED |= {"ja", "ko", "vi", "th", "id", "sw", "he", "el", "cs", OTHER}
# The multi-line texts a language must write itself; a copy of the English one is a translation left undone.
PROSE = ["system_prompts.haiku", "system_prompts.generic", "annotation.guidelines", "judge", "prompt_writer"]
PROSE += ["card_paragraph"]
# Words that give away English left in a text marked reviewed.
ENGLISH_WORDS = {"the", "you", "your", "with", "write", "respond", "please", "should", "response", "thumbs"}
# Argilla's buttons as the annotator sees them (its UI is in English unless a user picks de, es or ja).
BUTTONS = {"guidelines": ["Submit", "Discard"], "draft": ["Save as draft", "Submit"]}
# Argilla's button names and {placeholders}: English in every file, not a translation left undone.
NOT_PROSE = re.compile(r"Sign in with Hugging Face|Save as draft|Submit|Discard|\{\w+\}")
MODEL_ID = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")


def load(code: str) -> dict:
    return yaml.safe_load((LANGUAGES / f"{code}.yaml").read_text(encoding="utf-8"))


def english_topics(code: str) -> list[str]:
    """A file's starter topics in English: the gloss ending each topic's line, else the topic
    itself (en's and other's topics are English)."""
    topics = load(code)["starter_topics"]
    found = glosses((LANGUAGES / f"{code}.yaml").read_text(encoding="utf-8"))
    return [gloss or topic for topic, gloss in zip(topics, found or [None] * len(topics), strict=True)]


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
ENGLISH_TEXTS = dict(leaves(ENGLISH))


def test_the_required_languages_are_there():
    assert set(CODES) >= REQUIRED


@pytest.mark.parametrize("code", CODES)
def test_a_language_has_the_keys_and_placeholders_of_english(code):
    lang = load(code)
    assert shape(lang) == shape(ENGLISH)
    # other's English texts carry the language's name, typed by the team, as {language}.
    extra = {"language"} if code == OTHER else set()
    for path, text in leaves(lang):
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
    # Every text is written, but for other's variant, which the team sets (no name is a BCP 47 tag).
    empty = [path for path, text in leaves(lang) if not text.strip()]
    assert empty == (["variant"] if code == OTHER else []), "an empty text"
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
        for path, text in leaves(lang):
            if not path.startswith(("models", "small_model", "source")):
                words = set(re.findall(r"[a-z]+", NOT_PROSE.sub("", text).lower()))
                assert not words & ENGLISH_WORDS, f"English left in {path}: {words & ENGLISH_WORDS}"


@pytest.mark.parametrize("code", [code for code in CODES if code != OTHER])
def test_the_starter_prompts_pass_the_prompt_gates(code):
    """What kto prompts check would list: none in the language (lingua), none a near repeat."""
    assert find_problems(load(code)["starter_prompts"], PromptGates(1, 300, code)) == []


# BCP 47 (RFC 5646) in its canonical case: language, then optional script, region and variants.
BCP47 = re.compile(r"[a-z]{2,3}(-[A-Z][a-z]{3})?(-([A-Z]{2}|[0-9]{3}))?(-([a-z0-9]{5,8}|[0-9][a-z0-9]{3}))*")
# Picks that cannot answer a short chat request: thinking-by-default ids (a <think> block eats the token
# budget; hybrid Qwen3 ids are those without "Instruct") and seq2seq models no chat endpoint serves.
THINKING = re.compile(r"Qwen/Qwen3-(?!.*Instruct).*|Qwen/QwQ-.*|deepseek-ai/DeepSeek-R1.*|.*Thinking.*", re.I)
SEQ2SEQ = re.compile(r"(CohereLabs|CohereForAI)/aya-101|google/(mt5|flan-t5|t5)-.*|bigscience/mt0-.*", re.I)
# Starter topics a file may share with en's before its list counts as en's outline.
MAX_SHARED_TOPICS = 5
LITTLE_WORDS = {"a", "an", "the", "of", "in", "on", "at", "by", "over", "into", "to", "and", "with", "s"}


@pytest.mark.parametrize("code", CODES)
def test_every_model_states_its_licence(code):
    lang = load(code)
    for model in [*lang["models"], lang["small_model"]]:
        assert isinstance(model.get("license"), str) and model["license"].strip(), model["id"]


@pytest.mark.parametrize("code", CODES)
def test_the_variant_is_a_bcp47_tag_of_the_code(code):
    variant = load(code)["variant"]
    if code == OTHER:
        assert variant == ""  # the team sets it with language.code: no name is a BCP 47 tag
    else:
        assert BCP47.fullmatch(variant), f"{variant!r} is not a BCP 47 tag"
        assert variant.split("-")[0] == code


THINKING_IDS = ["Qwen/Qwen3-235B-A22B", "Qwen/Qwen3-30B-A3B", "Qwen/Qwen3-32B", "Qwen/Qwen3-4B"]
THINKING_IDS += ["Qwen/Qwen3-235B-A22B-Thinking-2507", "Qwen/QwQ-32B", "deepseek-ai/DeepSeek-R1-0528"]
SEQ2SEQ_IDS = ["CohereLabs/aya-101", "google/mt5-xl", "google/flan-t5-large", "bigscience/mt0-xxl"]
CHAT_IDS = ["Qwen/Qwen3-235B-A22B-Instruct-2507", "Qwen/Qwen3-4B-Instruct-2507", "CohereLabs/aya-expanse-8b"]
CHAT_IDS += ["google/gemma-3-27b-it", "deepseek-ai/DeepSeek-V3-0324"]


def test_the_models_that_cannot_chat_are_recognised():
    assert all(THINKING.fullmatch(model) for model in THINKING_IDS)
    assert all(SEQ2SEQ.fullmatch(model) for model in SEQ2SEQ_IDS)
    assert not any(THINKING.fullmatch(model) or SEQ2SEQ.fullmatch(model) for model in CHAT_IDS)


@pytest.mark.parametrize("code", CODES)
def test_every_pick_answers_a_chat_request(code):
    lang = load(code)
    for model in [*lang["models"], lang["small_model"]]:
        assert not THINKING.fullmatch(model["id"]), f"{model['id']} thinks by default"
        assert not SEQ2SEQ.fullmatch(model["id"]), f"{model['id']} is a seq2seq model: no chat endpoint"


def mentions(text: str, label: str, other: str) -> bool:
    """Whether ``label`` occurs in ``text`` on its own, not only inside the other label (Thai ดี in ไม่ดี)."""
    return label in (text.replace(other, "") if label in other else text)


def test_a_label_inside_the_other_does_not_count():
    assert not mentions('Choose "ไม่ดี" when...', "ดี", "ไม่ดี")
    assert mentions('Choose "ดี" or "ไม่ดี"', "ดี", "ไม่ดี") and mentions("ดี, ไม่ดี", "ไม่ดี", "ดี")


@pytest.mark.parametrize("code", CODES)
def test_the_guidelines_name_the_labels_and_buttons_the_annotator_sees(code):
    lang = load(code)
    annotation = lang["annotation"]
    up, down, guidelines = annotation["label_up"], annotation["label_down"], annotation["guidelines"]
    assert up != down
    assert mentions(guidelines, up, down), f"the guidelines do not name {up!r}"
    assert mentions(guidelines, down, up), f"the guidelines do not name {down!r}"
    texts_by_key = {"guidelines": guidelines, "draft": lang["community"]["draft"]}
    for key, buttons in BUTTONS.items():
        for button in buttons:
            assert button in texts_by_key[key], f"{key} does not name Argilla's {button!r} button"


def topic_words(topic: str) -> frozenset[str]:
    """A topic's words without the little ones, plurals folded: "old dogs" and "an old dog" agree."""
    words = re.findall(r"[a-z]+", topic.lower())
    return frozenset(word.removesuffix("s") for word in words if word not in LITTLE_WORDS)


def same_topic(topic: str, english: str) -> bool:
    """The same words, or two words or more that make half of the shorter topic: "an old cat asleep in
    the sun" is en's "old dog in the sun", while "first monsoon rain" is not "first snow"."""
    ours, theirs = topic_words(topic), topic_words(english)
    common = len(ours & theirs)
    return ours == theirs or (common >= 2 and common * 2 >= min(len(ours), len(theirs)))


def test_topics_that_match_ens_are_recognised():
    assert same_topic("An old cat asleep in the sun", "old dog in the sun")
    assert same_topic("Last day of the summer holidays", "last day of the holidays")
    assert not same_topic("first monsoon rain", "first snow")


@pytest.mark.parametrize("code", [code for code in CODES if code not in {"en", OTHER}])
def test_the_topics_are_written_in_the_language_with_an_english_gloss(code):
    """The writer model reads a topic inside a request in the language; reviewers read its gloss."""
    text = (LANGUAGES / f"{code}.yaml").read_text(encoding="utf-8")
    topics, found = load(code)["starter_topics"], glosses(text)
    assert len(found) == len(topics) == 20 and len(set(topics)) == 20
    assert all(found), f"a topic without its English gloss (- topic  # gloss): line {found.index(None) + 1}"
    left = [topic for topic, gloss in zip(topics, found, strict=True) if topic.lower() == gloss.lower()]
    assert not left, f"topics left in English: {left}"


def test_a_gloss_is_read_from_the_end_of_its_line():
    items = '  - 田んぼ  # rice field\n  # a note\n  - "a # b"  # c  # d\n  - e\n'
    text = f"other: x\nstarter_topics:\n{items}next: 1\n"
    assert glosses(text) == ["rice field", "c  # d", None]
    assert glosses("starter_topics: []\n") == [] and glosses("code: en\n") == []


@pytest.mark.parametrize("code", [code for code in CODES if code not in {"en", OTHER}])
def test_the_starter_prompts_do_not_follow_ens_outline(code):
    topics = english_topics(code)
    english = ENGLISH["starter_topics"]
    assert len(topics) == len(load(code)["starter_prompts"]) == 20
    assert len({topic_words(topic) for topic in topics}) == 20, "two topics are the same"
    shared = {i: theirs for i, topic in enumerate(topics) for theirs in english if same_topic(topic, theirs)}
    assert len(shared) <= MAX_SHARED_TOPICS, f"{len(shared)} topics are en's: {sorted(shared.values())}"
    # A mirrored list keeps en's order: a shared topic may not sit where it sits in en's list.
    in_place = [topic for index, topic in shared.items() if english.index(topic) == index]
    assert not in_place, f"en's topics at en's positions: {in_place}"


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


# An 'other' language as a team answers for it: its English name, its ISO 639 code, its own name.
BASQUE = {"language_name": "Basque", "language_iso_code": "eu", "language_native_name": "Euskara"}


@pytest.mark.parametrize("code", CODES)
def test_every_language_renders_a_project_in_its_language(tmp_path, code):
    answers = {"language_code": code} | (BASQUE if code == OTHER else {})
    project = bake(tmp_path, **answers)
    config = load_config(project / "project.yaml")
    lang = load_language(code, "Basque", "ltr", "eu", "Euskara")
    assert config.task.system_prompt == lang["system_prompts"]["haiku"]
    assert config.language.card_paragraph == lang["card_paragraph"]
    for key in ("guidelines", "question", "label_up", "label_down", "prompt_title", "response_title"):
        assert getattr(config.argilla, key) == lang["annotation"][key]
    assert load_prompts(config.prompts.source, config.prompts.column, config.root) == lang["starter_prompts"]
    # The topics in the language, each with its English gloss (other's: a mark to translate it).
    assert config.language.starter_topics == lang["starter_topics"]
    rendered = glosses((project / "project.yaml").read_text(encoding="utf-8"))
    in_file = glosses((LANGUAGES / f"{code}.yaml").read_text(encoding="utf-8")) or [None] * 20
    marked = [f"{topic}  TO TRANSLATE into Basque" for topic in lang["starter_topics"]]
    assert rendered == (marked if code == OTHER else in_file)

    rtl = config.language.direction == "rtl"
    assert config.language.markdown_block(config.argilla.guidelines).startswith('<div dir="rtl">') == rtl
    export = aggregate(rated(lang["starter_prompts"][0], ["a", "b"]), Policy.parse("majority", 2))
    card = dataset_card.build(config, export, Policy.parse("majority", 2), export.statistics)
    assert card.data.language == ["eu" if code == OTHER else code]
    text = str(card)
    assert lang["card_paragraph"] in text
    assert text.count('<div dir="rtl">') == (3 if rtl else 0)  # card paragraph, system prompt, guidelines

    # The volunteers' guide: the labels exactly as project.yaml has them, in the language's direction.
    assert {key: getattr(config.community, key) for key in lang["community"]} == lang["community"]
    guide = (project / "docs" / "volunteer-guide.md").read_text(encoding="utf-8")
    assert f"👍 **{config.argilla.label_up}** · 👎 **{config.argilla.label_down}**" in guide
    assert config.community.sign_in.replace("{space_url}", config.space_url) in guide
    assert ('<div dir="rtl">' in guide) == rtl
    assert ("TO TRANSLATE into Basque" in guide) == (code == OTHER)

    readme = (project / "README.md").read_text(encoding="utf-8")
    assert (f"its texts are written in `{lang['variant']}`" in readme) == (code != OTHER)
    if code == OTHER:
        assert "## Translate first" in readme and "Basque" in readme
        text_of_config = (project / "project.yaml").read_text(encoding="utf-8")
        assert "TO TRANSLATE into Basque" in text_of_config
        # The team's code and native name, and the code as the variant until the team narrows it.
        assert (config.language.code, config.language.native_name, config.language.variant) == (
            "eu",
            "Euskara",
            "eu",
        )
        assert "in Basque" in config.task.system_prompt and "{language}" not in text


def test_an_other_project_is_named_by_its_code_never_other(tmp_path):
    """The folder, the title, the Hub dataset and the Space carry the team's code."""
    project = bake(tmp_path, language_code=OTHER, **BASQUE)
    config = load_config(project / "project.yaml")
    names = [project.name, config.hub.export_repo, config.argilla.dataset, config.space_url]
    names.append((project / "project.yaml").read_text(encoding="utf-8").splitlines()[0])
    assert names[0] == "haiku-kto-eu" and all("eu" in name and "other" not in name for name in names), names
    answers = json.loads((project / ".cookiecutter.json").read_text(encoding="utf-8"))
    assert answers["project_name"] == "Haiku KTO (eu)"


def test_other_written_right_to_left_marks_the_card_and_guidelines(tmp_path):
    urdu = {"language_name": "Urdu", "language_iso_code": "ur", "language_native_name": "اردو"}
    project = bake(tmp_path, language_code=OTHER, language_direction="rtl", **urdu)
    config = load_config(project / "project.yaml")
    assert config.language.direction == "rtl"
    assert config.language.markdown_block(config.argilla.guidelines).startswith('<div dir="rtl">')
    lang = load_language(OTHER, "Urdu", "rtl")
    export = aggregate(rated(lang["starter_prompts"][0], ["a", "b"]), Policy.parse("majority", 2))
    card = str(dataset_card.build(config, export, Policy.parse("majority", 2), export.statistics))
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
    rows = pq.read_table(project / "data" / "dry-run" / "generations.parquet").to_pylist()
    lang = load("ar")
    assert [row["input"] for row in rows] == lang["starter_prompts"][:2]
    system_prompt = lang["system_prompts"]["haiku"]
    for row in rows:
        assert all(system_prompt in seen for seen in row["generation_prompt"])
        assert all(text and text.strip() for text in row["generations"])
