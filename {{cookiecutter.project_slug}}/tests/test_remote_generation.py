"""kto generate against a stand-in for a remote provider: streaming, retries, and hard kills.

The provider (``fake_provider.py``) counts every request per (model, prompt): it is the judge of
what was asked, and how often. kto runs as a user runs it, in a process of its own.
"""

import hashlib
import json
import os
import signal
import subprocess
import sys
import time

import pyarrow.parquet as pq
import pytest
from helpers import edit_config, free_port, kto_env, openai_slot, run_kto, use_models

MODELS = ["team/model-a", "team/model-b", "team/model-c"]


@pytest.fixture
def provider(fake_provider):
    """``provider(**settings)``: a fake provider serving MODELS (stopped after the test)."""
    return lambda **settings: fake_provider(MODELS, **settings)


def remote_project(project, url: str, count: int, **slot_settings) -> list[str]:
    """Three slots on ``url``, ``count`` prompts; returns the prompts."""
    use_models(project, *(openai_slot(model, url, **slot_settings) for model in MODELS))
    # Numbered prompts alone would be near repeats of each other, which kto generate warns about.
    prompts = [f"Prompt number {n} ({hashlib.sha256(str(n).encode()).hexdigest()[:8]})" for n in range(count)]
    (project / "prompts.txt").write_text("\n".join(prompts) + "\n", encoding="utf-8")
    edit_config(project, lambda config: config["prompts"].update(source="prompts.txt"))
    # The prompts are English in every project: no wrong-language warning from kto generate.
    edit_config(project, lambda config: config["checks"].update(language="off"))
    return prompts


def rows(project) -> list[dict]:
    return pq.read_table(project / "data" / "generations.parquet").to_pylist()


def assert_complete(project, prompts: list[str]) -> None:
    """Every prompt has every model's own answer, exactly as the provider gave it."""
    found = rows(project)
    assert [row["input"] for row in found] == prompts
    for row in found:
        assert row["generation_model"] == MODELS
        assert row["generations"] == [f"answer of {model} to {row['input']}" for model in MODELS]


def journal(project):
    return project / "data" / ".generations.journal.jsonl"


def test_every_answer_arrives_once_at_the_configured_concurrency(project, provider):
    fake, url = provider(latency=0.2, jitter=0.1)
    prompts = remote_project(project, url, 40, concurrency=6)
    result = run_kto(project, "generate")
    assert result.returncode == 0, result.stderr
    assert_complete(project, prompts)
    assert not fake.asked_twice() and fake.answers.total() == 120
    assert dict(fake.peak) == dict.fromkeys(MODELS, 6)  # reached, never exceeded
    assert "Generating 120 responses" in result.stderr and "5,120" in result.stderr  # 40 x 128 tokens
    assert not journal(project).exists()  # folded into the generations file

    again = run_kto(project, "generate")
    assert again.returncode == 0 and "already have a response from every model" in again.stderr
    assert fake.answers.total() == 120


def test_a_storm_of_429_and_500_is_survived_without_asking_twice(project, provider):
    fake, url = provider(latency=0.05, share_429=0.4, share_500=0.2, retry_after=0.2)
    prompts = remote_project(project, url, 20, concurrency=8)
    result = run_kto(project, "generate")
    assert result.returncode == 0, result.stderr
    assert "warning" not in result.stderr
    assert_complete(project, prompts)
    assert not fake.asked_twice()
    assert fake.attempts.total() > 60  # the failed first attempts were retried


def test_a_slot_whose_server_is_down_is_isolated(project, provider):
    _fake, url = provider(latency=0.05)
    down = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    use_models(project, openai_slot(MODELS[0], url), openai_slot("team/down", down, max_retries=0, timeout=5))
    (project / "p.txt").write_text("one\ntwo\n", encoding="utf-8")
    result = run_kto(project, "generate", "--prompts", "p.txt")
    assert result.returncode == 0, result.stderr
    assert "warning: team/down gave no response to 2 of 2 prompts (APIConnectionError" in result.stderr
    assert [row["generations"] for row in rows(project)] == [
        [f"answer of {MODELS[0]} to one", None],
        [f"answer of {MODELS[0]} to two", None],
    ]


def test_estimate_sends_nothing(project, provider):
    fake, url = provider()
    remote_project(project, url, 5)
    edit_config(project, lambda config: config["generation"].update(max_new_tokens=100))
    result = run_kto(project, "generate", "--estimate")
    assert result.returncode == 0, result.stderr
    assert "15 requests in all; nothing was sent" in result.stderr
    assert result.stderr.count("500") == 3  # 5 prompts x 100 tokens, per model
    assert "0/5" not in result.stderr  # no empty progress bars for requests never sent
    assert fake.attempts.total() == 0 and not (project / "data" / "generations.parquet").exists()


def start_kto(project, *args: str) -> subprocess.Popen:
    """kto in a session of its own, so that the whole process group can be killed."""
    return subprocess.Popen(
        [sys.executable, "-m", "kto", *args],
        cwd=project,
        env=kto_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def wait_until(condition, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def journal_lines(project) -> int:
    return journal(project).read_bytes().count(b"\n") if journal(project).exists() else 0


@pytest.mark.parametrize("kill_at", [0, 30, 90], ids=["before-the-first-answer", "mid-run", "all-answered"])
def test_after_a_hard_kill_the_next_run_asks_only_for_what_was_in_flight(project, provider, kill_at):
    fake, url = provider(latency=0.3, jitter=0.1)
    prompts = remote_project(project, url, 30, concurrency=4)
    process = start_kto(project, "generate")
    if kill_at:  # the kill point comes from the journal's size, not from a timer
        wait_until(lambda: journal_lines(project) >= kill_at, f"{kill_at} answers in the journal")
    else:
        wait_until(lambda: fake.attempts.total() > 0, "the first request")
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    in_flight = fake.attempts.total() - journal_lines(project)  # asked, never journaled

    result = run_kto(project, "generate")
    assert result.returncode == 0, result.stderr
    assert_complete(project, prompts)
    assert sum(count - 1 for count in fake.asked_twice().values()) <= max(0, in_flight)
    assert len(fake.asked_twice()) <= 3 * 4  # at most what the slots had in flight
    assert not journal(project).exists()


def test_a_torn_journal_line_is_skipped_with_one_warning(project, provider):
    fake, url = provider(latency=0.01)
    prompts = remote_project(project, url, 3)
    journal(project).parent.mkdir()
    kept = {"prompt": prompts[0], "model": MODELS[0], "prompt_seen": "[]", "raw": "kept from before"}
    journal(project).write_text(json.dumps(kept) + "\n" + '{"prompt": "Prompt num', encoding="utf-8")
    result = run_kto(project, "generate")
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("warning") == 1 and "cut off by an interrupted run" in result.stderr
    assert "Resuming: 1 answers kept" in result.stderr
    assert rows(project)[0]["generations"][0] == "kept from before"
    assert fake.attempts[(MODELS[0], prompts[0])] == 0 and fake.answers.total() == 8


def test_an_old_distilabel_cache_is_removed_with_one_warning(project, provider):
    _fake, url = provider(latency=0.01)
    prompts = remote_project(project, url, 2)
    stale = project / ".cache" / "distilabel" / "kto-generate-0123" / "batch_manager.json"
    stale.parent.mkdir(parents=True)
    stale.write_text("{", encoding="utf-8")  # what a killed run of an earlier kto left behind
    result = run_kto(project, "generate")
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("warning") == 1 and "cache of an earlier kto version" in result.stderr
    assert not stale.parent.parent.exists()
    assert_complete(project, prompts)


def test_a_stalled_server_stops_the_run_naming_the_slot(project, provider):
    _fake, url = provider(hang=True)
    remote_project(project, url, 3, timeout=60)
    edit_config(project, lambda config: config["generation"].update(stall_timeout=2))
    result = run_kto(project, "generate", timeout=60)
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()[-1:]
    assert line.startswith("error: generation: no request ended for 2 s: team/model-")
    assert "is not answering" in line


def test_two_runs_at_once_one_works_the_other_says_so_and_a_killed_runs_lock_is_taken_over(project, provider):
    fake, url = provider(latency=1.0)
    prompts = remote_project(project, url, 10, concurrency=2)
    first = start_kto(project, "generate")
    wait_until(lambda: fake.attempts.total() > 0, "the first run's requests")
    second = run_kto(project, "generate")
    assert second.returncode == 1
    [line] = second.stderr.strip().splitlines()
    assert line.startswith(
        f"error: lock: another kto generate is running in this project (pid {first.pid}, started "
    )
    os.killpg(first.pid, signal.SIGKILL)
    first.wait()

    third = run_kto(project, "generate")
    assert third.returncode == 0, third.stderr
    assert_complete(project, prompts)


def test_an_unexpected_error_is_one_line_and_its_traceback_only_on_request(project, provider):
    _fake, url = provider()
    remote_project(project, url, 2)
    journal(project).mkdir(parents=True)  # the journal cannot be opened: a bug's stand-in
    result = run_kto(project, "generate")
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("error: unexpected IsADirectoryError: ") and "last-error.log" in line

    debug = run_kto(project, "generate", env={"KTO_DEBUG": "1"})
    assert debug.returncode == 1
    assert "Traceback (most recent call last)" in debug.stderr and "journal.py" in debug.stderr
    assert "locals" not in debug.stderr  # rich's handler, installed by distilabel, prints them


def test_a_model_the_server_does_not_list_is_named_before_anything_is_asked(project, provider):
    fake, url = provider()
    use_models(project, openai_slot(MODELS[0], url), openai_slot("team/unknown", url))
    (project / "p.txt").write_text("one\n", encoding="utf-8")
    result = run_kto(project, "generate", "--prompts", "p.txt")
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("error: model team/unknown: team/unknown is not served by ")
    assert fake.attempts.total() == 0
