"""kto space create: --dry-run, and a real create against a double of the Hub's HTTP API."""

import yaml
from helpers import CASE, edit_config, free_port, run_kto, use_models, write_generations

OWNER_KEY = "owner.kept-out-of-every-file-1234"


def run_against(hub, project, *args, token: str | None = None):
    _, env = hub
    return run_kto(
        project, *args, env={**env, "ARGILLA_API_KEY": OWNER_KEY, **({"HF_TOKEN": token} if token else {})}
    )


def front_matter(readme: str) -> dict:
    return yaml.safe_load(readme.split("---")[1])


def test_dry_run_shows_everything_and_creates_nothing(project, hub):
    double, _ = hub
    result = run_against(hub, project, "space", "create", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "Docker SDK" in result.stderr and "secret API_KEY (value hidden)" in result.stderr
    assert "--- Dockerfile" in result.stderr and "argilla/argilla-hf-spaces:v2.8.0" in result.stderr
    assert "persistent storage" in result.stderr
    assert OWNER_KEY not in result.stderr + result.stdout
    assert double.requests == []


def test_create_makes_an_oauth_docker_space_with_secrets_from_the_environment(project, hub):
    double, _ = hub
    result = run_against(hub, project, "space", "create")
    assert result.returncode == 0, result.stderr
    config = yaml.safe_load((project / "project.yaml").read_text(encoding="utf-8"))
    repo = f"space/{config['hub']['namespace']}/{config['argilla']['dataset']}-argilla"
    assert double.repos[repo]["sdk"] == "docker"
    assert double.repos[repo]["private"] is False  # public unless asked: anyone may sign in and rate
    files = {name: content.decode() for name, content in double.files[repo].items()}
    assert set(files) == {"README.md", "Dockerfile", ".oauth.yaml"}
    meta = front_matter(files["README.md"])
    assert (meta["sdk"], meta["app_port"], meta["hf_oauth"]) == ("docker", 6900, True)
    # The Space's page is the volunteers' guide.
    guide = (project / "docs" / "volunteer-guide.md").read_text(encoding="utf-8")
    assert files["README.md"].split("---\n", 2)[2] == "\n" + guide
    assert yaml.safe_load(files[".oauth.yaml"])["allowed_workspaces"] == [
        {"name": config["argilla"]["workspace"]}
    ]
    assert "COPY .oauth.yaml" in files["Dockerfile"]
    # An organisation owns the Space, so the creator is named its owner; the key is the environment's.
    assert double.secrets[repo] == {"API_KEY": OWNER_KEY, "USERNAME": "alice"}
    assert OWNER_KEY not in result.stderr + result.stdout
    assert not any(
        OWNER_KEY in path.read_text(errors="ignore") for path in project.rglob("*") if path.is_file()
    )
    assert "persistent storage" in result.stderr
    # The same hint as the README's "If the Space restarts": the backup workflow's secrets, kto restore.
    assert "ARGILLA_API_URL, ARGILLA_API_KEY and HF_TOKEN" in result.stderr and "kto restore" in result.stderr

    again = run_against(hub, project, "space", "create")
    assert again.returncode == 0, again.stderr  # re-running updates the same Space


def test_a_private_space_comes_with_the_sign_in_warning(project, hub):
    """Sign in with Hugging Face fails on private Argilla Spaces (argilla-io/argilla#5802)."""
    from kto import space
    from kto.config import load_config

    config = load_config(project / "project.yaml")
    report = space.run(config, None, private=True, dry_run=True)
    assert report.url is None and report.plan.private and report.plan.repo_id == config.space_repo
    assert report.warnings == [space.PRIVATE_SIGN_IN] and "argilla-io/argilla#5802" in space.PRIVATE_SIGN_IN
    assert space.run(config, "team/other", private=False, dry_run=True).warnings == []

    double, _ = hub
    shown = run_against(hub, project, "space", "create", "--private", "--dry-run")
    assert shown.returncode == 0, shown.stderr
    assert 'warning: "Sign in with Hugging Face" does not work on a private Argilla Space' in shown.stderr
    assert double.requests == []


def test_the_storage_note_says_why_no_bucket_is_mounted():
    from kto import space

    note = space.STORAGE_NOTE
    assert "persistent storage is gone" in note and "no file locking" in note and "SQLite" in note
    assert "kto restore" in note and "every hour" in note


def test_a_guide_that_no_longer_names_the_labels_is_refused(project, hub):
    double, _ = hub
    edit_config(project, lambda config: config["argilla"].update(label_down="Needs work"))
    result = run_against(hub, project, "space", "create", "--dry-run")
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "error: space: docs/volunteer-guide.md does not name argilla.label_down 'Needs work': "
        "update the guide"
    )
    (project / "docs" / "volunteer-guide.md").unlink()
    missing = run_against(hub, project, "space", "create", "--dry-run")
    assert missing.stderr.strip() == (
        "error: space: docs/volunteer-guide.md is missing: the Space's page is the volunteers' guide"
    )
    assert double.requests == []


def test_a_bad_token_is_one_line(project, hub):
    result = run_against(hub, project, "space", "create", token="hf_wrong")
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: space: cannot sign in to the Hub: ")
    assert "the Hub refused the token (HTTP 401)" in lines[0] and "cannot reach" not in lines[0]


def with_answers_from_every_model(project, prompts: int) -> None:
    """A generations file whose models are the project's, so ``kto generate`` asks nothing."""
    write_generations(project, prompts=prompts)
    use_models(
        project,
        *(
            {"id": f"team/model-{m}", "backend": "openai", "base_url": "http://127.0.0.1:9/v1"}
            for m in (0, 1)
        ),
    )


def test_an_unreachable_hub_is_named_as_such_not_as_a_token_problem(project):
    """A token set and no network: the cause is the network, in every command that meets the Hub."""
    closed = {"HF_ENDPOINT": f"http://127.0.0.1:{free_port()}", "HF_HUB_OFFLINE": "0", "HF_TOKEN": "hf_x"}
    closed["OPENAI_API_KEY"] = "x"  # a self-hosted project's models ask for it before anything else
    with_answers_from_every_model(project, prompts=1)
    for command in (("space", "create"), ("backup", "--list"), ("generate", "--prompts", "p.txt", "--push")):
        (project / "p.txt").write_text("Prompt number 0\n", encoding="utf-8")
        result = run_kto(project, *command, env={"ARGILLA_API_KEY": OWNER_KEY, **closed})
        assert result.returncode == 1, result.stderr
        last = result.stderr.strip().splitlines()[-1]
        assert "cannot reach the Hub at http://127.0.0.1:" in last, (command, last)
        assert "HF_TOKEN" not in last and "refused the token" not in last, (command, last)
    offline = run_kto(project, "space", "create", env={"ARGILLA_API_KEY": OWNER_KEY, "HF_HUB_OFFLINE": "1"})
    assert "HF_HUB_OFFLINE is set" in offline.stderr and "HF_TOKEN" not in offline.stderr


def test_generate_push_uploads_a_private_dataset(project, hub):
    double, _ = hub
    with_answers_from_every_model(project, prompts=2)
    (project / "p.txt").write_text("Prompt number 0\nPrompt number 1\n", encoding="utf-8")
    pushed = run_against(hub, project, "generate", "--prompts", "p.txt", "--push")
    assert pushed.returncode == 0, pushed.stderr
    assert "already have a response from every model" in pushed.stderr  # nothing generated, only pushed
    config = yaml.safe_load((project / "project.yaml").read_text(encoding="utf-8"))
    repo = f"dataset/{config['hub']['namespace']}/{config['hub']['dataset']}-generations"
    assert double.repos[repo]["private"] is True
    uploaded = double.files[repo]["data/train-00000-of-00001.parquet"]
    assert uploaded == (project / "data" / "generations.parquet").read_bytes()

    refused = run_against(hub, project, "generate", "--prompts", "p.txt", "--push", token="hf_wrong")
    assert refused.returncode == 1
    assert (
        refused.stderr.strip().splitlines()[-1].startswith("error: push: could not push generations.parquet")
    )


def test_the_docker_compose_file_pins_its_images_and_holds_no_secret():
    from helpers import PROJECT

    text = (PROJECT / "docker-compose.yaml").read_text(encoding="utf-8")
    compose = yaml.safe_load(text)
    assert set(compose["services"]) == {"argilla", "worker", "postgres", "elasticsearch", "redis"}
    images = [service["image"] for service in compose["services"].values()]
    assert all(":" in image and not image.endswith(":latest") for image in images), images
    assert compose["services"]["argilla"]["image"] == "argilla/argilla-server:v2.8.0"
    owner = compose["services"]["argilla"]["environment"]
    assert owner["API_KEY"].startswith("${ARGILLA_API_KEY:?") and owner["PASSWORD"].startswith(
        "${ARGILLA_PASSWORD:?"
    )
    assert owner["WORKSPACE"] == "argilla" and owner["ARGILLA_ENABLE_TELEMETRY"] == "0"


def test_export_push_uploads_both_configs_and_the_card(project, hub):
    from kto.ratings import save

    double, _ = hub
    save(CASE, project / "ratings.parquet")
    pushed = run_against(hub, project, "export", "--from", "ratings.parquet", "--push")
    assert pushed.returncode == 0, pushed.stderr
    config = yaml.safe_load((project / "project.yaml").read_text(encoding="utf-8"))
    repo = f"dataset/{config['hub']['namespace']}/{config['hub']['dataset']}"
    assert double.repos[repo]["private"] is True
    export = project / "data" / "export"
    assert set(double.files[repo]) == {str(p.relative_to(export)) for p in export.rglob("*") if p.is_file()}
    assert double.files[repo]["kto/train.parquet"] == (export / "kto" / "train.parquet").read_bytes()
    assert front_matter(double.files[repo]["README.md"].decode())["configs"][1]["config_name"] == "dpo"
