"""``kto watch``: every change to a rating, journalled on disk as Argilla announces it and pushed to
the Hub within a minute, so that a Space that loses its data loses at most the last minute.

Three threads: the web endpoint (kto.watch_receiver) journals each verified delivery before it
answers; the keeper registers the webhook (again, when a restarted server forgot it) and catches
up from the API at start and every ``catch_up_every`` seconds (kto.watch_catchup); the pusher
commits the journal's new lines to the backup dataset (kto.watch_push).
"""

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlparse

from kto.config import ProjectConfig
from kto.errors import KtoError, short
from kto.watch_journal import FOLDER, EventJournal
from kto.watch_push import JournalPusher
from kto.watch_receiver import PATH, Receiver, serve
from kto.watch_state import STATE, STATUS, read, register, unregister, write

DEFAULT_PORT = 6901
RETRY = 10.0  # seconds before the keeper tries again after a failure (a server restarting)
STATUS_EVERY = 5.0  # seconds between writes of status.json


@dataclass(frozen=True)
class WatchOptions:
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    url: str | None = None  # where Argilla posts; default: this host and port
    push_every: float = 30.0
    catch_up_every: float = 180.0

    @property
    def webhook_url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host
        return self.url or f"http://{host}:{self.port}{PATH}"


def folder_of(config: ProjectConfig) -> Path:
    return config.path(FOLDER)


def loopback(url: str) -> bool:
    return urlparse(url).hostname in ("127.0.0.1", "localhost", "::1")


class Watcher:
    def __init__(self, config: ProjectConfig, options: WatchOptions, say: Callable[[str], None]):
        self.config, self.options, self.say = config, options, say
        self.folder = folder_of(config)
        self.journal = EventJournal(self.folder)
        repo = config.hub.ratings_backup_repo
        self.pusher = JournalPusher(self.journal.folder, repo, say, options.push_every)
        dataset = f"{config.argilla.workspace}/{config.argilla.dataset}"
        self.receiver = Receiver(self.journal, dataset, on_event=self.pusher.journalled)
        self.stop = threading.Event()
        self.registered = False
        self.catch_up_note = "not yet"
        self._problem: str | None = None

    def run(self) -> None:
        """Serve until ``stop`` is set (SIGTERM, Ctrl+C); the journal is pushed once more at the end."""
        server = serve(self.receiver, self.options.host, self.options.port, self.health)
        self.options = replace(self.options, port=server.server_port)  # --port 0: the one given
        self.say(
            f"watching {self.receiver.dataset}: listening on {self.options.host}:{server.server_port}, "
            f"journal {self.journal.folder} ({len(self.journal.events)} events)"
        )
        pusher = threading.Thread(target=self.pusher.run, args=(self.stop,), name="watch-push")
        pusher.start()
        try:
            next_keep = 0.0
            while not self.stop.is_set():
                if time.monotonic() >= next_keep:
                    wait = self.options.catch_up_every if self.keep() else RETRY
                    next_keep = time.monotonic() + wait
                self.write_status()
                self.stop.wait(min(STATUS_EVERY, max(0.0, next_keep - time.monotonic())))
        finally:
            self.stop.set()
            server.shutdown()
            pusher.join()
            self.journal.close()
            self.write_status()

    def keep(self) -> bool:
        """Register (again) and catch up; one line per new problem. True when all went well."""
        from kto.argilla_client import connect, open_dataset
        from kto.watch_catchup import catch_up

        registered = False  # in this round
        try:
            self._register(connect(self.config))  # before the dataset: a restore is journalled too
            registered = True
            client, dataset = open_dataset(self.config)
            state = read(self.folder, STATE)
            same = state.get("dataset_id") in (None, str(dataset.id))
            result = catch_up(client, dataset, self.journal, infer_deletions=same)
            if not same:
                self.say("the dataset was made anew (a restore?): deletions are not inferred this time")
            write(self.folder, STATE, {**read(self.folder, STATE), "dataset_id": str(dataset.id)})
        except Exception as error:  # the server down or restarting, or no dataset yet: tried again soon
            problem = short(error)
            if problem != self._problem:
                self.say(f"cannot reach the ratings yet ({problem}): trying again every {RETRY:.0f} s")
            # No dataset yet (kto annotate makes it) leaves the webhook registered this round in place.
            self._problem, self.registered = problem, self.registered and registered
            return False
        self._problem = None
        if result.updated or result.deleted:
            self.pusher.journalled()
        if result.updated or result.deleted or self.catch_up_note == "not yet":
            self.say(result.describe())  # the first time, and whenever something was missed
        self.catch_up_note = f"{result.describe()} ({datetime.now(UTC):%H:%M:%S} UTC)"
        return True

    def _register(self, client) -> None:
        url = self.options.webhook_url
        if loopback(url) and not loopback(client.api_url):
            if not self.registered:
                self.say(
                    f"{client.api_url} cannot reach {url}: no webhook; catching up every "
                    f"{self.options.catch_up_every:.0f} s instead (give --url a public address)"
                )
            return
        state = read(self.folder, STATE)
        if state.get("webhook_id") and state.get("url") not in (None, url):
            unregister(client, state["webhook_id"])  # a server keeps ten webhooks at most
        hook = register(client, url)
        self.receiver.secret = hook["secret"]
        write(self.folder, STATE, {**state, "webhook_id": hook["id"], "secret": hook["secret"], "url": url})
        if not self.registered:
            self.say(f"webhook registered on {client.api_url} for {url}")
        self.registered = True

    def health(self) -> dict:
        """What the watcher knows about itself (never the secret)."""
        push = self.pusher.state
        newest = self.journal.newest()
        return {
            "pid": os.getpid(),
            "url": self.options.webhook_url,
            "registered": self.registered,
            "events": len(self.journal.events),
            "journalled": self.receiver.journalled,
            "refused": dict(self.receiver.refused),
            "last_event": newest["at"] if newest else None,
            "last_delivery": stamp(self.receiver.last_event_at),
            "last_push": stamp(push.last_push),
            "push_lag": push.lag,
            "push_problem": push.problem,
            "unpushed": bool(self.pusher.grown()),
            "catch_up": self.catch_up_note,
            "updated_at": stamp(time.time()),
        }

    def write_status(self) -> None:
        write(self.folder, STATUS, self.health())


def stamp(moment: float | None) -> str | None:
    return datetime.fromtimestamp(moment, UTC).isoformat(timespec="seconds") if moment else None


def run(config: ProjectConfig, options: WatchOptions, say: Callable[[str], None]) -> None:
    """``kto watch`` in the foreground; SIGTERM and Ctrl+C end it after a last push."""
    import signal

    try:
        watcher = Watcher(config, options, say)
    except OSError as error:
        raise KtoError("watch", f"cannot open the journal in {folder_of(config)}: {short(error)}") from error
    signal.signal(signal.SIGTERM, lambda *_: watcher.stop.set())
    try:
        watcher.run()
    except OSError as error:  # the port taken
        raise KtoError("port", f"cannot listen on {options.host}:{options.port}: {short(error)}") from error
    except KeyboardInterrupt:
        watcher.stop.set()
