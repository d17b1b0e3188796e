"""``kto generate --ray`` on a real Ray cluster of two nodes on this machine (Ray's own test
cluster), against the llama.cpp server: the same seed-format table as a plain run. The embedded
model on Ray: a child process of the worker, held to a judge's choices. One backend table for the
engine and for Ray."""

import os
from typing import get_args

import pyarrow.parquet as pq
import pytest
from helpers import PROJECT, edit_config, needs_extra, run_kto, served, use_models, write_prompts

from kto import engine
from kto.backends import BACKENDS, build_llm, for_slot
from kto.config import ModelSlot, load_config
from kto.errors import KtoError
from kto.responses import SCHEMA

# Ray's smallest object store (it refuses less than ~75 MB); the data here is a few kilobytes.
OBJECT_STORE = 80 * 1024 * 1024


@pytest.fixture(scope="module")
def ray_cluster():
    needs_extra("ray", "ray")
    from ray.cluster_utils import Cluster

    # Workers are started by the nodes, from this process's environment: they import kto from
    # src/ as a team's nodes import the installed project.
    saved = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT / "src"), saved]))
    node = {"num_cpus": 1, "object_store_memory": OBJECT_STORE}
    cluster = Cluster(initialize_head=True, head_node_args={**node, "include_dashboard": False})
    try:
        cluster.add_node(**node)
        cluster.wait_for_nodes()
        yield cluster
    finally:
        cluster.shutdown()
        os.environ.pop("PYTHONPATH") if saved is None else os.environ.update(PYTHONPATH=saved)


def actors_run(cluster) -> list[str]:
    """The names of the actors the cluster has run (its GCS keeps dead ones too; the public
    state API needs the dashboard, which the test cluster goes without)."""
    import ray
    from ray._private import state

    ray.init(address=cluster.address, log_to_driver=False)
    try:
        return [actor["Name"] for actor in state.actors().values()]
    finally:
        ray.shutdown()


@pytest.mark.once
@pytest.mark.slow
def test_generate_runs_on_a_ray_cluster_of_two_nodes(project, server, ray_cluster):
    use_models(project, served("team/model-a", server), served("team/model-b", server))
    edit_config(project, lambda c: c["generation"].update(max_new_tokens=16))
    prompts = write_prompts(project, 3)

    done = run_kto(
        project, "generate", "--ray", "--prompts", str(prompts), env={"RAY_ADDRESS": ray_cluster.address}
    )
    assert done.returncode == 0, done.stderr
    assert f"Connecting to existing Ray cluster at address: {ray_cluster.address}" in done.stderr
    assert "Wrote 3 rows" in done.stderr
    # Each step ran as an actor of this cluster ("distilabel-<pipeline>-<step>-<replica>").
    steps = {name.rsplit("-", 2)[-2] for name in actors_run(ray_cluster)}
    assert {"load_0", "generate_0", "load_1", "generate_1"} <= steps
    table = pq.read_table(project / "data" / "generations.parquet")
    assert table.schema.equals(SCHEMA)
    rows = table.to_pylist()
    assert len(rows) == 3
    for row in rows:
        assert row["generation_model"] == ["team/model-a", "team/model-b"]
        for column in ("generation_prompt", "raw_generation_responses", "generations"):
            assert all(cell and cell.strip() for cell in row[column]), (column, row)
        assert all(row["input"] in seen for seen in row["generation_prompt"])


def test_the_engine_and_ray_read_one_backend_table_and_refuse_the_same_way(project):
    config = load_config(project / "project.yaml")
    assert set(BACKENDS) == set(get_args(ModelSlot.model_fields["backend"].annotation))
    # A slot made in code is not validated as project.yaml is: the table refuses it, on both paths.
    unknown = ModelSlot(id="m", backend="local").model_copy(update={"backend": "vllm"})
    for build in (for_slot, build_llm):
        with pytest.raises(KtoError) as error:
            build(unknown, config, 4)
        assert str(error.value) == "model m: no backend 'vllm': use one of openai, local, transformers"
    with pytest.raises(KtoError) as error:
        build_llm(ModelSlot(id="t", backend="transformers", model="team/tiny"), config, 4)
    assert str(error.value).startswith("model t: backend 'transformers' does not run on Ray (")
    assert str(error.value).endswith("): run without --ray")


class Quiet:
    def planned(self, jobs, estimates, recovered: int) -> None: ...

    def answered(self, model: str, ok: bool) -> None: ...


@pytest.mark.once
@pytest.mark.slow
def test_the_embedded_judge_on_ray_answers_from_a_child_of_the_worker_with_its_choices(
    project, ray_cluster, monkeypatch
):
    needs_extra("local", "llama_cpp.server")
    import ray

    monkeypatch.setenv("RAY_ADDRESS", ray_cluster.address)
    config = load_config(project / "project.yaml")
    slots = [ModelSlot(id="judge", backend="local", temperature=1.4)]
    prompts = ["Write a long poem about the sea.", "Write a long poem about the wind."]
    try:
        filled = fill_as_judge(config, project, prompts, slots)
    finally:
        ray.shutdown()  # the pipeline connected this process: the cluster cannot end under it
    assert not filled.errors and not filled.missing
    answers = [filled.answers[prompt][slot.id].text for prompt in prompts for slot in slots]
    assert set(answers) <= {"0", "1"}  # llama.cpp's server held to the grammar: a poem otherwise
    # The children (started by the workers: this process builds the LLMs only) ended with the run.
    children = project / ".cache" / "kto" / "embedded"
    assert children.is_dir() and not list(children.glob("*.pid"))


def fill_as_judge(config, project, prompts, slots):
    return engine.fill_gaps(
        config,
        journal=project / ".cache" / "kto" / "judge.journal.jsonl",
        command="a test",
        prompts=prompts,
        slots=slots,
        messages=lambda prompt: [{"role": "user", "content": prompt}],
        max_new_tokens=4,
        progress=Quiet(),
        warn=pytest.fail,
        save=lambda answers: None,
        choices=("0", "1"),
        ray=True,
    )
