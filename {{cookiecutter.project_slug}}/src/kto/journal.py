"""What makes a long run safe to kill: a journal of answers, and one run at a time.

The journal is an append-only JSON-lines file: one line per answer, written and flushed as the
answer arrives, so a kill at any moment (SIGKILL, the OOM killer, a dropped SSH session) loses at
most the requests in flight. The next run reads it back, asks only for what is missing, and folds
it into its output. A line torn by a kill mid-write is cut off with one warning.

The lock is an OS file lock (``flock``): the kernel releases it when its holder dies, so a lock
left by a killed run is taken over at once and never waited on.
"""

import json
import os
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TextIO

from filelock import FileLock, Timeout

from kto.errors import KtoError
from kto.responses import Response, Table

# How often the journal is forced to disk; a flush after each answer already survives a killed
# process, this bounds what an OS crash or power cut can take.
SYNC_EVERY = 2.0


def journal_path(output: Path) -> Path:
    """The journal of the step that writes ``output``, hidden beside it."""
    return output.with_name(f".{output.stem}.journal.jsonl")


def lock_path(journal: Path) -> Path:
    """The lock of the run that writes ``journal``."""
    return journal.with_name(journal.name.removesuffix(".journal.jsonl") + ".lock")


class Journal:
    """Answers keyed by (prompt, model slot id), in a file beside the output they belong to."""

    def __init__(self, path: Path, warn: Callable[[str], None]):
        self.path = path
        self._warn = warn
        self._handle: TextIO | None = None
        self._unsynced = False
        self._synced = time.monotonic()

    def read(self) -> Table:
        """Every answer in the journal; a torn last line is cut off so appends start clean."""
        table: Table = {}
        if not self.path.exists():
            return table
        data = self.path.read_bytes()
        complete = data[: data.rfind(b"\n") + 1]
        if len(complete) < len(data):
            self._warn(f"{self.path.name}: skipped a last answer cut off by an interrupted run")
            with self.path.open("r+b") as handle:
                handle.truncate(len(complete))
        for line in complete.splitlines():
            try:
                entry = json.loads(line)
                table.setdefault(entry["prompt"], {})[entry["model"]] = Response(
                    entry["prompt_seen"], entry["raw"]
                )
            except (ValueError, KeyError, TypeError):
                self._warn(f"{self.path.name}: skipped an unreadable line")
        return table

    def add(self, prompt: str, model: str, response: Response) -> None:
        if self._handle is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._handle = self.path.open("a", encoding="utf-8")
        entry = {"prompt": prompt, "model": model, "prompt_seen": response.prompt_seen, "raw": response.raw}
        self._handle.write(json.dumps(entry, ensure_ascii=False) + "\n")
        self._handle.flush()
        self._unsynced = True
        if time.monotonic() - self._synced > SYNC_EVERY:
            self.sync()

    def sync(self) -> None:
        """Force what was written to disk (a no-op when nothing was)."""
        if self._handle is not None and self._unsynced:
            os.fsync(self._handle.fileno())
            self._unsynced = False
        self._synced = time.monotonic()

    def close(self) -> None:
        if self._handle is not None:
            self.sync()
            self._handle.close()
            self._handle = None

    def clear(self) -> None:
        """Forget the answers once they are safely folded into the output."""
        self.close()
        self.path.unlink(missing_ok=True)


class RunLock:
    """``with RunLock(path, "kto generate"):`` lets one run at a time work on a project's file.

    A second run fails at once with one line naming the first one's pid and start time.
    """

    def __init__(self, path: Path, command: str):
        self.path = path
        self.command = command
        self.info = path.with_name(path.name + ".json")
        self._lock = FileLock(path, timeout=0)

    def __enter__(self) -> "RunLock":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._lock.acquire()
        except Timeout:
            raise KtoError(
                "lock", f"another {self.command} is running in this project{self._holder()}"
            ) from None
        started = datetime.now().astimezone().isoformat(timespec="seconds")
        self.info.write_text(json.dumps({"pid": os.getpid(), "started": started}))
        return self

    def __exit__(self, *exc) -> None:
        # Removed while still held: a run never leaves a lock file behind (filelock retries on an
        # inode a peer unlinked under it).
        self.info.unlink(missing_ok=True)
        self.path.unlink(missing_ok=True)
        self._lock.release()

    def _holder(self) -> str:
        try:
            holder = json.loads(self.info.read_text())
            return f" (pid {holder['pid']}, started {holder['started']}): wait for it to end, or stop it"
        except (OSError, ValueError, KeyError):
            return ": wait for it to end, or stop it"
