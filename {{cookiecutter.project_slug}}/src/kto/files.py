"""Writes that a crash never leaves half done: the previous file or folder stays until the new
one is complete."""

import os
import shutil
from collections.abc import Iterable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq


def write_text(path: Path, text: str, *, private: bool = False) -> None:
    """``private``: readable by the owner alone from its first byte (a secret's file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o666)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(partial, path)


def write_lines(path: Path, lines: Iterable[str]) -> None:
    """One line each, newline-terminated."""
    write_text(path, "".join(line + "\n" for line in lines))


def write_parquet(table: pa.Table, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    pq.write_table(table, partial)
    os.replace(partial, path)


def partial_folder(folder: Path) -> Path:
    """An empty folder beside ``folder`` to write into, then hand to ``replace_folder``."""
    partial = folder.with_name(f".{folder.name}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    return partial


def replace_folder(partial: Path, folder: Path) -> None:
    previous = folder.with_name(f".{folder.name}.previous")
    shutil.rmtree(previous, ignore_errors=True)
    if folder.exists():
        folder.rename(previous)
    partial.rename(folder)
    shutil.rmtree(previous, ignore_errors=True)
