"""Validate every answer before cookiecutter writes anything.

Answers are read as JSON data, never pasted into code, so quotes or newlines in an
answer cannot break or inject into this hook. Every bad answer is reported as one
line, ``error: <field>: <problem>``; a non-zero exit makes cookiecutter remove the
half-made project. The answers are parsed only in ``main``: the template's tests import
this file as it is, unrendered, and call the checks (tests/test_hooks.py).
"""

import json
import re
import sys

ANSWERS_JSON = r"""{
    "language_code": {{ cookiecutter.language_code | tojson }},
    "language_name": {{ cookiecutter.language_name | tojson }},
    "language_iso_code": {{ cookiecutter.language_iso_code | tojson }},
    "language_native_name": {{ cookiecutter.language_native_name | tojson }},
    "language_direction": {{ cookiecutter.language_direction | tojson }},
    "task": {{ cookiecutter.task | tojson }},
    "task_description": {{ cookiecutter.task_description | tojson }},
    "project_name": {{ cookiecutter.project_name | tojson }},
    "project_slug": {{ cookiecutter.project_slug | tojson }},
    "hf_namespace": {{ cookiecutter.hf_namespace | tojson }},
    "dataset_name": {{ cookiecutter.dataset_name | tojson }},
    "model_preset": {{ cookiecutter.model_preset | tojson }},
    "models": {{ cookiecutter.models | tojson }},
    "min_submitted": {{ cookiecutter.min_submitted | tojson }}
}"""
SUPPORTED_LANGUAGES_JSON = r"""{{ supported_language_codes() | tojson }}"""

SLUG = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*")
# The Hub's rules for one part of a repo id (huggingface_hub.utils.validate_repo_id):
# letters, digits, '-', '_', '.'; no '--' or '..'; no '-' or '.' at either end; 96 at most.
HUB_NAME = re.compile(r"(?!.*(--|\.\.))[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,94}[A-Za-z0-9_])?")
HUB_NAME_RULE = (
    "letters, digits, '-', '_' and '.', no '--' or '..', not starting or ending with '-' or '.', "
    "at most 96 characters"
)
MAX_MIN_SUBMITTED = 50
OTHER_LANGUAGE = "other"
ISO_639 = re.compile(r"[a-z]{2,3}")
# English names that stand for several languages, each with its own code: the team picks one.
AMBIGUOUS_NAMES = {
    "frisian": {"fy": "West Frisian", "frr": "North Frisian", "stq": "Saterland Frisian"},
    "sami": {"se": "Northern Sami", "sma": "Southern Sami", "smj": "Lule Sami", "smn": "Inari Sami"},
    "sorbian": {"hsb": "Upper Sorbian", "dsb": "Lower Sorbian"},
    "kurdish": {"kmr": "Kurmanji", "ckb": "Central Kurdish (Sorani)", "sdh": "Southern Kurdish"},
    "norwegian": {"nb": "Bokmål", "nn": "Nynorsk"},
}
DIRECTIONS = ("ltr", "rtl")
# Answers that depend on others: defaults derived from them (cookiecutter.json), or judged against
# them. When a source answer is bad, reporting the dependent one too would only add noise, or name
# a field the user never typed.
DEPENDS_ON = {
    "language_name": ("language_code",),
    "language_iso_code": ("language_code",),
    "language_native_name": ("language_code",),
    "language_direction": ("language_code",),
    "project_name": ("task", "language_code", "language_iso_code"),
    "project_slug": ("project_name",),
    "dataset_name": ("task", "language_code", "language_iso_code"),
}


def one_line_text(value: str, max_length: int) -> str | None:
    if not value.strip():
        return "must not be empty"
    if "\n" in value or "\r" in value:
        return "must be a single line"
    if len(value) > max_length:
        return f"must be at most {max_length} characters (got {len(value)})"
    return None


def hub_name(value: str) -> str | None:
    return None if HUB_NAME.fullmatch(value) else f"{value!r} is not a valid Hub name: use {HUB_NAME_RULE}"


def model_ids(value: str, preset: str) -> str | None:
    ids = [part.strip() for part in value.split(",") if part.strip()]
    if ids and preset == "local":
        return (
            "the 'local' preset uses only the embedded tiny model: "
            "leave models empty or pick another model_preset"
        )
    for model_id in ids:
        parts = model_id.split("/")
        if len(parts) != 2 or not all(HUB_NAME.fullmatch(part) for part in parts):
            return f"{model_id!r} is not a model id of the form 'owner/name' ({HUB_NAME_RULE} in each part)"
    if len(ids) != len(set(ids)):
        return "each model may appear only once"
    return None


def min_submitted(value) -> str | None:
    try:
        number = int(str(value).strip())
    except ValueError:
        return f"{value!r} is not a whole number"
    if not 1 <= number <= MAX_MIN_SUBMITTED:
        return f"must be between 1 and {MAX_MIN_SUBMITTED} annotators (got {number})"
    return None


def other_language_name(value: str, code: str, hint: str, elsewhere: str) -> str | None:
    """A name asked only with 'other': one line there (``hint`` says what to type), empty
    elsewhere (``elsewhere`` says why)."""
    if code == OTHER_LANGUAGE:
        problem = one_line_text(value, 60)
        return problem and f"{problem}: {hint}"
    if value.strip():
        return f"only used with language_code {OTHER_LANGUAGE!r}; {elsewhere}"
    return None


def language_name(name: str, code: str) -> str | None:
    return other_language_name(
        name,
        code,
        f"type your language's name, as language_code is {OTHER_LANGUAGE!r}",
        f"leave it empty for {code!r}",
    )


def candidates(name: str) -> dict[str, str]:
    """The languages an ambiguous English name stands for, by code (none for a clear name)."""
    return AMBIGUOUS_NAMES.get(name.strip().lower().replace("á", "a"), {})


def language_iso_code(iso_code: str, code: str, name: str, supported: list[str]) -> str | None:
    """The ISO 639 code of an 'other' language: it names the project, the dataset and the Space."""
    if code != OTHER_LANGUAGE:
        return (
            f"only used with language_code {OTHER_LANGUAGE!r}; leave it empty for {code!r}"
            if iso_code
            else None
        )
    choices = candidates(name)
    listed = ", ".join(f"{choice} ({language})" for choice, language in choices.items())
    if choices and iso_code not in choices:
        return f"{name.strip()!r} names several languages: type the code of yours: {listed}"
    if not ISO_639.fullmatch(iso_code):
        return (
            f"{iso_code!r} is not an ISO 639 code: type your language's ISO 639-1 code (two lowercase "
            "letters), or its ISO 639-3 code (three) if it has none, e.g. eu for Basque"
        )
    if iso_code in supported:
        return f"{iso_code!r} has its own language file: answer language_code={iso_code}, not other"
    return None


def native_name(value: str, code: str) -> str | None:
    return other_language_name(
        value,
        code,
        "type your language's name in the language itself (Frysk, Euskara...)",
        f"{code!r} has its own: leave it empty",
    )


def language_direction(direction: str, code: str) -> str | None:
    if direction not in DIRECTIONS:
        return f"{direction!r} must be one of: {', '.join(DIRECTIONS)}"
    if direction != "ltr" and code != OTHER_LANGUAGE:
        return f"only used with language_code {OTHER_LANGUAGE!r}; {code!r} has its own direction: leave ltr"
    return None


def language_code(code: str, supported: list[str]) -> str | None:
    return None if code in supported else f"{code!r} is not supported; choose one of: " + ", ".join(supported)


def problems(answers: dict, supported: list[str]) -> dict[str, str]:
    """Each bad answer's problem, by field, in the order of the questions."""
    checks = {
        "language_code": language_code(answers["language_code"], supported),
        "language_name": language_name(answers["language_name"], answers["language_code"]),
        "language_iso_code": language_iso_code(
            answers["language_iso_code"], answers["language_code"], answers["language_name"], supported
        ),
        "language_native_name": native_name(answers["language_native_name"], answers["language_code"]),
        "language_direction": language_direction(answers["language_direction"], answers["language_code"]),
        "task": one_line_text(answers["task"], 60),
        "task_description": one_line_text(answers["task_description"], 500),
        "project_name": one_line_text(answers["project_name"], 100),
        "project_slug": None
        if SLUG.fullmatch(answers["project_slug"]) and len(answers["project_slug"]) <= 64
        else f"{answers['project_slug']!r} must be lowercase letters, digits and single '-', "
        "starting with a letter, at most 64 characters",
        "hf_namespace": hub_name(answers["hf_namespace"]),
        "dataset_name": hub_name(answers["dataset_name"]),
        "models": model_ids(answers["models"], answers["model_preset"]),
        "min_submitted": min_submitted(answers["min_submitted"]),
    }
    found: dict[str, str] = {}
    for field, problem in checks.items():
        if problem and not any(source in found for source in DEPENDS_ON.get(field, ())):
            found[field] = problem
    return found


def main() -> int:
    found = problems(json.loads(ANSWERS_JSON), json.loads(SUPPORTED_LANGUAGES_JSON))
    for field, problem in found.items():
        print(f"error: {field}: {problem}", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
