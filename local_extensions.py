"""Jinja extension that lets templates read the language data in ``languages/``.

Cookiecutter puts the template folder on ``sys.path`` while it renders, so this
module is found as ``local_extensions`` (see ``_extensions`` in cookiecutter.json).
"""

import json
from functools import cache
from pathlib import Path

import yaml
from jinja2.ext import Extension

LANGUAGES_DIR = Path(__file__).parent / "languages"
# The file of English texts for a language that has no file yet; "{language}" in it stands for
# the name the team typed.
OTHER = "other"


@cache
def load_language(code: str, name: str = "") -> dict:
    """The language file for ``code``; unknown codes are reported by the pre-gen hook."""
    path = LANGUAGES_DIR / f"{code}.yaml"
    if not path.is_file():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return _named(data, name) if code == OTHER else data


def _named(value, name: str):
    if isinstance(value, str):
        return value.replace("{language}", name)
    if isinstance(value, list):
        return [_named(item, name) for item in value]
    if isinstance(value, dict):
        return {key: _named(item, name) for key, item in value.items()}
    return value


def supported_language_codes() -> list[str]:
    return sorted(path.stem for path in LANGUAGES_DIR.glob("*.yaml"))


def quoted(value) -> str:
    """A double-quoted string valid in YAML, TOML and Python, keeping non-ASCII text readable.

    Jinja's ``tojson`` escapes non-ASCII characters, which is wrong in prose.
    """
    return json.dumps(value, ensure_ascii=False)


def yaml_text(value, indent: int = 4) -> str:
    """Multi-line text as a YAML block scalar (easy to edit); anything else quoted."""
    text = str(value)
    if "\n" not in text or text != text.strip() or "\t" in text or "\r" in text:
        return quoted(text)
    pad = " " * indent
    return "|-\n" + "\n".join(pad + line if line else "" for line in text.splitlines())


def picked_models(answer: str, lang: dict) -> list[str]:
    """The generating models: the ids the team typed (comma-separated), else the language's first three."""
    return [part.strip() for part in answer.split(",") if part.strip()] or [
        model["id"] for model in lang["models"][:3]
    ]


def space_url(namespace: str, dataset: str) -> str:
    """The public page of the annotation Space ``kto space create`` makes (config.space_url)."""
    return f"https://huggingface.co/spaces/{namespace}/{dataset}-argilla"


def public_answers(context) -> str:
    """The answers given to the questions, as JSON, without cookiecutter's private keys
    (``_output_dir`` and friends hold paths of the machine that rendered the project)."""
    answers = {key: value for key, value in context.items() if not key.startswith("_")}
    return json.dumps(answers, ensure_ascii=False, indent=2, sort_keys=True)


class LanguageExtension(Extension):
    def __init__(self, environment):
        super().__init__(environment)
        environment.globals["language"] = load_language
        environment.globals["supported_language_codes"] = supported_language_codes
        environment.globals["picked_models"] = picked_models
        environment.globals["space_url"] = space_url
        environment.filters["quoted"] = quoted
        environment.filters["yaml_text"] = yaml_text
        environment.filters["public_answers"] = public_answers
