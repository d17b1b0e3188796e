"""Pushing project data to the Hugging Face Hub (private by default)."""

from pathlib import Path

from kto.errors import KtoError


def push_parquet(path: Path, repo_id: str, *, private: bool) -> str:
    """Upload ``path`` as the ``train`` split of dataset ``repo_id``; returns the dataset URL."""
    import datasets

    try:
        dataset = datasets.Dataset.from_parquet(str(path))
        dataset.push_to_hub(repo_id, private=private)
    except Exception as error:  # auth, network and permission errors from the Hub all end here
        raise KtoError("push", f"could not push {path} to {repo_id}: {error}") from error
    return f"https://huggingface.co/datasets/{repo_id}"
