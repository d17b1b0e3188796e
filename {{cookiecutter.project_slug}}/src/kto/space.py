"""``kto space create``: the annotation Space on the Hugging Face Hub.

Argilla's own Spaces image (Docker SDK) with "Sign in with Hugging Face": anyone who can see the
Space joins as an annotator in the allowed workspace. Secrets come from the environment and go
straight to the Hub's secret store; no file ever holds them.
"""

import os
import secrets
from dataclasses import dataclass, field

from kto.config import ProjectConfig
from kto.errors import KtoError

# The last Argilla release, matching the SDK kto speaks (argilla==2.8.0).
IMAGE = "argilla/argilla-hf-spaces:v2.8.0"
STORAGE_NOTE = (
    "The Space keeps no data across a restart: Spaces persistent storage is gone, and the Storage "
    "Bucket that replaces it has no file locking, which the SQLite file Argilla keeps under /data "
    "needs, so kto mounts none. Back up every hour: add the repository secrets ARGILLA_API_URL, "
    "ARGILLA_API_KEY and HF_TOKEN on GitHub for .github/workflows/backup.yml. After a restart, "
    '`kto restore` puts the latest backup back (README: "If the Space restarts").'
)
# argilla-io/argilla#5802: the OAuth sign-in fails behind a private Space's own Hub sign-in.
PRIVATE_SIGN_IN = (
    '"Sign in with Hugging Face" does not work on a private Argilla Space (argilla-io/argilla#5802): '
    "volunteers cannot join with their Hub accounts. Keep the campaign's Space public, or give each "
    "annotator an Argilla username and password yourself"
)


@dataclass
class SpacePlan:
    repo_id: str
    private: bool
    files: dict[str, str]
    secrets: dict[str, str] = field(repr=False)
    generated_api_key: bool = False

    def describe(self) -> str:
        lines = [
            f"Space {self.repo_id} ({'private' if self.private else 'public'}), Docker SDK, image {IMAGE}"
        ]
        lines += [f"  file {name} ({len(text.encode())} bytes)" for name, text in self.files.items()]
        lines += [f"  secret {name} (value hidden)" for name in self.secrets]
        return "\n".join(lines)


@dataclass
class SpaceReport:
    plan: SpacePlan
    url: str | None  # None with --dry-run: nothing was created
    warnings: list[str] = field(default_factory=list)


GUIDE = "docs/volunteer-guide.md"


def volunteer_guide(config: ProjectConfig) -> str:
    """The volunteers' guide, which the Space shows as its page; it must name the labels and
    fields people will see, as project.yaml has them now."""
    path = config.path(GUIDE)
    if not path.is_file():
        raise KtoError("space", f"{GUIDE} is missing: the Space's page is the volunteers' guide")
    text = path.read_text(encoding="utf-8")
    for key in ("label_up", "label_down", "prompt_title", "response_title"):
        if (named := getattr(config.argilla, key)) not in text:
            raise KtoError("space", f"{GUIDE} does not name argilla.{key} {named!r}: update the guide")
    return text


def space_files(config: ProjectConfig, title: str) -> dict[str, str]:
    readme = (
        "---\n"
        f"title: {title}\n"
        "emoji: 👍\n"
        "colorFrom: yellow\n"
        "colorTo: red\n"
        "sdk: docker\n"
        "app_port: 6900\n"
        "hf_oauth: true\n"
        "pinned: false\n"
        "---\n\n"
    ) + volunteer_guide(config)
    dockerfile = (
        f"FROM {IMAGE}\n"
        "# Who may join with Hugging Face sign-in, and into which workspace.\n"
        "COPY .oauth.yaml /home/argilla/\n"
    )
    oauth = (
        "providers:\n"
        "  - name: huggingface\n"
        "# Hugging Face sign-ins join these workspaces as annotators (they must exist).\n"
        "allowed_workspaces:\n"
        f"  - name: {config.argilla.workspace}\n"
    )
    return {"README.md": readme, "Dockerfile": dockerfile, ".oauth.yaml": oauth}


def plan(config: ProjectConfig, repo_id: str, private: bool, hub_user: str | None) -> SpacePlan:
    """What ``create`` will make. The owner's API key comes from ARGILLA_API_KEY, or is made up
    here and shown once; USERNAME is needed only when an organisation owns the Space."""
    api_key = os.environ.get("ARGILLA_API_KEY")
    space_secrets = {"API_KEY": api_key or f"owner.{secrets.token_urlsafe(24)}"}
    namespace = repo_id.split("/")[0]
    if hub_user and namespace != hub_user:
        space_secrets["USERNAME"] = hub_user
    if password := os.environ.get("ARGILLA_PASSWORD"):
        space_secrets["PASSWORD"] = password
    title = f"{config.task.name.capitalize()} ratings, {config.language.native_name}"
    return SpacePlan(repo_id, private, space_files(config, title), space_secrets, not api_key)


def hub_user(api) -> str:
    from kto.hub import cause, why_unreachable

    if problem := why_unreachable():
        raise KtoError("space", f"cannot sign in to the Hub: {problem}")
    try:
        return api.whoami()["name"]
    except Exception as error:  # no token, or a refused one: cause() tells them apart
        raise KtoError("space", f"cannot sign in to the Hub: {cause(error)}") from error


def create(api, space: SpacePlan) -> str:
    from huggingface_hub import CommitOperationAdd

    from kto.hub import cause

    try:
        api.create_repo(
            space.repo_id, repo_type="space", space_sdk="docker", private=space.private, exist_ok=True
        )
        api.create_commit(
            space.repo_id,
            repo_type="space",
            operations=[CommitOperationAdd(name, text.encode()) for name, text in space.files.items()],
            commit_message="Argilla annotation Space, made by kto space create",
        )
        for name, value in space.secrets.items():
            api.add_space_secret(space.repo_id, name, value)
    except Exception as error:
        raise KtoError("space", f"could not create {space.repo_id}: {cause(error)}") from error
    return f"https://huggingface.co/spaces/{space.repo_id}"


def run(config: ProjectConfig, name: str | None, *, private: bool, dry_run: bool) -> SpaceReport:
    """``kto space create``: the Space ``name`` (default: ``config.space_repo``), or with
    ``dry_run`` only its plan; a private Space comes with the warning that sign-in fails there."""
    from huggingface_hub import HfApi

    api = HfApi()
    space = plan(config, name or config.space_repo, private, None if dry_run else hub_user(api))
    warnings = [PRIVATE_SIGN_IN] if private else []
    return SpaceReport(space, None if dry_run else create(api, space), warnings)
