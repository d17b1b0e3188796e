"""Remove what was not chosen, then print the next steps."""

import json
import shutil
from pathlib import Path

INCLUDE_TRAINING = json.loads(r"""{{ cookiecutter.include_training | tojson }}""")
PROJECT_DIR = Path.cwd()


def remove(*relative_paths: str) -> None:
    for relative in relative_paths:
        path = PROJECT_DIR / relative
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()


# Removed when training is not chosen: `kto train` then says the project has no training section.
TRAINING_FILES = ("TRAINING.md", "src/kto/train.py", "tests/test_train.py")


def main() -> None:
    if not INCLUDE_TRAINING:
        remove(*TRAINING_FILES)
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
