"""Read the prompts to generate from: a local file or a Hugging Face Hub dataset."""

import csv
import json
import re
from pathlib import Path

from kto.errors import KtoError

HUB_DATASET_ID = re.compile(r"[\w.-]+/[\w.-]+")
FILE_SUFFIXES = (".jsonl", ".json", ".csv", ".txt", ".parquet")


def load_prompts(source: str, column: str, root: Path) -> list[str]:
    """The distinct, non-empty prompts of ``source``, in their order.

    ``source`` is a file (relative to the working directory or to ``root``) or a Hub dataset id.
    """
    path = next((p for p in (Path(source), root / source) if p.is_file()), None)
    if path is not None:
        texts = _read_file(path, column)
    elif HUB_DATASET_ID.fullmatch(source) and not source.endswith(FILE_SUFFIXES):
        texts = _read_hub_dataset(source, column)
    else:
        raise KtoError("prompts", f"{source!r} is neither a file nor a Hub dataset id (owner/name)")
    prompts = list(dict.fromkeys(text.strip() for text in texts if text and text.strip()))
    if not prompts:
        raise KtoError("prompts", f"{source} holds no prompts")
    return prompts


def _read_file(path: Path, column: str) -> list[str]:
    suffix = path.suffix.lower()
    if suffix == ".txt":
        return path.read_text(encoding="utf-8").splitlines()
    if suffix == ".csv":
        with path.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
    elif suffix in (".jsonl", ".json"):
        rows = _read_json_lines(path)
    elif suffix == ".parquet":
        import pyarrow.parquet as pq

        rows = pq.read_table(path).to_pylist()
    else:
        raise KtoError("prompts", f"{path}: unsupported file type; use one of {', '.join(FILE_SUFFIXES)}")
    return _column(rows, column, str(path))


def _read_json_lines(path: Path) -> list[dict]:
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() == ".json":
        try:
            rows = json.loads(text)
        except json.JSONDecodeError as error:
            raise KtoError("prompts", f"{path}: not valid JSON ({error.msg}, line {error.lineno})") from error
        if not isinstance(rows, list):
            raise KtoError("prompts", f"{path}: expected a JSON list of objects")
        return rows
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as error:
            raise KtoError("prompts", f"{path}:{number}: not valid JSON ({error.msg})") from error
    return rows


def _column(rows: list, column: str, where: str) -> list[str]:
    if rows and not all(isinstance(row, dict) for row in rows):
        raise KtoError("prompts", f"{where}: every row must be an object with a {column!r} field")
    missing = next((row for row in rows if column not in row), None)
    if missing is not None:
        raise KtoError(
            "prompts",
            f"{where}: a row has no {column!r} column (it has: {', '.join(map(str, missing)) or 'nothing'}); "
            "set prompts.column in project.yaml or pass --prompt-column",
        )
    return [str(row[column]) if row[column] is not None else "" for row in rows]


def _read_hub_dataset(dataset_id: str, column: str) -> list[str]:
    import datasets

    try:
        dataset = datasets.load_dataset(dataset_id, split="train")
    except Exception as error:  # network, auth and missing-repo errors all end here
        raise KtoError("prompts", f"could not load Hub dataset {dataset_id}: {error}") from error
    if column not in dataset.column_names:
        raise KtoError(
            "prompts",
            f"Hub dataset {dataset_id} has no {column!r} column (it has: {', '.join(dataset.column_names)})",
        )
    return [str(text) if text is not None else "" for text in dataset[column]]
