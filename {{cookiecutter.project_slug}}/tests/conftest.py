"""Fixtures only: pytest finds them here. What tests share otherwise (data, helpers) is in helpers.py."""

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

# Tests never reach the Hub: set before anything imports huggingface_hub or datasets.
os.environ["HF_HUB_OFFLINE"] = "1"

from helpers import (
    PROJECT,
    ArgillaServer,
    edit_config,
    free_port,
    kto_env,
    needs_extra,
    run_kto,
)


@pytest.fixture
def project(tmp_path) -> Path:
    """This project's config, prompts and guides, copied to a temporary folder so tests leave data/ alone."""
    shutil.copy(PROJECT / "project.yaml", tmp_path)
    shutil.copytree(PROJECT / "prompts", tmp_path / "prompts")
    shutil.copytree(PROJECT / "docs", tmp_path / "docs")
    return tmp_path


@pytest.fixture
def server(project):
    """``kto serve``: the embedded model behind llama.cpp's OpenAI-compatible API."""
    needs_extra("local", "llama_cpp.server")
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "kto", "serve", "--port", str(port)],
        cwd=project,
        env=kto_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 120
    while True:
        try:
            urllib.request.urlopen(f"{url}/models", timeout=2).close()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"kto serve did not start: {process.stderr.read()}")
            time.sleep(0.5)
    yield url
    process.terminate()
    process.wait(timeout=30)


@pytest.fixture
def fake_provider():
    """``fake_provider(models, **settings)`` starts a stand-in provider (``fake_provider.py``) and
    returns it with its URL; all are stopped after the test."""
    from fake_provider import FakeProvider

    started = []

    def start(models: list[str], **settings):
        fake = FakeProvider(models=models, **settings)
        started.append(fake)
        return fake, fake.start()

    yield start
    for fake in started:
        fake.stop()


@pytest.fixture
def hub():
    """A double of the Hub's HTTP API on 127.0.0.1, and the environment that points kto at it."""
    from hub_double import HubDouble

    double = HubDouble()
    url = double.start()
    yield double, {"HF_ENDPOINT": url, "HF_HUB_OFFLINE": "0", "HF_TOKEN": double.token}
    double.stop()


@pytest.fixture(scope="session")
def argilla_server(tmp_path_factory) -> ArgillaServer:
    """A real local Argilla, started and stopped by kto itself (kto argilla up / down)."""
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    from dotenv import dotenv_values

    home = tmp_path_factory.mktemp("argilla-server")
    shutil.copy(PROJECT / "project.yaml", home)
    started = run_kto(home, "argilla", "up", "--annotators", "4", timeout=900)
    assert started.returncode == 0, started.stderr
    settings = dotenv_values(home / ".argilla" / "local.env")
    logins = json.loads((home / ".argilla" / "users.json").read_text())
    assert [settings[f"KTO_ANNOTATOR_{n}"] for n in (1, 2, 3, 4)] == [
        f"annotator{n}:{logins[f'annotator{n}']['password']}" for n in (1, 2, 3, 4)
    ]
    yield ArgillaServer(home, settings["ARGILLA_API_URL"], settings["ARGILLA_API_KEY"], logins)
    run_kto(home, "argilla", "down")


@pytest.fixture
def annotation_project(project, argilla_server, monkeypatch) -> Path:
    """A project pointed at the session's server, with a dataset name of its own, where two
    submitted ratings complete a record (the tests count on it, whatever the project chose).
    Its language gate is off: write_generations answers in English whatever the project's
    language; the tests of the gates turn it on."""
    monkeypatch.setenv("ARGILLA_API_URL", argilla_server.url)
    monkeypatch.setenv("ARGILLA_API_KEY", argilla_server.api_key)

    def change(config):
        config["argilla"].update(dataset=f"test-{uuid.uuid4().hex[:8]}", min_submitted=2)
        config["checks"]["language"] = "off"

    edit_config(project, change)
    (project / "prompts" / "gold.jsonl").unlink(
        missing_ok=True
    )  # the tests count records; gold's write their own
    return project
