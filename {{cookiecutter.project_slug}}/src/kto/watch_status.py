"""``kto doctor``'s line for the watcher, from its status file and the server: running, webhook
registered on the server, last event, last push and the journal's lag."""

import os
from datetime import UTC, datetime

from kto.config import ProjectConfig
from kto.serving import Finding
from kto.watch_events import utc
from kto.watch_journal import FOLDER
from kto.watch_replay import words
from kto.watch_state import STATUS, read, registered

STALE = 30.0  # seconds: the watcher writes its status every 5 s while it runs
LATE_PUSH = 90.0  # seconds: pushes come every 30 s; later than this, the minute is at risk


def ago(moment: str | None, now: datetime) -> str:
    return f"{words(seconds_since(moment, now))} ago" if moment else "never"


def check_watcher(config: ProjectConfig, now: datetime | None = None) -> Finding:
    """One line: is the watcher running here, registered, journalling and pushing?"""
    now = now or datetime.now(UTC)
    status = read(config.path(FOLDER), STATUS)
    if not status:
        fix = (
            "kto argilla up starts it beside a local server, kto watch anywhere (README: The ratings watcher)"
        )
        return Finding(
            "watcher", "warn", "not running here: a restart loses the ratings since the last backup", fix
        )
    facts = describe(status, now)
    if (
        not (status.get("pid") and _running(status["pid"]))
        or seconds_since(status["updated_at"], now) > STALE
    ):
        return Finding(
            "watcher", "warn", f"stopped ({facts})", "start it again: kto watch, or kto argilla up"
        )
    if status.get("push_problem"):
        problem = f"cannot push: {status['push_problem']} ({facts})"
        return Finding("watcher", "warn", problem, "check the network and HF_TOKEN")
    if not status.get("registered") or on_server(config, status["url"]) is False:
        fix = "see its log: without a webhook it only catches up every few minutes"
        return Finding("watcher", "warn", f"no webhook registered for {status.get('url')} ({facts})", fix)
    last_push = status.get("last_push")
    if status.get("unpushed") and (not last_push or seconds_since(last_push, now) > LATE_PUSH):
        return Finding("watcher", "warn", f"the journal is not being pushed ({facts})", "see its log")
    return Finding("watcher", "ok", f"registered for {status['url']}; {facts}")


def on_server(config: ProjectConfig, url: str) -> bool | None:
    """Whether the server itself has the webhook (a restarted server has forgotten it until the
    watcher's next round); None when it cannot say."""
    from kto.argilla_client import connect
    from kto.errors import KtoError

    try:
        return registered(connect(config), url)
    except KtoError:
        return None


def describe(status: dict, now: datetime) -> str:
    lag = status.get("push_lag")
    waiting = "events waiting for the next push" if status.get("unpushed") else "nothing waiting"
    return (
        f"last event {ago(status.get('last_event'), now)}, last push {ago(status.get('last_push'), now)}"
        + ("" if lag is None else f" (lag {lag:.0f} s)")
        + f", {waiting}, {sum(status.get('refused', {}).values())} deliveries refused"
    )


def seconds_since(moment: str, now: datetime) -> float:
    return (now - utc(moment)).total_seconds()


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True
