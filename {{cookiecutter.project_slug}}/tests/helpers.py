"""Data and assertions several test modules share (test modules never import each other)."""

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from kto import ratings

# -- Dutch answers for the quality gates (kto.gates) --------------------------------------------

DUTCH_HAIKU = "Golven rollen aan\nzilver licht op natte zand\nmeeuwen roepen luid"
ENGLISH_HAIKU = "Waves roll onto the shore\nsilver light on the wet sand\nseagulls calling loud"
DUTCH_PROSE = "De zee is heel mooi en ik wandel daar graag met mijn hond in de zomer, als het warm is."
DUTCH_PROMPT = "Schrijf een haiku over de zee."
DUTCH_SYSTEM = "Je bent een dichter die gespecialiseerd is in haiku.\nAntwoord alleen met de haiku."


def write_dutch_generations(project: Path) -> Path:
    from kto.responses import write_rows

    texts = [DUTCH_HAIKU, ENGLISH_HAIKU, "", DUTCH_PROSE, DUTCH_HAIKU.upper()]
    models = [f"team/m{n}" for n in range(len(texts))]
    rows = [
        {
            "input": DUTCH_PROMPT,
            "generation_model": models,
            "generation_prompt": [DUTCH_PROMPT] * len(texts),
            "raw_generation_responses": texts,
            "generations": [text or None for text in texts],
        }
    ]
    path = project / "data" / "generations.parquet"
    write_rows(rows, path)
    return path


# -- The CLI's error contract --------------------------------------------------------------------


def assert_one_error_line(result, field: str, code: int = 1) -> None:
    assert result.returncode == code, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"error: {field}: "), lines[0]


# -- A rating case worked out by hand (kto export) ------------------------------------------------


def response(user: str, value: str, status: str = "submitted") -> dict:
    return {"user": user, "value": value, "status": status}


def record(number: int, prompt: str, model: str, *responses: dict) -> dict:
    return {
        "id": f"r{number}",
        "prompt": prompt,
        "completion": f"answer {number}",
        "model": model,
        "prompt_id": prompt,
        "language": "xx",
        "status": "completed" if len(responses) >= 2 else "pending",
        "responses": list(responses),
    }


# r1 3 up; r2 2 down, 1 up; r3 1 up, 1 down; r4 1 up; r5 discarded; r6 not rated.
CASE = [
    record(1, "P1", "m1", response("a1", "up"), response("a2", "up"), response("a3", "up")),
    record(2, "P1", "m2", response("a1", "down"), response("a2", "down"), response("a3", "up")),
    record(3, "P1", "m3", response("a1", "up"), response("a2", "down")),
    record(4, "P2", "m1", response("a1", "up")),
    record(5, "P2", "m2", response("a2", "down", "discarded")),
    record(6, "P2", "m3"),
]
# Nominal Krippendorff's alpha by hand over r1-r3 (the records rated twice or more): coincidences
# o00=1, o01=o10=2, o11=3, n=8, n0=3, n1=5; D_o = 4/8, D_e = 2*3*5/(8*7); alpha = 1 - D_o/D_e = 1/15.
ALPHA = 1 / 15

EXPECTED = {
    "majority": (
        {"labelled-up": 1, "labelled-down": 1, "tie": 1, "below-threshold": 1, "discarded": 1, "pending": 1},
        [("answer 1", True, 3, 0), ("answer 2", False, 1, 2)],
    ),
    "unanimous": (
        {"labelled-up": 1, "labelled-down": 0, "tie": 2, "below-threshold": 1, "discarded": 1, "pending": 1},
        [("answer 1", True, 3, 0)],
    ),
    "min-votes=1": (
        {"labelled-up": 2, "labelled-down": 1, "tie": 1, "below-threshold": 0, "discarded": 1, "pending": 1},
        [("answer 1", True, 3, 0), ("answer 2", False, 1, 2), ("answer 4", True, 1, 0)],
    ),
}


# -- A ratings backup for export, train and eval ---------------------------------------------------


def rated_backup(path: Path, prompts: list[str], models: tuple[str, ...] = ("team/a", "team/b")) -> Path:
    """A ratings backup in which two annotators rate every model's answer to every prompt: the
    first model's answers up, the others' down (so each prompt has both labels, and DPO pairs)."""
    records = [
        {
            "id": f"r{number}-{index}",
            "prompt": prompt,
            "completion": f"Answer {index} to {prompt}\nsecond line of it\nthird line of it",
            "model": model,
            "prompt_id": prompt,
            "language": "xx",
            "status": "completed",
            "responses": [
                {"user": user, "value": "up" if index == 0 else "down", "status": "submitted"}
                for user in ("a", "b")
            ],
            "suggestion": None,
        }
        for number, prompt in enumerate(prompts)
        for index, model in enumerate(models)
    ]
    ratings.save(records, path)
    return path


def export_rows(folder: Path, config_name: str) -> list[dict]:
    """Every row of an export's configuration, its held-out ``test`` split included (a prompt's
    side is chosen by a hash of its text, so a test about labels reads both)."""
    import pyarrow.parquet as pq

    return [
        row
        for split in ("train", "test")
        if (path := folder / config_name / f"{split}.parquet").exists()
        for row in pq.read_table(path).to_pylist()
    ]


# -- The project, its config and kto as a user runs it ---------------------------------------------

PROJECT = Path(__file__).absolute().parents[1]  # not resolve(): tests may be a symlink


FALLBACK_PROMPTS = ["Describe the sea at dawn.", "Describe a busy market.", "Describe an old tree."]


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


@dataclass(frozen=True)
class ArgillaServer:
    project: Path
    url: str
    api_key: str
    logins: dict[str, dict]

    def client(self):
        import argilla as rg

        return rg.Argilla(api_url=self.url, api_key=self.api_key)


# -- Records on the session's Argilla server --------------------------------------------------------


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


def signed_delivery(
    body: dict, secret: str, message: str | None = None, sent: float | None = None
) -> tuple[dict[str, str], bytes]:
    """Headers and body of one webhook delivery as Argilla sends it (Standard Webhooks), signed
    with ``secret`` at ``sent`` (default: now)."""
    import json
    import secrets
    from datetime import UTC, datetime

    from standardwebhooks.webhooks import Webhook

    content = json.dumps(body).encode()
    message = message or f"msg_{secrets.token_urlsafe(16)}"
    moment = datetime.fromtimestamp(sent or time.time(), UTC)
    headers = {
        "webhook-id": message,
        "webhook-timestamp": str(int(moment.timestamp())),
        "webhook-signature": Webhook(secret).sign(message, moment, content),
        "content-type": "application/json",
    }
    return headers, content
