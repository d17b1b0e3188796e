"""Remove what was not chosen, then print the next steps."""

import json
import shutil
from pathlib import Path

# Parsed in main only: the template's tests import this file unrendered.
INCLUDE_TRAINING_JSON = r"""{{ cookiecutter.include_training | tojson }}"""
# Removed when training is not chosen (cookiecutter.json's _training_files, which the tests read
# too): `kto train` then says the project has no training section.
TRAINING_FILES_JSON = r"""{{ cookiecutter._training_files | tojson }}"""
PROJECT_DIR = Path.cwd()


def remove(root: Path, relative_paths: list[str]) -> None:
    for relative in relative_paths:
        path = root / relative
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()


def main() -> None:
    if not json.loads(INCLUDE_TRAINING_JSON):
        remove(PROJECT_DIR, json.loads(TRAINING_FILES_JSON))
    print(
        f"""
Created {PROJECT_DIR.name}. Next steps:

  cd {PROJECT_DIR.name}
  python -m venv .venv && . .venv/bin/activate
  pip install -e '.[local,dev]'
  kto generate --local --limit 4    # offline dry run on the embedded tiny model

Then read README.md: project.yaml holds the language, prompts and models.
"""
    )


if __name__ == "__main__":
    main()
