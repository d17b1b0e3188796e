"""Pushing project data to the Hugging Face Hub (private by default)."""

from collections.abc import Callable
from pathlib import Path

from kto.errors import KtoError, one_line

# Where a parquet file pushed as a dataset's train split lives in the repository.
TRAIN_FILE = "data/train-00000-of-00001.parquet"


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

    api = HfApi()
    try:
        api.create_repo(repo_id, repo_type=repo_type, private=private, exist_ok=True)
        upload(api)
    except Exception as error:  # auth, network and permission errors from the Hub all end here
        raise KtoError("push", f"could not push {what} to {repo_id}: {one_line(error)[:200]}") from error
    return f"https://huggingface.co/{'datasets/' if repo_type == 'dataset' else ''}{repo_id}"
