"""The template's workflow: one list of option combinations, least privilege, no stale runs."""

import pytest
import yaml
from conftest import COMBINATIONS, PINNED_USES, TEMPLATE, uses_lines, zizmor_findings

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


def test_the_rendered_project_is_tested_on_every_supported_python():
    """Each combination on the oldest Python, and the default answers on every newer one."""
    matrix = WORKFLOW["jobs"]["rendered"]["strategy"]["matrix"]
    jobs = [(name, python) for name in COMBINATIONS for python in matrix["python"]]
    jobs += [(extra["combination"], extra["python"]) for extra in matrix["include"]]
    assert {python for _, python in jobs} == {"3.11", "3.12", "3.13"}
    assert all(name in COMBINATIONS for name, _ in jobs)
    assert len(jobs) == len(set(jobs)) == len(COMBINATIONS) + 2
    steps = WORKFLOW["jobs"]["rendered"]["steps"]
    [setup] = [step for step in steps if step.get("uses", "").startswith("actions/setup-python@")]
    [cache] = [step for step in steps if step.get("uses", "").startswith("actions/cache@")]
    assert setup["with"]["python-version"] == "${{ matrix.python }}"
    assert "${{ matrix.python }}" in cache["with"]["key"]  # a wheel built for one Python only


def test_the_workflows_pass_zizmor_with_every_action_pinned():
    workflows = TEMPLATE / ".github" / "workflows"
    assert zizmor_findings(workflows) == []
    uses = uses_lines(workflows)
    assert uses and all(PINNED_USES.match(line) for line in uses), uses


COMMUNITY = yaml.safe_load((TEMPLATE / ".github" / "workflows" / "community.yml").read_text(encoding="utf-8"))


def test_the_community_board_is_posted_on_a_schedule_with_least_privilege():
    """kto community's board, daily: read-only, no kept credentials, secrets only through env."""
    assert COMMUNITY[True]["schedule"] and "workflow_dispatch" in COMMUNITY[True]  # yaml reads `on` as True
    assert COMMUNITY["permissions"] == {}
    [job] = COMMUNITY["jobs"].values()
    assert job["permissions"] == {"contents": "read"}
    assert all(step["with"]["persist-credentials"] is False for step in checkouts(COMMUNITY))
    runs = [step for step in job["steps"] if "run" in step]
    assert any("kto community --hub-only --markdown board.md" in step["run"] for step in runs)
    assert all("${{" not in step["run"] for step in runs)  # secrets reach commands through env only
    posts = {
        name: step for step in runs for name in ("DISCORD_WEBHOOK", "HF_TOKEN") if name in step.get("env", {})
    }
    assert posts.keys() == {"DISCORD_WEBHOOK", "HF_TOKEN"}
    assert all(f"env.{name} != ''" in step["if"] for name, step in posts.items())  # skipped when unset
    assert "board.md README.md --repo-type dataset" in posts["HF_TOKEN"]["run"]
