"""Render one named option combination of tests/combinations.json: CI's matrix, one job each.

``python .ci/render.py <name> <output folder>`` makes <output folder>/ci-project.
"""

import json
import sys
from pathlib import Path

from cookiecutter.main import cookiecutter

ROOT = Path(__file__).resolve().parents[1]


def main(name: str, output: str) -> None:
    answers = json.loads((ROOT / "tests" / "combinations.json").read_text(encoding="utf-8"))[name]
    cookiecutter(
        str(ROOT), no_input=True, output_dir=output, extra_context={**answers, "project_slug": "ci-project"}
    )


if __name__ == "__main__":
    main(*sys.argv[1:])
