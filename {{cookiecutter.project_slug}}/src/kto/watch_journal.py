"""The watcher's journal on disk: JSON lines, each event written and fsynced before the watcher
answers the delivery, so an acknowledged event survives a kill or a power cut.

Each run of the watcher writes files of its own (``<start>-<run>-<n>.jsonl`` under ``journal/``,
a new one each hour; names sort in the order runs started), so two watchers, or a watcher started
afresh on another machine, never overwrite each other's files on the Hub; reading takes the union
of all files, by event id.
"""

import json
import os
import secrets
import threading
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from kto.watch_events import change_of, utc

FOLDER = "data/watch"  # the watcher's own: the journal, its state and its status
JOURNAL = "journal"
ROTATE_SECONDS = 3600.0  # a new file each hour: a push uploads the current hour's file only


def read_events(files: Iterable[Path]) -> list[dict]:
    """The events of these journal files, each id once, in the files' order; a line torn by a
    kill mid-write (the last of its file) is skipped."""
    events, seen = [], set()
    for path in sorted(files, key=lambda path: path.name):
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                continue
            if event["id"] not in seen:
                seen.add(event["id"])
                events.append(event)
    return events


class EventJournal:
    """Append-only, one writer; thread-safe (the web server answers deliveries on threads)."""

    def __init__(self, folder: Path):
        self.folder = folder / JOURNAL
        self.folder.mkdir(parents=True, exist_ok=True)
        self.events = read_events(self.folder.glob("*.jsonl"))
        self.ids = {event["id"] for event in self.events}
        self.changes = {change_of(event) for event in self.events}
        self._lock = threading.Lock()
        self._run = f"{datetime.now(UTC):%Y%m%dT%H%M%S%f}-{secrets.token_hex(3)}"  # names sort by start
        self._file = None
        self._opened = 0.0
        self._parts = 0

    def append(self, event: dict) -> bool:
        """Journal ``event`` (False: its id, or its change, is there already); on disk when this
        returns."""
        with self._lock:
            if event["id"] in self.ids or change_of(event) in self.changes:
                return False
            handle = self._current()
            handle.write(json.dumps(event, ensure_ascii=False) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
            self.ids.add(event["id"])
            self.changes.add(change_of(event))
            self.events.append(event)
            return True

    def _current(self):
        if self._file is None or time.monotonic() - self._opened > ROTATE_SECONDS:
            if self._file is not None:
                self._file.close()
            self._parts += 1
            path = self.folder / f"{self._run}-{self._parts:04d}.jsonl"
            self._file = path.open("a", encoding="utf-8")
            self._opened = time.monotonic()
        return self._file

    def newest(self) -> dict | None:
        """The event of the latest change, by the server's time."""
        return max(self.events, key=lambda event: utc(event["at"]), default=None)

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None
