"""The journal, pushed to the project's backup dataset on the Hub (``journal/`` beside the full
backups), every ``every`` seconds, as one commit of the files that grew since the last push.

What huggingface_hub's CommitScheduler does, with what the watcher needs on top: a push a test
can call (``push()``), one line when the Hub cannot be reached and one when it can again (the
journal keeps growing on disk meanwhile), and the lag from an event to its push. Commits are
titled "Journal: ..." so that ``kto backup --list`` and ``kto restore`` can tell them from backups.
"""

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from kto.hub import cause, status_of, why_unreachable

PREFIX = "Journal:"  # the title of each journal commit
HUB_FOLDER = "journal"


@dataclass
class PushState:
    last_push: float | None = None  # time.time() of the last push that landed
    lag: float | None = None  # seconds from the oldest event it carried to its landing
    problem: str | None = None  # why the last try failed; None when it landed
    pushed_events: int = 0


class JournalPusher:
    def __init__(self, folder: Path, repo_id: str, say: Callable[[str], None], every: float = 30.0):
        self.folder = folder  # the journal's files
        self.repo_id = repo_id
        self.say = say
        self.every = every
        self.state = PushState()
        self._sizes: dict[str, int] = {}  # file name -> bytes already on the Hub
        self._pending_since: float | None = None  # when the oldest unpushed event was journalled
        self._made = False
        self._lock = threading.Lock()

    def journalled(self) -> None:
        """An event reached the journal: it waits for the next push from now."""
        if self._pending_since is None:
            self._pending_since = time.time()

    def grown(self) -> list[Path]:
        """The journal's files with lines the Hub does not have yet."""
        return [
            path
            for path in sorted(self.folder.glob("*.jsonl"))
            if path.stat().st_size != self._sizes.get(path.name)
        ]

    def push(self) -> bool:
        """Commit the grown files now; False (said once until it works again) when it failed."""
        with self._lock:
            since, self._pending_since = self._pending_since, None
            grown = {path.name: path.read_bytes() for path in self.grown()}
            if not grown:
                return True
            try:
                self._commit(grown)
            except Exception as error:  # offline, refused, a network error: all one line
                self._pending_since = min(filter(None, (since, self._pending_since)), default=None)
                self._failed(error)
                return False
            landed = time.time()
            self._sizes.update({name: len(data) for name, data in grown.items()})
            self.state.lag = landed - since if since else None
            self.state.last_push = landed
            self.state.pushed_events += sum(data.count(b"\n") for data in grown.values())
            if self.state.problem:
                self.say(f"pushed the journal to {self.repo_id} again")
            self.state.problem = None
            return True

    def _commit(self, grown: dict[str, bytes]) -> None:
        from huggingface_hub import CommitOperationAdd, HfApi

        if problem := why_unreachable():
            raise ConnectionError(problem)
        api = HfApi()
        if not self._made:
            api.create_repo(self.repo_id, repo_type="dataset", private=True, exist_ok=True)
            self._made = True
        lines = sum(data.count(b"\n") for data in grown.values())
        api.create_commit(
            self.repo_id,
            repo_type="dataset",
            operations=[CommitOperationAdd(f"{HUB_FOLDER}/{name}", data) for name, data in grown.items()],
            commit_message=f"{PREFIX} {len(grown)} files, {lines} events",
        )

    def _failed(self, error: BaseException) -> None:
        problem = str(error) if isinstance(error, ConnectionError) and not status_of(error) else cause(error)
        if self.state.problem is None:
            self.say(
                f"cannot push the journal to {self.repo_id} ({problem}): journalling on disk, "
                "pushing when the Hub answers"
            )
        self.state.problem = problem

    def run(self, stop: threading.Event) -> None:
        """Push every ``every`` seconds until ``stop``, then once more."""
        while not stop.wait(self.every):
            self.push()
        self.push()
