"""Jinja extension that lets templates read the language data in ``languages/``.

Cookiecutter puts the template folder on ``sys.path`` while it renders, so this module is found
by the name in ``_extensions`` (cookiecutter.json). ``cruft update`` renders the project's old
template version and the new one in one process, from one folder: a module Python has cached
would serve the old version's code and languages to the new one. So this module keeps no state,
and takes itself out of ``sys.modules`` once Jinja holds its class: each render imports the
version it renders. (Versions up to 2026-11 named it ``local_extensions`` and stay cached as such;
hence the new name.)
"""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import yaml
from jinja2 import pass_context
from jinja2.ext import Extension

LANGUAGES_DIR = Path(__file__).parent / "languages"
# The project's own code (plain Python, copied unrendered), of which this module uses one
# dependency-free module rather than keeping a second copy of it.
PROJECT_SOURCE = Path(__file__).parent / "{{cookiecutter.project_slug}}" / "src" / "kto"
# The file of English texts for a language that has no file yet; "{language}" in it stands for
# the name the team typed.
OTHER = "other"
# What an 'other' project's English placeholders are marked with; kto language export refuses a
# project that still has one (kto.language_export.PLACEHOLDER_MARK).
TRANSLATE_MARK = "TO TRANSLATE"


def load_language(
    code: str, name: str = "", direction: str = "ltr", iso_code: str = "", native_name: str = ""
) -> dict:
    """The language file for ``code``; unknown codes are reported by the pre-gen hook. For
    ``other``, the rest are the team's answers: its English texts name the language, and its code
    (also the variant until the team narrows it, e.g. to fy-NL) and native name are the typed ones."""
    path = LANGUAGES_DIR / f"{code}.yaml"
    if not path.is_file():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if code != OTHER:
        return data
    named = _named(data, name)
    return {
        **named,
        "direction": direction,
        "code": iso_code or named["code"],
        "native_name": native_name or named["native_name"],
        "variant": iso_code,
    }


@pass_context
def answered_language(context, code: str, name: str = "") -> dict:
    """``language(code, name)`` in templates: the writing direction, and an 'other' language's
    code and native name, come from the answers, so every text that reads them follows them."""
    answers = context["cookiecutter"]
    return load_language(
        code,
        name,
        answers.get("language_direction", "ltr"),
        answers.get("language_iso_code", ""),
        answers.get("language_native_name", ""),
    )


def _named(value, name: str):
    if isinstance(value, str):
        return value.replace("{language}", name)
    if isinstance(value, list):
        return [_named(item, name) for item in value]
    if isinstance(value, dict):
        return {key: _named(item, name) for key, item in value.items()}
    return value


def _project_module(name: str):
    spec = importlib.util.spec_from_file_location(f"kto_template_{name}", PROJECT_SOURCE / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def starter_topic_lines(code: str, name: str = "") -> str:
    """project.yaml's ``starter_topics`` items, each with its English gloss ending its line as in
    the language file. ``other``'s topics are English placeholders: each line's comment keeps the
    English words as the gloss and marks the topic for translation into ``name``."""
    topic_glosses = _project_module("topic_glosses")
    text = (LANGUAGES_DIR / f"{code}.yaml").read_text(encoding="utf-8")
    topics = yaml.safe_load(text)["starter_topics"]
    if code == OTHER:
        found = [f"{topic}  {TRANSLATE_MARK} into {name}" for topic in topics]
    else:
        found = topic_glosses.glosses(text) or [None] * len(topics)
    return topic_glosses.topic_lines(topics, found, indent=4)


def english_placeholders(name: str) -> str:
    """An 'other' project's English texts, as JSON in the keys of a language file: kto language
    export refuses a text still equal to one of them (kto.language_export.ENGLISH_PLACEHOLDERS)."""
    lang = load_language(OTHER, name)
    keys = ("system_prompts", "annotation", "judge", "prompt_writer", "card_paragraph", "community")
    keys += ("starter_prompts", "starter_topics")
    return json.dumps({key: lang[key] for key in keys}, ensure_ascii=False, indent=2)


def supported_language_codes() -> list[str]:
    return sorted(path.stem for path in LANGUAGES_DIR.glob("*.yaml"))


def quoted(value) -> str:
    """A double-quoted string valid in YAML, TOML and Python, keeping non-ASCII text readable.

    Jinja's ``tojson`` escapes non-ASCII characters, which is wrong in prose.
    """
    return json.dumps(value, ensure_ascii=False)


def yaml_text(value, indent: int = 4, mark: str = "") -> str:
    """Multi-line text as a YAML block scalar (easy to edit); anything else quoted. ``mark``, when
    given, ends the key's own line as a comment (an 'other' project's TO TRANSLATE)."""
    text = str(value)
    comment = f"  # {mark}" if mark else ""
    if "\n" not in text or text != text.strip() or "\t" in text or "\r" in text:
        return quoted(text) + comment
    pad = " " * indent
    return f"|-{comment}\n" + "\n".join(pad + line if line else "" for line in text.splitlines())


def picked_models(answer: str, lang: dict) -> list[str]:
    """The generating models: the ids the team typed (comma-separated), else the language's first three."""
    return [part.strip() for part in answer.split(",") if part.strip()] or [
        model["id"] for model in lang["models"][:3]
    ]


def space_url(namespace: str, dataset: str) -> str:
    """The public page of the annotation Space ``kto space create`` makes (config.space_url)."""
    return f"https://huggingface.co/spaces/{namespace}/{dataset}-argilla"


def template_commit(context) -> str:
    """The commit of the template being rendered: cruft's, else the HEAD of the folder cookiecutter
    renders from when that folder is a git checkout of its own (a clone); empty otherwise."""
    if context.get("_commit"):
        return context["_commit"]
    # A relative _repo_dir was relative to a working directory cookiecutter has left by now; this
    # module was imported from the folder being rendered (see the module's docstring).
    folder = Path(context.get("_repo_dir") or LANGUAGES_DIR.parent)
    if not folder.is_absolute():
        folder = LANGUAGES_DIR.parent
    try:
        found = subprocess.run(
            ["git", "rev-parse", "--show-toplevel", "HEAD"], cwd=folder, capture_output=True, text=True
        )
    except OSError:  # no git on this machine, or no such folder
        return ""
    lines = found.stdout.split()
    if found.returncode or Path(lines[0]).resolve() != folder.resolve():
        return ""
    return lines[1]


def public_answers(context) -> str:
    """The answers given to the questions, as JSON, without cookiecutter's private keys
    (``_output_dir`` and friends hold paths of the machine that rendered the project), and the
    template's commit as ``_commit`` (the key cruft uses) when known: ``kto --version`` and
    ``cruft link --checkout`` read it."""
    answers = {key: value for key, value in context.items() if not key.startswith("_")}
    commit = template_commit(context)
    if commit:
        answers["_commit"] = commit
    return json.dumps(answers, ensure_ascii=False, indent=2, sort_keys=True)


class LanguageExtension(Extension):
    def __init__(self, environment):
        super().__init__(environment)
        environment.globals["language"] = answered_language
        environment.globals["supported_language_codes"] = supported_language_codes
        environment.globals["starter_topic_lines"] = starter_topic_lines
        environment.globals["english_placeholders"] = english_placeholders
        environment.globals["picked_models"] = picked_models
        environment.globals["space_url"] = space_url
        environment.filters["quoted"] = quoted
        environment.filters["yaml_text"] = yaml_text
        environment.filters["public_answers"] = public_answers
        # The next render imports this module afresh, from the template folder it renders.
        sys.modules.pop(__name__, None)
