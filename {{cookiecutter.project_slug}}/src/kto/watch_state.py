"""The watcher's two files beside its journal: ``state.json`` (the webhook's id and secret, the
dataset's id; readable by its owner only, never printed) and ``status.json`` (what ``kto doctor``
and ``kto status`` read: no secret), and its registration on the Argilla server."""

import json
from pathlib import Path

from kto.errors import KtoError, short
from kto.files import write_text
from kto.watch_events import RATING_EVENTS

STATE = "state.json"
STATUS = "status.json"
DESCRIPTION = "kto watch: the ratings journal"


def read(folder: Path, name: str) -> dict:
    path = folder / name
    try:
        return json.loads(path.read_text()) if path.exists() else {}
    except ValueError:  # torn by a kill mid-write: the next write mends it
        return {}


def write(folder: Path, name: str, values: dict) -> None:
    """Whole or not at all (a rename); the state file is the owner's alone from its first byte."""
    write_text(folder / name, json.dumps(values, indent=2, default=str), private=True)


def register(client, url: str) -> dict:
    """The server's webhook for ``url`` (made, enabled or given the rating events as needed):
    ``{"id", "secret"}``. Owners only may manage webhooks."""
    import httpx

    http = client.api.http_client
    try:
        reply = http.get("/api/v1/webhooks")
        reply.raise_for_status()
        mine = [hook for hook in reply.json()["items"] if hook["url"] == url]
        if not mine:
            hook = {"url": url, "events": list(RATING_EVENTS), "description": DESCRIPTION}
            reply = http.post("/api/v1/webhooks", json=hook)
        elif set(mine[0]["events"]) != set(RATING_EVENTS) or not mine[0]["enabled"]:
            changes = {"events": list(RATING_EVENTS), "enabled": True}
            reply = http.patch(f"/api/v1/webhooks/{mine[0]['id']}", json=changes)
        reply.raise_for_status()
        hook = reply.json() if reply.request.method != "GET" else mine[0]
    except httpx.HTTPError as error:
        status = getattr(getattr(error, "response", None), "status_code", None)
        why = "only an owner's API key may register webhooks" if status == 403 else short(error)
        raise KtoError("watch", f"cannot register the webhook on {client.api_url}: {why}") from error
    return {"id": str(hook["id"]), "secret": hook["secret"]}


def registered(client, url: str) -> bool | None:
    """Whether the server has an enabled webhook for ``url`` with the rating events; None when
    the server cannot say (down, or not an owner's key)."""
    try:
        reply = client.api.http_client.get("/api/v1/webhooks")
        reply.raise_for_status()
    except Exception:  # a doctor line, not a failure of its own
        return None
    hooks = [hook for hook in reply.json()["items"] if hook["url"] == url and hook["enabled"]]
    return any(set(RATING_EVENTS) <= set(hook["events"]) for hook in hooks)


def unregister(client, webhook_id: str) -> None:
    """Delete the webhook (already gone, as on a wiped server, is fine)."""
    client.api.http_client.delete(f"/api/v1/webhooks/{webhook_id}")
