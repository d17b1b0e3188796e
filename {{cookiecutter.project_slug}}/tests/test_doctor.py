"""kto doctor against real parts: the llama.cpp server, a local Argilla, and the Hub's double."""

import re

import pytest
from helpers import edit_config, free_port, openai_slot, run_kto, served, use_models
from hub_double import HubDouble

from kto import argilla_dataset, doctor, serving
from kto.config import HF_ROUTER_URL, ModelSlot, load_config
from kto.errors import KtoError

NOWHERE = {"ARGILLA_API_URL": "", "ARGILLA_API_KEY": ""}


def lines(result, start: str) -> list[str]:
    return [line for line in result.stdout.splitlines() if line.startswith(start)]


def use_judge(project, slot: dict) -> None:
    edit_config(project, lambda config: config["suggest"].update(judge=slot))


def offline_models(project) -> None:
    """Slots on a port where nothing listens: the checks under test need no model server."""
    slot = openai_slot("team/model", f"http://127.0.0.1:{free_port()}/v1")
    use_models(project, slot)
    use_judge(project, slot)


def test_a_fresh_project_names_the_missing_hf_token_in_one_line(project, tmp_path):
    router = [openai_slot(m, HF_ROUTER_URL, api_key_env="HF_TOKEN") for m in ("org/a-Instruct", "org/b-it")]
    use_models(project, *router)
    use_judge(project, router[0])
    # No token anywhere: not in the environment, not stored by `hf auth login` in HF_HOME.
    result = run_kto(project, "doctor", env={"HF_TOKEN": "", "HF_HOME": str(tmp_path / "hf"), **NOWHERE})
    assert result.returncode == 1, result.stderr
    (named,) = [line for line in result.stdout.splitlines() if "HF_TOKEN" in line]
    assert named.startswith("fail key HF_TOKEN: not set (needed by org/a-Instruct, org/b-it)")
    assert "hf auth login" in named
    assert lines(result, "ok   config")
    assert lines(result, "warn argilla: no server configured yet")
    assert "Traceback" not in result.stderr


def test_an_invalid_project_file_is_a_failing_check(project):
    edit_config(project, lambda config: config["generation"].update(max_new_tokens=0))
    result = run_kto(project, "doctor", env=NOWHERE)
    assert result.returncode == 1
    (line,) = lines(result, "fail config")
    assert "generation.max_new_tokens" in line


@pytest.mark.slow
def test_models_against_the_llama_cpp_server(project, server):
    down = f"http://127.0.0.1:{free_port()}/v1"
    listed = ModelSlot(**served("team/listed", server))
    unlisted = ModelSlot(id="team/unlisted", backend="openai", base_url=server)
    gone = ModelSlot(**served("team/gone", down))
    thinking = ModelSlot(**served("Qwen/Qwen3-235B-A22B", server))
    local = ModelSlot(id="tiny", backend="local")
    findings = {
        (f.check, f.status): f for f in doctor.check_models([listed, unlisted, gone, thinking, local])
    }
    assert set(findings) == {
        ("model team/listed", "ok"),
        ("model team/unlisted", "fail"),
        ("model team/gone", "fail"),
        ("model Qwen/Qwen3-235B-A22B", "ok"),  # served, but...
        ("model Qwen/Qwen3-235B-A22B", "warn"),  # ...it thinks first
    }
    assert f"team/unlisted is not served by {server}" in findings["model team/unlisted", "fail"].message
    assert "no answer" in findings["model team/gone", "fail"].message
    with pytest.raises(KtoError, match=r"model team/unlisted: team/unlisted is not served .*1 more"):
        serving.raise_on_failure(doctor.check_models([listed, unlisted, gone]))
    serving.raise_on_failure(doctor.check_models([listed, thinking]))  # a warning stops nothing

    # The command: a slot whose model the server does not list is named, and the run fails.
    use_models(project, served("team/listed", server), openai_slot("team/unlisted", server))
    use_judge(project, served("team/judge", server))
    result = run_kto(project, "doctor", env=NOWHERE)
    assert result.returncode == 1, result.stderr
    assert lines(result, "ok   model team/listed: served by")
    assert lines(result, "ok   judge team/judge: served by")
    (line,) = lines(result, "fail model team/unlisted")
    assert "set served_model" in line


@pytest.mark.slow
def test_the_cpu_and_the_embedded_model_in_a_process_of_its_own(project):
    pytest.importorskip("llama_cpp.server")
    offline_models(project)
    result = run_kto(project, "doctor", env=NOWHERE)
    (cpu,) = lines(result, "ok   cpu: ")
    assert re.search(r": AVX2 (yes|no), AVX-512 (yes|no), AMX (yes|no); weight repacking (on|off)", cpu), cpu
    assert lines(result, "ok   embedded model: answered in a process of its own ('")
    assert not list((project / ".cache" / "kto" / "embedded").glob("*.pid"))  # and it has ended

    forced = run_kto(project, "doctor", env={**NOWHERE, "KTO_LLAMA_REPACK": "off"})
    (cpu,) = lines(forced, "ok   cpu: ")
    assert cpu.endswith("weight repacking off (KTO_LLAMA_REPACK)")
    assert lines(forced, "ok   embedded model: answered")
    wrong = run_kto(project, "doctor", env={**NOWHERE, "KTO_LLAMA_REPACK": "sometimes"})
    (line,) = lines(wrong, "fail cpu: ")
    assert "KTO_LLAMA_REPACK: 'sometimes' is not one of on, off, auto -> set it to on, off or auto" in line


@pytest.mark.parametrize(
    ("model", "thinks"),
    [
        ("Qwen/Qwen3-235B-A22B", True),
        ("Qwen/Qwen3-32B", True),
        ("Qwen/Qwen3-235B-A22B-Thinking-2507", True),
        ("deepseek-ai/DeepSeek-R1", True),
        ("deepseek-ai/DeepSeek-R1-Distill-Qwen-32B", True),
        ("Qwen/QwQ-32B", True),
        ("moonshotai/Kimi-K2-Thinking", True),
        ("microsoft/Phi-4-reasoning", True),
        ("Qwen/Qwen3-235B-A22B-Instruct-2507", False),
        ("Qwen/Qwen3-Coder-480B-A35B-Instruct", False),
        ("Qwen/Qwen2.5-72B-Instruct", False),
        ("meta-llama/Llama-3.3-70B-Instruct", False),
        ("deepseek-ai/DeepSeek-V3-0324", False),
    ],
)
def test_thinking_by_default_picks_are_recognised(model, thinks):
    assert bool(doctor.THINKING.search(model)) is thinks


@pytest.mark.slow
def test_argilla_key_and_dataset_settings(annotation_project, argilla_server, monkeypatch):
    config = load_config(annotation_project / "project.yaml")
    first, dataset = doctor.check_argilla(config)
    assert (first.status, dataset.status) == ("ok", "ok")
    assert "does not exist yet" in dataset.message

    argilla_dataset.ensure_dataset(argilla_server.client(), config)
    assert [f.status for f in doctor.check_argilla(config)] == ["ok", "ok"]

    edit_config(annotation_project, lambda c: c["argilla"].update(min_submitted=3))
    _, changed = doctor.check_argilla(load_config(annotation_project / "project.yaml"))
    assert changed.status == "warn"  # Argilla changes it, on the next kto annotate
    assert changed.message.endswith("differs from project.yaml in min_submitted")
    assert changed.fix == "kto annotate updates the dataset"

    monkeypatch.setenv("ARGILLA_API_KEY", "wrong.apikey")
    offline_models(annotation_project)
    result = run_kto(annotation_project, "doctor")
    assert result.returncode == 1
    (line,) = lines(result, "fail argilla:")
    assert f"{argilla_server.url} refused the API key" in line


def test_the_hub_token_and_its_write_access(project, hub):
    double, env = hub
    offline_models(project)
    edit_config(project, lambda config: config["hub"].update(namespace=double.user))
    result = run_kto(project, "doctor", env={**env, **NOWHERE})
    assert lines(result, f"ok   hub: token of {double.user}, who may write to {double.user}"), result.stderr
    assert "GET /api/whoami-v2" in double.requests

    refused = run_kto(project, "doctor", env={**env, **NOWHERE, "HF_TOKEN": "hf_wrong"})
    assert refused.returncode == 1
    (line,) = lines(refused, "fail hub: the Hub refused the token (HTTP 401)")
    assert "hf_wrong" not in line  # never printed

    closed = {"HF_ENDPOINT": f"http://127.0.0.1:{free_port()}"}  # a token, and no Hub to show it to
    unreachable = run_kto(project, "doctor", env={**env, **NOWHERE, **closed})
    (line,) = lines(unreachable, "fail hub: the token was not checked: cannot reach the Hub at ")
    assert "refused the token" not in line and "check HF_TOKEN" not in line


def test_the_judge_is_labelled_when_it_is_also_a_generator(project):
    slot = openai_slot("team/model", f"http://127.0.0.1:{free_port()}/v1")
    use_models(project, slot)
    use_judge(project, slot)
    result = run_kto(project, "doctor", env=NOWHERE)
    assert len(lines(result, "fail model team/model:")) == 1
    assert len(lines(result, "fail judge team/model:")) == 1


@pytest.mark.parametrize(
    ("double", "namespace", "status", "says"),
    [
        (HubDouble(), "alice", "ok", "who may write to alice"),
        (HubDouble(token_role="read"), "alice", "fail", "read-only"),
        (HubDouble(orgs=[{"name": "my-org", "roleInOrg": "write"}]), "my-org", "ok", "write in my-org"),
        (HubDouble(orgs=[{"name": "my-org", "roleInOrg": "read"}]), "my-org", "fail", "cannot write"),
        (HubDouble(), "my-org", "fail", "alice is not a member of my-org"),
        (
            HubDouble(
                token_role="fineGrained",
                orgs=[{"name": "my-org", "roleInOrg": "admin"}],
                fine_grained={
                    "scoped": [{"entity": {"name": "my-org"}, "permissions": ["repo.content.read"]}]
                },
            ),
            "my-org",
            "fail",
            "fine-grained token of alice cannot write to my-org",
        ),
        (
            HubDouble(
                token_role="fineGrained",
                orgs=[{"name": "my-org", "roleInOrg": "admin"}],
                fine_grained={"scoped": [{"entity": {"name": "my-org"}, "permissions": ["repo.write"]}]},
            ),
            "my-org",
            "ok",
            "admin in my-org",
        ),
    ],
)
def test_write_access_follows_the_token_and_the_role(double, namespace, status, says):
    finding = doctor.write_access(double.whoami(), namespace)
    assert finding.status == status
    assert says in finding.message


def speaks(project, code: str, gate: str = "drop") -> None:
    edit_config(project, lambda config: config["checks"].update(expected_language=None, language=gate))
    edit_config(project, lambda config: config["language"].update(code=code, name="West Frisian"))


@pytest.mark.slow  # kto doctor runs every check: about 45 s here
def test_a_language_lingua_does_not_know_is_said_in_one_line(project):
    """Frisian: the language gate and eval's wrong-language rule are off, and doctor says so once."""
    offline_models(project)
    speaks(project, "fy")
    result = run_kto(project, "doctor", env=NOWHERE)
    (found,) = lines(result, "warn language gate:")
    assert "lingua does not know 'fy' (West Frisian)" in found and "wrong-language rule are off" in found


@pytest.mark.parametrize(
    ("code", "gate", "said"), [("fy", "drop", True), ("nl", "drop", False), ("fy", "off", False)]
)
def test_only_a_gate_that_cannot_run_is_reported(project, code, gate, said):
    speaks(project, code, gate)
    assert (doctor.detector_finding(load_config(project / "project.yaml")) is not None) is said


def test_every_model_slot_the_project_configures_has_one_line(project, fake_provider):
    """Generation's models, suggest's judge, the prompt writer and eval's three models, each on a
    line named by its role; the writer and the tuned model are not served."""
    _, url = fake_provider(["team/model", "team/judge", "team/base"])
    use_models(project, openai_slot("team/model", url))
    use_judge(project, openai_slot("team/judge", url))

    def change(config):
        config["prompts"]["writer"] = openai_slot("team/writer", url)
        config["eval"] = {
            role: openai_slot(f"team/{name}", url)
            for role, name in (("base", "base"), ("tuned", "tuned"), ("judge", "judge"))
        }

    edit_config(project, change)
    result = run_kto(project, "doctor", env=NOWHERE)
    assert result.returncode == 1, result.stderr
    found = [line.split(":")[0] for line in result.stdout.splitlines() if "team/" in line]
    assert found == [
        "ok   model team/model",
        "ok   judge team/judge",
        "fail writer team/writer",
        "ok   eval base team/base",
        "fail eval tuned team/tuned",
        "ok   eval judge team/judge",
    ]
