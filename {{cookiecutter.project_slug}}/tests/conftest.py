import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

# Tests never reach the Hub: set before anything imports huggingface_hub or datasets.
os.environ["HF_HUB_OFFLINE"] = "1"

PROJECT = Path(__file__).absolute().parents[1]  # not resolve(): tests may be a symlink
FALLBACK_PROMPTS = ["Describe the sea at dawn.", "Describe a busy market.", "Describe an old tree."]


@pytest.fixture
def project(tmp_path) -> Path:
    """This project's config, prompts and guides, copied to a temporary folder so tests leave data/ alone."""
    shutil.copy(PROJECT / "project.yaml", tmp_path)
    shutil.copytree(PROJECT / "prompts", tmp_path / "prompts")
    shutil.copytree(PROJECT / "docs", tmp_path / "docs")
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


def served(model_id: str, base_url: str) -> dict:
    """A slot answered by ``kto serve`` (the ``server`` fixture), whatever its id."""
    from kto.local_model import MODEL_NAME

    return openai_slot(model_id, base_url, served_model=MODEL_NAME, timeout=60, max_retries=0)


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


def needs_extra(extra: str, *modules: str) -> None:
    """Skip the calling test unless the project's ``extra`` (its ``modules``) can be imported here:
    a suite run without that extra, or on a Python it has no build for, skips instead of failing."""
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    for module in modules:
        pytest.importorskip(
            module,
            reason=f"{module} cannot be imported on Python {python}: pip install -e '.[{extra}]'",
        )


def kto_env() -> dict[str, str]:
    """The environment for ``python -m kto``: offline, with the package from src/."""
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(PROJECT / "src"), os.environ.get("PYTHONPATH")])),
        "NO_COLOR": "1",
    }


def run_kto(
    project: Path, *args: str, timeout: float = 600, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """``python -m kto`` as a user runs it; ``env`` adds to the environment."""
    return subprocess.run(
        [sys.executable, "-m", "kto", *args],
        cwd=project,
        env={**kto_env(), **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def table_rows(output: str) -> dict[str, list[str]]:
    """The rows of the tables kto prints (``kto status``): first cell -> the other cells, from the
    first table that has the row (kto status lists annotators twice: counts, then quality)."""
    rows = {}
    for line in output.splitlines():
        if line.count("│") >= 3:
            first, *cells = (cell.strip() for cell in line.split("│")[1:-1])
            rows.setdefault(first, cells)
    return rows


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


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


@dataclass(frozen=True)
class ArgillaServer:
    project: Path
    url: str
    api_key: str
    logins: dict[str, dict]

    def client(self):
        import argilla as rg

        return rg.Argilla(api_url=self.url, api_key=self.api_key)


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


def write_generations(project: Path, prompts: int, models: int = 2, missing: set | None = None) -> Path:
    """A generations file in the seed's format, without running a model; ``missing`` holds the
    (prompt index, model index) pairs whose answer failed."""
    from kto.responses import write_rows

    rows = []
    for p in range(prompts):
        answers = [
            None if (p, m) in (missing or set()) else f"Answer {m} to prompt {p}." for m in range(models)
        ]
        rows.append(
            {
                "input": f"Prompt number {p}",
                "generation_model": [f"team/model-{m}" for m in range(models)],
                "generation_prompt": [f"Prompt number {p}"] * models,
                "raw_generation_responses": answers,
                "generations": answers,
            }
        )
    path = project / "data" / "generations.parquet"
    write_rows(rows, path)
    return path


def dataset_of(server, project):
    from kto.config import load_config

    config = load_config(project / "project.yaml")
    return server.client().datasets(config.argilla.dataset, workspace=config.argilla.workspace)


def annotator_session(server, username: str = "annotator1") -> tuple[str, dict[str, str]]:
    """An annotator's API key and browser-like session headers, got by signing in with their password."""
    import httpx

    login = server.logins[username]
    token = httpx.post(
        f"{server.url}/api/v1/token", data={"username": username, "password": login["password"]}
    ).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    return httpx.get(f"{server.url}/api/v1/me", headers=headers).json()["api_key"], headers


def records_of(dataset, model: str) -> list:
    import argilla as rg

    return list(dataset.records(query=rg.Query(filter=rg.Filter(("metadata.model", "==", model)))))


def submit(server, project, votes: dict[tuple[str, int], str]) -> None:
    """Ratings given on the annotators' behalf: {(username, prompt index): "up" | "down"}."""
    import argilla as rg

    client = server.client()
    dataset = dataset_of(server, project)
    by_prompt = {record.fields["prompt"]: record for record in records_of(dataset, "team/model-0")}
    for (username, prompt), value in votes.items():
        record = by_prompt[f"Prompt number {prompt}"]
        record.responses.add(
            rg.Response("rating", value, user_id=client.users(username).id, status="submitted")
        )
    dataset.records.log(list(by_prompt.values()))


def record_count(server, project) -> int:
    dataset = dataset_of(server, project)
    return (
        0
        if dataset is None
        else sum(1 for _ in dataset.records(with_responses=False, with_suggestions=False))
    )


def kill_once_records_appear(server, project, *args: str) -> int:
    """``kto *args``, killed (SIGKILL) as soon as the server has records from it; returns the
    records there once the count settles (a batch in flight may still land)."""
    running = subprocess.Popen(
        [sys.executable, "-m", "kto", *args], cwd=project, env=kto_env(), stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 120
    while record_count(server, project) == 0 and time.monotonic() < deadline:
        time.sleep(0.1)
    running.send_signal(signal.SIGKILL)
    running.wait()
    counted, previous = record_count(server, project), -1
    while counted != previous:
        time.sleep(1)
        counted, previous = record_count(server, project), counted
    return counted
