"""``kto generate --ray`` on a real Ray cluster of two nodes on this machine (Ray's own test
cluster), against the llama.cpp server: the same seed-format table as a plain run."""

import os

import pyarrow.parquet as pq
import pytest
from conftest import PROJECT, edit_config, needs_extra, run_kto, served, use_models, write_prompts

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
