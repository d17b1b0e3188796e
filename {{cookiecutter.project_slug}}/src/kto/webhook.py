"""``kto status --post``: one message to a Discord webhook.

The webhook's URL holds its secret token: it comes from DISCORD_WEBHOOK_URL (environment or
.env) and no message, error or log line ever shows it.
"""

import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlparse

import httpx

from kto.errors import KtoError, short

VARIABLE = "DISCORD_WEBHOOK_URL"
ATTEMPTS = 4
# Discord asks for seconds at most on a webhook; a longer wait means something else is wrong.
MAX_WAIT = 60.0
TIMEOUT = 30.0


def url_from_env() -> str:
    url = os.environ.get(VARIABLE, "").strip()
    if not url:
        raise KtoError("post", f"set {VARIABLE} (environment or .env) to the channel's webhook URL")
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise KtoError("post", f"{VARIABLE} is not an http(s) URL")
    return url


def send(url: str, content: str, chart: Path | None = None, sleep: Callable = time.sleep) -> int:
    """Post ``content`` (and ``chart`` as an attached file); returns the attempts it took.
    Mentions are switched off, so a username in the text never pings anyone. A 429 is waited out
    as Discord asks, a few times; any other refusal ends the attempt."""
    payload = {"content": content, "allowed_mentions": {"parse": []}}
    attempt = 0
    while True:  # ends in a return, or a KtoError
        attempt += 1
        try:
            if chart:
                answer = httpx.post(
                    url,
                    data={"payload_json": json.dumps(payload)},
                    files={"files[0]": (chart.name, chart.read_bytes(), "image/png")},
                    timeout=TIMEOUT,
                )
            else:
                answer = httpx.post(url, json=payload, timeout=TIMEOUT)
        except (httpx.HTTPError, httpx.InvalidURL) as error:
            # from None: the chained error's text may carry the URL.
            raise KtoError(
                "post", f"could not reach the webhook in {VARIABLE} ({type(error).__name__})"
            ) from None
        if answer.is_success:
            return attempt
        if answer.status_code == 429 and attempt < ATTEMPTS:
            wait = retry_after(answer)
            if wait <= MAX_WAIT:
                sleep(wait)
                continue
        raise KtoError("post", f"the webhook answered {answer.status_code}{reason(answer, url)}")


def retry_after(answer: httpx.Response) -> float:
    """Discord's wait in seconds: ``retry_after`` in the JSON body, else the Retry-After header."""
    try:
        return float(answer.json()["retry_after"])
    except (ValueError, KeyError, TypeError):
        try:
            return float(answer.headers.get("retry-after", 1))
        except ValueError:
            return 1.0


def reason(answer: httpx.Response, url: str) -> str:
    """Discord's own words (``{"message": "Unknown Webhook", ...}``), never the URL."""
    try:
        message = str(answer.json().get("message", ""))
    except (ValueError, AttributeError):
        message = answer.reason_phrase
    message = short(message.replace(url, "<webhook>"), 120)
    return f": {message}" if message else ""
