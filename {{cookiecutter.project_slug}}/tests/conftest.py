import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

# Tests never reach the Hub: set before anything imports huggingface_hub or datasets.
os.environ["HF_HUB_OFFLINE"] = "1"

PROJECT = Path(__file__).resolve().parents[1]
FALLBACK_PROMPTS = ["Describe the sea at dawn.", "Describe a busy market.", "Describe an old tree."]


@pytest.fixture
def project(tmp_path) -> Path:
    """This project's config and prompts, copied to a temporary folder so tests leave data/ alone."""
    shutil.copy(PROJECT / "project.yaml", tmp_path)
    shutil.copytree(PROJECT / "prompts", tmp_path / "prompts")
    return tmp_path


def edit_config(project: Path, change) -> dict:
    """Apply ``change(config_dict)`` to the project's project.yaml."""
    path = project / "project.yaml"
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(config)
    path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return config


def openai_slot(model_id: str, base_url: str, **settings) -> dict:
    """A model slot of project.yaml on the ``openai`` backend."""
    return {"id": model_id, "backend": "openai", "base_url": base_url, **settings}


def use_models(project: Path, *slots: dict) -> None:
    edit_config(project, lambda config: config["generation"].update(models=list(slots)))


def write_prompts(project: Path, count: int) -> Path:
    """A prompts file with ``count`` prompts in the project's language (English if it has none)."""
    starter = [
        line for line in (PROJECT / "prompts/starter.jsonl").read_text(encoding="utf-8").splitlines() if line
    ]
    lines = starter[:count] or [f'{{"prompt": "{text}"}}' for text in FALLBACK_PROMPTS[:count]]
    path = project / "test_prompts.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def kto_env() -> dict[str, str]:
    """The environment for ``python -m kto``: offline, with the package from src/."""
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(PROJECT / "src"), os.environ.get("PYTHONPATH")])),
        "NO_COLOR": "1",
    }


def run_kto(project: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    """``python -m kto`` as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "kto", *args],
        cwd=project,
        env=kto_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
