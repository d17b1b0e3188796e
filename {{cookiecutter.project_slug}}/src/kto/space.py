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
    image: str = IMAGE

    def describe(self) -> str:
        kind = "private" if self.private else "public"
        lines = [f"Space {self.repo_id} ({kind}), Docker SDK, image {self.image}"]
        shown = {name: text for name, text in self.files.items() if not name.startswith("project/")}
        lines += [f"  file {name} ({len(text.encode())} bytes)" for name, text in shown.items()]
        if copied := len(self.files) - len(shown):
            lines.append(f"  the project's code and settings under project/ ({copied} files)")
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


# -- the watcher's companion Space (kto space create --watch) -----------------------------------

WATCH_IMAGE = "python:3.11-slim"
WATCH_PORT = 7860  # the port a Docker Space serves
# What the companion needs of the project to install and run kto: its settings and kto's code.
PROJECT_FILES = ("pyproject.toml", "project.yaml", "README.md")
CODE_FILES = ("**/*.py", "templates/*")


def space_host(repo_id: str) -> str:
    """The public address of a Space: https://<owner>-<name>.hf.space."""
    return "https://" + repo_id.replace("/", "-").replace("_", "-").replace(".", "-").lower() + ".hf.space"


def watch_plan(config: ProjectConfig, argilla_repo: str, api_key: str) -> SpacePlan:
    """The companion Space that runs ``kto watch`` for the Argilla Space ``argilla_repo``. It is
    public (Argilla's deliveries carry no Hub token; each is signed instead); its secrets are the
    Argilla Space's address and owner key and a token that may write the backup dataset."""
    from huggingface_hub import get_token

    repo_id = f"{argilla_repo.removesuffix('-argilla')}-watch"
    url = f"{space_host(repo_id)}/webhook"
    readme = (
        f"---\ntitle: Ratings watcher\nemoji: 📓\ncolorFrom: gray\ncolorTo: yellow\nsdk: docker\n"
        f"app_port: {WATCH_PORT}\npinned: false\n---\n\n"
        f"`kto watch` for {space_host(argilla_repo)}: every rating change, journalled and pushed to "
        f"{config.hub.ratings_backup_repo} within a minute (the project's README: The ratings watcher).\n"
    )
    dockerfile = (
        f"FROM {WATCH_IMAGE}\nCOPY project /app\nWORKDIR /app\nRUN pip install --no-cache-dir .\n"
        "# The journal lives in data/ until its push (a Space runs as user 1000); the Hub keeps it.\n"
        "RUN mkdir -p data && chmod 777 data\n"
        f'CMD ["kto", "watch", "--host", "0.0.0.0", "--port", "{WATCH_PORT}", "--url", "{url}"]\n'
    )
    files = {"README.md": readme, "Dockerfile": dockerfile, **project_files(config)}
    space_secrets = {
        "ARGILLA_API_URL": space_host(argilla_repo),
        "ARGILLA_API_KEY": api_key,
        "HF_TOKEN": os.environ.get("HF_TOKEN") or get_token() or "",
    }
    if missing := [name for name, value in space_secrets.items() if not value]:
        raise KtoError("watch", f"set {' and '.join(missing)}: the watcher's Space needs them as secrets")
    return SpacePlan(repo_id, False, files, space_secrets, image=WATCH_IMAGE)


def project_files(config: ProjectConfig) -> dict[str, str]:
    """The project's settings and the kto code running now, as the companion installs them."""
    from pathlib import Path

    files = {}
    for name in PROJECT_FILES:
        if not config.path(name).is_file():
            raise KtoError(
                "watch", f"{config.path(name)} is missing: the watcher's Space installs the project"
            )
        files[f"project/{name}"] = config.path(name).read_text(encoding="utf-8")
    package = Path(__file__).parent
    for pattern in CODE_FILES:
        for path in sorted(package.glob(pattern)):
            if path.is_file() and "__pycache__" not in path.parts:
                name = f"project/src/kto/{path.relative_to(package).as_posix()}"
                files[name] = path.read_text(encoding="utf-8")
    return files


def run_watch(config: ProjectConfig, argilla: SpacePlan, *, dry_run: bool) -> tuple[SpacePlan, str | None]:
    """``kto space create --watch``: the companion Space beside ``argilla`` (None: --dry-run)."""
    from huggingface_hub import HfApi

    companion = watch_plan(config, argilla.repo_id, argilla.secrets["API_KEY"])
    return companion, None if dry_run else create(HfApi(), companion)
