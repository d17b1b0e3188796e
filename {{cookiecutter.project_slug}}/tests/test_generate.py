"""A real distilabel pipeline on the embedded tiny model, run as a user runs it."""

import pyarrow.parquet as pq
import pytest
from conftest import edit_config, run_kto, write_prompts

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


def test_the_ray_pipeline_builds_one_branch_per_slot(project):
    from kto.config import ModelSlot
    from kto.engine import Job
    from kto.llms import build_llm
    from kto.ray_pipeline import JournaledRayPipeline, build

    config = load_config(project / "project.yaml")
    slots = [
        ModelSlot(id=f"team/model-{n}", backend="openai", base_url="http://127.0.0.1:9/v1") for n in (1, 2)
    ]
    jobs = [Job(slot, ["a prompt"]) for slot in slots]
    llms = {slot.id: build_llm(slot, config, 16) for slot in slots}
    pipeline = build(jobs, llms, system_prompt=None, cache_dir=project / "cache")
    assert isinstance(pipeline, JournaledRayPipeline)
    assert set(pipeline.dag) == {"load_0", "generate_0", "load_1", "generate_1"}
    assert set(pipeline.dag.leaf_steps) == {"generate_0", "generate_1"}
    assert [pipeline.dag.get_step(f"generate_{i}")["step"].llm.model for i in (0, 1)] == [s.id for s in slots]


def test_ray_pipeline_folders_differ_by_work(project):
    from kto.engine import Job
    from kto.ray_pipeline import pipeline_name

    slot = load_config(project / "project.yaml").generation.models[0]
    one, two = [Job(slot, ["a"])], [Job(slot, ["a", "b"])]
    assert pipeline_name(one) == pipeline_name([Job(slot, ["a"])])
    assert pipeline_name(one) != pipeline_name(two)
