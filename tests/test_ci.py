"""The template's workflow: one list of option combinations, least privilege, no stale runs."""

import pytest
import yaml
from conftest import COMBINATIONS, TEMPLATE

WORKFLOW = yaml.safe_load((TEMPLATE / ".github" / "workflows" / "ci.yml").read_text(encoding="utf-8"))


def checkouts(workflow: dict) -> list[dict]:
    steps = [step for job in workflow["jobs"].values() for step in job["steps"]]
    return [step for step in steps if step.get("uses", "").startswith("actions/checkout@")]


def test_the_matrix_is_the_tests_list_of_combinations():
    reader = WORKFLOW["jobs"]["combinations"]["steps"][-1]["run"]
    assert "tests/combinations.json" in reader
    rendered = WORKFLOW["jobs"]["rendered"]
    assert (
        rendered["strategy"]["matrix"]["combination"] == "${{ fromJSON(needs.combinations.outputs.names) }}"
    )
    assert any(".ci/render.py" in step.get("run", "") for step in rendered["steps"])
    assert len(COMBINATIONS) >= 5


def test_the_rendered_suites_run_once_on_github_and_all_of_it_in_ci_run():
    """The matrix runs each project's own suite; the template job leaves those tests out. .ci/run
    alone (one machine) runs everything, with the README's test command."""
    ci_run = (TEMPLATE / ".ci" / "run").read_text(encoding="utf-8")
    assert ci_run.rstrip().endswith("bash scripts/test")
    [step] = [step for step in WORKFLOW["jobs"]["template"]["steps"] if step.get("run") == "bash .ci/run"]
    assert step["env"]["PYTEST_ADDOPTS"] == '-m "not rendered"'


@pytest.mark.parametrize("job", ["template", "combinations", "rendered"])
def test_each_job_has_least_privilege(job):
    assert WORKFLOW["permissions"] == {}
    assert WORKFLOW["jobs"][job]["permissions"] == {"contents": "read"}


def test_no_checkout_keeps_credentials_and_stale_runs_stop():
    assert all(step["with"]["persist-credentials"] is False for step in checkouts(WORKFLOW))
    assert WORKFLOW["concurrency"]["cancel-in-progress"] is True
    # The history test needs every commit back to the root.
    assert WORKFLOW["jobs"]["template"]["steps"][0]["with"]["fetch-depth"] == 0
