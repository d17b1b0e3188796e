"""``kto language export``: the project's texts as a ``languages/<code>.yaml`` for kto-template.

A team that rendered ``other`` and translated its texts gives them back this way: the file has
exactly the keys of the template's language files, the project's ``language.reviewed`` (a team
that reviewed its texts says so there) and a ``source``: the language file's own, which the
project carries, followed by where this export came from.
"""

import json
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import yaml

from kto.config import CONFIG_FILE, ProjectConfig
from kto.errors import KtoError
from kto.prompts import load_prompts
from kto.template_version import template_version
from kto.topic_glosses import TOPICS_KEY, glosses, topic_lines

# The mark an 'other' project carries on the line of each English placeholder: in project.yaml,
# prompts/starter.jsonl and the gold records.
PLACEHOLDER_MARK = "TO TRANSLATE"
OTHER = "other"
STARTER_PROMPTS = "prompts/starter.jsonl"
# The English texts an 'other' project started from, as kto-template rendered them, in the keys of
# a language file: a text still equal to one of them was not translated.
ENGLISH_PLACEHOLDERS = ".kto/english-placeholders.json"
# The language file's keys that hold texts to translate, and where the project keeps each.
PLACES = {
    "system_prompts.haiku": "task.system_prompt",
    "system_prompts.generic": "language.generic_prompt",
    "annotation": "argilla",
    "judge": "suggest.prompt",
    "prompt_writer": "prompts.writer_prompt",
    "card_paragraph": "language.card_paragraph",
    "community": "community",
    "starter_prompts": STARTER_PROMPTS,
    "starter_topics": "language.starter_topics",
}
HAIKU = "haiku"
# The primary subtag of a BCP 47 tag, then its script, region and variant subtags.
BCP47 = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})*")
HEADER = "# One file per language; read at render time by kto_jinja.py.\n"


@dataclass(frozen=True)
class LanguageExportReport:
    path: Path
    code: str
    prompts: int


class _Text(str):
    """A multi-line text, written as a YAML block scalar as in the template's files."""


def _block(dumper: yaml.SafeDumper, text: _Text) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", str(text), style="|")


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(_Text, _block)


def _text(value: str) -> str:
    return _Text(value) if "\n" in value else value


def marks(config: ProjectConfig) -> list[tuple[str, int]]:
    """(file, line number) of each mark left on a text to translate."""
    found = []
    for relative in (CONFIG_FILE, STARTER_PROMPTS, config.quality.gold):
        path = config.path(relative)
        if path.is_file():
            lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
            found += [(relative, number) for number, line in enumerate(lines, 1) if PLACEHOLDER_MARK in line]
    return found


def refusal(config: ProjectConfig) -> KtoError | None:
    """Why the project's texts cannot be exported yet, as one error; None when they can."""
    marked = marks(config)
    if marked:
        where, line = marked[0]
        return KtoError(
            where,
            f"line {line} still marks a text {PLACEHOLDER_MARK} ({len(marked)} marks in all): "
            "translate each text, then delete its mark",
        )
    language = config.language
    if language.code == OTHER or not re.fullmatch(r"[a-z]{2,3}", language.code):
        return KtoError(
            "language.code", f"{language.code!r}: set it to your language's ISO 639 code (e.g. eu)"
        )
    if not language.variant:
        return KtoError("language.variant", f"empty: set your texts' BCP 47 tag, e.g. {language.code}")
    if not BCP47.fullmatch(language.variant):
        return KtoError("language.variant", f"{language.variant!r}: set a BCP 47 tag, e.g. {language.code}")
    if language.variant.split("-")[0] != language.code:
        return KtoError("language.variant", f"{language.variant!r} is not a tag of {language.code!r}")
    if config.task.name != HAIKU:
        return KtoError("task.name", f"the template's starter prompts are for the {HAIKU} task, not this one")
    for key in ("generic_prompt", "small_model"):
        if getattr(language, key) is None:
            return KtoError(
                f"language.{key}", "missing: cruft update brings it, or copy it from the template"
            )
    if config.prompts.writer_prompt is None:
        return KtoError(
            "prompts.writer_prompt", "missing: cruft update brings it, or copy it from the template"
        )
    if not language.models:
        return KtoError("language.models", "list the open models that handle the language")
    return None


def leaves(value, path: str = ""):
    """(key, text) for each text of language file data (``annotation.question``, ``starter_prompts[3]``)."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from leaves(item, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from leaves(item, f"{path}[{index}]")
    elif isinstance(value, str):
        yield path, value


def _place(key: str) -> str:
    """Where the project keeps a language file's text (``argilla.question``, ``... starter.jsonl line 4``)."""
    for prefix, place in PLACES.items():
        if key == prefix or key.startswith((f"{prefix}.", f"{prefix}[")):
            rest = key[len(prefix) :]
            return f"{place} line {int(rest[1:-1]) + 1}" if place == STARTER_PROMPTS else place + rest
    return key


def untranslated(config: ProjectConfig, data: dict) -> list[str]:
    """Where the texts to translate are still one of the English placeholders the project started
    from. A single word may be the same in both languages ("Prompt"), so only longer texts count."""
    path = config.path(ENGLISH_PLACEHOLDERS)
    if not path.is_file():
        return []
    english = {text.strip() for _, text in leaves(json.loads(path.read_text(encoding="utf-8")))}
    texts = leaves({key: data[key] for key in dict.fromkeys(place.split(".")[0] for place in PLACES)})
    return [_place(key) for key, text in texts if len(text.split()) > 1 and text.strip() in english]


def language_file(config: ProjectConfig, source: str) -> dict:
    """The template's schema (its languages/en.yaml), filled from the project."""
    language = config.language
    starter = config.path(STARTER_PROMPTS)
    prompts = load_prompts(str(starter), "prompt", config.root)
    topics = language.starter_topics
    if len(topics) != len(prompts):
        raise KtoError(
            "language.starter_topics",
            f"{len(topics)} topics for {len(prompts)} prompts in {STARTER_PROMPTS}: one for each prompt",
        )
    argilla = config.argilla
    return {
        "code": language.code,
        "name": language.name,
        "native_name": language.native_name,
        "direction": language.direction,
        "variant": language.variant,
        "reviewed": language.reviewed,
        "source": source,
        "system_prompts": {
            "haiku": _text(config.task.system_prompt),
            "generic": _text(language.generic_prompt or ""),
        },
        "annotation": {
            "guidelines": _text(argilla.guidelines),
            **{
                key: getattr(argilla, key)
                for key in (
                    "question",
                    "label_up",
                    "label_down",
                    "prompt_title",
                    "response_title",
                    "comment_title",
                )
            },
        },
        "judge": _text(config.suggest.prompt),
        "prompt_writer": _text(config.prompts.writer_prompt or ""),
        "card_paragraph": _text(language.card_paragraph),
        # The volunteers' texts; the campaign's own settings (Space, Hall of Fame) stay behind.
        "community": config.community.model_dump(exclude={"space_url", "hall_of_fame", "hide"}),
        "models": [model.model_dump() for model in language.models],
        "small_model": language.small_model.model_dump() if language.small_model else None,
        "starter_prompts": prompts,
        "starter_topics": list(topics),
    }


def default_source(config: ProjectConfig) -> str:
    """The project's ``language.source`` (the template file's, for a language it had), then this
    export's origin."""
    version = template_version(config.root)
    template = f", rendered from kto-template {version.commit[:12]}" if version.commit else ""
    review = "" if config.language.reviewed else "; awaiting a native speaker's review"
    earlier = f"{config.language.source.strip()} " if config.language.source.strip() else ""
    return (
        f"{earlier}Exported by kto language export on {date.today().isoformat()} from the project "
        f"{config.hub.export_repo}{template}{review}."
    )


def _topics_block(config: ProjectConfig, topics: list[str]) -> str:
    """The ``starter_topics`` list, each topic with the English gloss its line has in project.yaml."""
    if not topics:
        return f"{TOPICS_KEY}: []\n"
    found = glosses((config.root / CONFIG_FILE).read_text(encoding="utf-8"))
    if len(found) != len(topics):  # a flow list ([...]) has no comments to keep
        found = [None] * len(topics)
    return f"{TOPICS_KEY}:\n{topic_lines(topics, found, indent=2)}\n"


def export_language(
    config: ProjectConfig, output_dir: Path | None = None, source: str | None = None
) -> LanguageExportReport:
    problem = refusal(config)
    if problem:
        raise problem
    data = language_file(config, source or default_source(config))
    english = untranslated(config, data)
    if english:
        more = f" and {len(english) - 5} more" if len(english) > 5 else ""
        raise KtoError(
            "language",
            f"{len(english)} texts are still the English placeholders ({', '.join(english[:5])}{more}): "
            f"write them in {config.language.name}",
        )
    folder = output_dir or config.path("languages")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{config.language.code}.yaml"
    # The topics come last, as in the template's files, written by hand to keep their glosses.
    topics = data.pop(TOPICS_KEY)
    text = yaml.dump(data, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=10_000)
    path.write_text(HEADER + text + _topics_block(config, topics), encoding="utf-8")
    return LanguageExportReport(path, config.language.code, len(data["starter_prompts"]))
