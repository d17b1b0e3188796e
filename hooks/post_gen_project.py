"""Remove what was not chosen, then print the next steps."""

import json
import shutil
from pathlib import Path

# Parsed in main only: the template's tests import this file unrendered.
ANSWERS_JSON = r"""{
    "include_training": {{ cookiecutter.include_training | tojson }},
    "language_code": {{ cookiecutter.language_code | tojson }},
    "language_name": {{ cookiecutter.language_name | tojson }},
    "language_iso_code": {{ cookiecutter.language_iso_code | tojson }},
    "language_native_name": {{ cookiecutter.language_native_name | tojson }}
}"""
# Removed when training is not chosen (cookiecutter.json's _training_files, which the tests read
# too): `kto train` then says the project has no training section.
TRAINING_FILES_JSON = r"""{{ cookiecutter._training_files | tojson }}"""
# The English texts an 'other' project starts from, which kto language export compares with:
# a language with its own file has none.
OTHER_LANGUAGE_FILES = [".kto"]
OTHER_LANGUAGE = "other"
PROJECT_DIR = Path.cwd()


def remove(root: Path, relative_paths: list[str]) -> None:
    for relative in relative_paths:
        path = root / relative
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()


def install_line(answers: dict) -> str:
    """The extras the chosen options need: the embedded model and the tools, and TRL if training."""
    return f"pip install -e '.[local,dev{',train' if answers['include_training'] else ''}]'"


def translate_steps(answers: dict) -> str:
    """For 'other': the steps the README's "Translate first" and the lead's guide give too."""
    if answers["language_code"] != OTHER_LANGUAGE:
        return ""
    name, code = answers["language_name"], answers["language_iso_code"]
    return f"""
{name} starts from English placeholders. Write every text marked TO TRANSLATE in {name}
(project.yaml, prompts/starter.jsonl, prompts/gold.jsonl) and delete each mark; check
language.code ({code}), language.native_name ({answers["language_native_name"]}) and
language.variant ({code}, or {code}-<REGION> for a regional variety); set language.reviewed: true once
a native speaker has read every text; then `kto language export` gives them back to kto-template.
README.md, "Translate first", says the same.
"""


def main() -> None:
    answers = json.loads(ANSWERS_JSON)
    if not answers["include_training"]:
        remove(PROJECT_DIR, json.loads(TRAINING_FILES_JSON))
    if answers["language_code"] != OTHER_LANGUAGE:
        remove(PROJECT_DIR, OTHER_LANGUAGE_FILES)
    print(
        f"""
Created {PROJECT_DIR.name}. Next steps:

  cd {PROJECT_DIR.name}
  python -m venv .venv && . .venv/bin/activate
  {install_line(answers)}
  kto generate --local --limit 4    # offline dry run on the embedded tiny model
{translate_steps(answers)}
Then read README.md: project.yaml holds the language, prompts and models.
"""
    )


if __name__ == "__main__":
    main()
