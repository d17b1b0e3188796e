"""kto generate on the embedded tiny model, run as a user runs it: the model in child processes
that a native crash or a kill of kto never leaves behind."""

import os
import signal
import subprocess
import sys
import time

import pyarrow.parquet as pq
import pytest
from helpers import edit_config, kto_env, run_kto, write_prompts

from kto.config import load_config

SEED_COLUMNS = ["input", "generation_model", "generation_prompt", "raw_generation_responses", "generations"]


def two_short_slots(config: dict) -> None:
    """Two model slots and short answers keep the real runs quick on two cores."""
    first = config["generation"]["models"][0]
    config["generation"]["models"] = [first, {**first, "id": f"{first['id']}-2"}]
    config["generation"]["max_new_tokens"] = 24


def read_rows(project):
    """What ``--local`` wrote: the dry run's file, never the campaign's generations."""
    assert not (project / "data" / "generations.parquet").exists()
    return pq.read_table(project / "data" / "dry-run" / "generations.parquet").to_pylist()


@pytest.mark.slow
def test_local_generation_writes_seed_rows_and_reruns_fill_only_gaps(project):
    edit_config(project, two_short_slots)
    prompts = write_prompts(project, 3)

    first = run_kto(project, "generate", "--local", "--prompts", str(prompts), "--limit", "2")
    assert first.returncode == 0, first.stderr
    rows = read_rows(project)
    assert [list(row) for row in rows] == [SEED_COLUMNS] * 2
    for row in rows:
        assert row["generation_model"] == ["gemma-3-270m-local-t0.5", "gemma-3-270m-local-t0.8"]
        assert all(len(row[column]) == 2 for column in SEED_COLUMNS[1:])
        assert all(text and text.strip() for text in row["generations"])
        assert all(
            row["input"] in seen and "<start_of_turn>model" in seen for seen in row["generation_prompt"]
        )
        assert all(text.strip() for text in row["raw_generation_responses"])

    again = run_kto(project, "generate", "--local", "--prompts", str(prompts), "--limit", "2")
    assert again.returncode == 0, again.stderr
    assert "already have a response from every model" in again.stderr
    assert read_rows(project) == rows

    more = run_kto(project, "generate", "--local", "--prompts", str(prompts))
    assert more.returncode == 0, more.stderr
    assert "Generating 2 responses" in more.stderr  # only the third prompt, for both models
    grown = read_rows(project)
    assert len(grown) == 3
    assert grown[:2] == rows  # earlier answers untouched
    assert all(text and text.strip() for text in grown[2]["generations"])


@pytest.mark.slow
def test_the_default_prompts_and_output_are_used_when_none_are_given(project):
    edit_config(project, two_short_slots)
    if not (project / "prompts" / "starter.jsonl").read_text(encoding="utf-8").strip():
        write_prompts(project, 1).replace(project / "prompts" / "starter.jsonl")
    result = run_kto(project, "generate", "--local", "--limit", "1")
    assert result.returncode == 0, result.stderr
    assert len(read_rows(project)) == 1


def start_generate(project, count: int) -> subprocess.Popen:
    """kto generate --local on ``count`` prompts of two short slots, as a process of its own."""
    edit_config(project, two_short_slots)
    (project / "p.txt").write_text("".join(f"Describe thing number {n}.\n" for n in range(count)))
    return subprocess.Popen(
        [sys.executable, "-m", "kto", "generate", "--local", "--prompts", "p.txt"],
        cwd=project,
        env=kto_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def journal_lines(project) -> int:
    path = project / "data" / "dry-run" / ".generations.journal.jsonl"  # --local writes the dry run's
    return path.read_bytes().count(b"\n") if path.exists() else 0


def embedded_children(project) -> dict[int, str]:
    """The embedded model's processes, from the pids kto records: pid -> slot's port log."""
    records = project / ".cache" / "kto" / "embedded"
    return {int(path.read_text().split()[0]): path.name for path in records.glob("*.pid")}


def wait_until(condition, what: str, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.once
@pytest.mark.slow
def test_a_native_crash_of_the_embedded_model_is_one_line_and_the_next_run_asks_only_the_gaps(project):
    process = start_generate(project, 12)
    wait_until(lambda: len(embedded_children(project)) == 2 and journal_lines(project) >= 2, "answers")
    victim = min(embedded_children(project))  # the first slot's: started first
    os.kill(victim, signal.SIGSEGV)
    _, stderr = process.communicate(timeout=120)
    kept = journal_lines(project)  # the answers that came, folded into the output, journal cleared

    assert process.returncode == 1
    errors = [line for line in stderr.splitlines() if "error" in line]
    assert errors == [stderr.strip().splitlines()[-1]]
    assert errors[0].startswith("error: model gemma-3-270m-local-t0.")  # the slot, then what died
    assert "the embedded model's process (llama.cpp) died of SIGSEGV" in errors[0]
    assert "kto doctor" in errors[0]
    answered = sum(text is not None for row in read_rows(project) for text in row["generations"])
    assert kept == 0 and answered >= 2
    assert not any(alive(pid) for pid in embedded_children(project))

    again = run_kto(project, "generate", "--local", "--prompts", "p.txt")
    assert again.returncode == 0, again.stderr
    assert f"Generating {24 - answered} responses" in again.stderr  # only what never came
    assert all(text and text.strip() for row in read_rows(project) for text in row["generations"])


@pytest.mark.once
@pytest.mark.slow
def test_no_embedded_model_outlives_a_killed_kto(project):
    process = start_generate(project, 40)
    wait_until(lambda: len(embedded_children(project)) == 2 and journal_lines(project) >= 1, "answers")
    children = embedded_children(project)
    process.kill()  # kto alone, as the OOM killer would: not its process group
    process.wait()
    wait_until(lambda: not any(alive(pid) for pid in children), "the children to die", timeout=10)

    again = run_kto(project, "generate", "--local", "--prompts", "p.txt", "--estimate")
    assert again.returncode == 0, again.stderr
    assert not embedded_children(project)  # the next run ends what the records name, and drops them


def test_the_ray_pipeline_builds_one_branch_per_slot(project):
    from kto.config import ModelSlot
    from kto.jobs import Job, messages
    from kto.ray_pipeline import JournaledRayPipeline, build, llms

    config = load_config(project / "project.yaml")
    slots = [
        ModelSlot(id=f"team/model-{n}", backend="openai", base_url="http://127.0.0.1:9/v1") for n in (1, 2)
    ]
    jobs = [Job(slot, ["a prompt"]) for slot in slots]
    pipeline = build(jobs, llms(jobs, config, 16), lambda prompt: messages(None, prompt), project / "cache")
    assert isinstance(pipeline, JournaledRayPipeline)
    assert set(pipeline.dag) == {"load_0", "generate_0", "load_1", "generate_1"}
    assert set(pipeline.dag.leaf_steps) == {"generate_0", "generate_1"}
    assert [pipeline.dag.get_step(f"generate_{i}")["step"].llm.model for i in (0, 1)] == [s.id for s in slots]


def test_ray_pipeline_folders_differ_by_work(project):
    from kto.jobs import Job
    from kto.ray_pipeline import pipeline_name

    slot = load_config(project / "project.yaml").generation.models[0]
    one, two = [Job(slot, ["a"])], [Job(slot, ["a", "b"])]
    assert pipeline_name(one) == pipeline_name([Job(slot, ["a"])])
    assert pipeline_name(one) != pipeline_name(two)
