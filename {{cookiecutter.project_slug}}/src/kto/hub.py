"""Pushing project data to the Hugging Face Hub (private by default), and naming what went wrong:
a Hub that cannot be reached is one cause, a Hub that refuses the token another, with other fixes."""

from collections.abc import Callable
from pathlib import Path

from kto.errors import KtoError, short

# Where a parquet file pushed as a dataset's train split lives in the repository.
TRAIN_FILE = "data/train-00000-of-00001.parquet"
PROBE_TIMEOUT = 3.0  # seconds for the one try at reaching the Hub
OFFLINE = "HF_HUB_OFFLINE is set, so the Hub is not asked: unset it to go online"


def push_parquet(path: Path, repo_id: str, *, private: bool, message: str | None = None) -> str:
    """Upload ``path`` as the ``train`` split of dataset ``repo_id`` in one commit (titled
    ``message``); returns the dataset URL.

    A parquet file under ``data/`` named ``train-*`` is what the Hub (and ``load_dataset``) read
    as the train split, so no loading script or card is needed.
    """
    return _push(
        repo_id,
        private,
        path.name,
        lambda api: api.upload_file(
            path_or_fileobj=str(path),
            path_in_repo=TRAIN_FILE,
            repo_id=repo_id,
            repo_type="dataset",
            commit_message=message or f"Update {path.name} with kto",
        ),
    )


def push_folder(folder: Path, repo_id: str, *, private: bool, repo_type: str = "dataset") -> str:
    """Upload a whole folder: an export (its card names the configs and their files), or a model."""
    return _push(
        repo_id,
        private,
        f"{folder.name}/",
        lambda api: api.upload_folder(
            folder_path=str(folder), repo_id=repo_id, repo_type=repo_type, commit_message="Upload with kto"
        ),
        repo_type,
    )


def _push(repo_id: str, private: bool, what: str, upload: Callable, repo_type: str = "dataset") -> str:
    from huggingface_hub import HfApi

    if problem := why_unreachable():
        raise KtoError("push", f"could not push {what} to {repo_id}: {problem}")
    api = HfApi()
    try:
        api.create_repo(repo_id, repo_type=repo_type, private=private, exist_ok=True)
        upload(api)
    except Exception as error:  # auth, network and permission errors from the Hub all end here
        raise KtoError("push", f"could not push {what} to {repo_id}: {cause(error)}") from error
    return f"https://huggingface.co/{'datasets/' if repo_type == 'dataset' else ''}{repo_id}"


def unreachable(error: BaseException) -> bool:
    """Whether the Hub was not reached at all: offline mode, no network, a closed port, a timeout."""
    return any(isinstance(link, _transport_errors()) for link in _chain(error))


def why_unreachable() -> str | None:
    """Why the Hub cannot be reached right now, or None. One short try: huggingface_hub retries a
    connection error for about 25 seconds, which a status check or a preflight must not wait for."""
    from huggingface_hub import constants
    from huggingface_hub.utils import get_session

    if constants.HF_HUB_OFFLINE:
        return OFFLINE
    try:
        get_session().head(constants.ENDPOINT, timeout=PROBE_TIMEOUT)
    except Exception as error:  # any answer at all, even an error page, means the Hub is there
        return cause(error)
    return None


def _transport_errors() -> tuple[type, ...]:
    """The errors of a request that never got an answer, in the HTTP library huggingface_hub
    uses (httpx2 in 2.x, httpx in 1.x, requests before)."""
    import importlib

    kinds: list[type] = [ConnectionError, TimeoutError]
    names = [("httpx2", "TransportError"), ("httpx", "TransportError"), ("requests", "ConnectionError")]
    for module, name in [*names, ("requests", "Timeout")]:
        try:
            kinds.append(getattr(importlib.import_module(module), name))
        except ImportError:
            continue
    return tuple(kinds)


def cause(error: BaseException) -> str:
    """The cause in one line, with its fix: cannot reach the Hub, the Hub refused the token, or
    the Hub's own words."""
    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE:
        return OFFLINE
    if unreachable(error):
        return f"cannot reach the Hub at {constants.ENDPOINT} ({short(error, 120)}): check the network"
    status = status_of(error)
    if status in (401, 403):
        return (
            f"the Hub refused the token (HTTP {status}): check HF_TOKEN (a write token for pushes) "
            "or run `hf auth login`"
        )
    if type(error).__name__ == "LocalTokenNotFoundError":
        return "no Hugging Face token: export HF_TOKEN=... or run `hf auth login`"
    return short(error)


def status_of(error: BaseException) -> int | None:
    """The HTTP status the Hub answered with, if it answered."""
    return next((code for link in _chain(error) if (code := _status(link))), None)


def _status(error: BaseException) -> int | None:
    response = getattr(error, "response", None)
    return getattr(response, "status_code", None)


def _chain(error: BaseException | None) -> list[BaseException]:
    """The error and the ones it was raised from (the library wraps transport errors)."""
    links = []
    while error is not None and error not in links:
        links.append(error)
        error = error.__cause__ or error.__context__
    return links
