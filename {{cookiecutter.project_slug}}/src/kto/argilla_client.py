"""The connection to an Argilla server: the project's Space, any server, or the local one."""

import os
from urllib.parse import urlparse

from dotenv import dotenv_values

from kto.argilla_local import LocalArgilla, quiet_sdk
from kto.config import ProjectConfig
from kto.errors import KtoError, one_line, short


def connect(config: ProjectConfig):
    """An Argilla client from ARGILLA_API_URL / ARGILLA_API_KEY (environment or .env), else
    from the local server's .argilla/local.env."""
    import argilla as rg

    quiet_sdk()
    url, key = os.environ.get("ARGILLA_API_URL"), os.environ.get("ARGILLA_API_KEY")
    source = "the environment (ARGILLA_API_URL, ARGILLA_API_KEY)"
    if not url:
        local = LocalArgilla(config.root).env_file
        values = dotenv_values(local) if local.exists() else {}
        url, key, source = values.get("ARGILLA_API_URL"), values.get("ARGILLA_API_KEY"), str(local)
    if not url:
        raise KtoError("argilla", "no server: set ARGILLA_API_URL and ARGILLA_API_KEY, or run kto argilla up")
    if not key:
        raise KtoError("argilla", f"no API key for {url}: set ARGILLA_API_KEY")
    try:
        return rg.Argilla(api_url=url, api_key=key, headers=space_headers(url), timeout=60, retries=1)
    except Exception as error:  # the SDK checks the connection and the key right away
        text = one_line(error)
        if "401" in text or "Unauthorized" in text or "credentials" in text.lower():
            raise KtoError("argilla", f"{url} refused the API key from {source}") from error
        raise KtoError("argilla", f"cannot reach {url}, set in {source}: {short(text)}") from error


def space_headers(url: str) -> dict[str, str]:
    """A private Space sits behind Hugging Face sign-in: HF_TOKEN goes to Spaces, nowhere else."""
    token = os.environ.get("HF_TOKEN")
    if token and (urlparse(url).hostname or "").endswith(".hf.space"):
        return {"Authorization": f"Bearer {token}"}
    return {}


def open_dataset(config: ProjectConfig):
    """The client and the configured dataset, which must exist already (kto annotate makes it)."""
    client = connect(config)
    name, workspace = config.argilla.dataset, config.argilla.workspace
    dataset = client.datasets(name, workspace=workspace)
    if dataset is None:
        backup = config.backup.output
        step = (
            f"kto restore puts the backup {backup} back (a wiped server, a restarted Space), "
            "or kto annotate starts it"
            if config.path(backup).exists()
            else "run kto annotate first, or kto restore if it held ratings before (a restarted Space)"
        )
        raise KtoError("argilla", f"no dataset {workspace}/{name} on {client.api_url}: {step}")
    return client, dataset
