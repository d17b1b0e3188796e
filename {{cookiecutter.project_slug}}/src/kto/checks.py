"""``kto check``: the quality gates (:mod:`kto.gates`) over a generations file, without Argilla."""

from pathlib import Path

from kto.config import ProjectConfig
from kto.gates import CheckReport, run


def check_file(config: ProjectConfig, generations: Path) -> CheckReport:
    """The gates over a generations file."""
    from kto.responses import read_generations

    return run(config, read_generations(generations))
