"""The watcher's web endpoint: Argilla's deliveries, verified, journalled, then answered.

Standard Webhooks: ``webhook-id``, ``webhook-timestamp`` and ``webhook-signature`` (HMAC-SHA256 of
``id.timestamp.body`` with the webhook's secret; argilla_server/webhooks/v1/commons.py signs each
attempt with the attempt's time). The time must be within ``TOLERANCE`` of now.

Answers: 200 journalled, or already journalled under another delivery id (Argilla retries a
failed delivery as a new message), or not a rating event; 401 no valid signature, or stale; 409 a
delivery id already journalled (a replay); 400 malformed, or another dataset's. Each refusal is
counted by cause and never reaches the journal. Argilla retries any answer but a 2xx three times
(10 s, 60 s and 180 s later: argilla_server/jobs/webhook_jobs.py), a refusal included.
"""

import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from kto.watch_events import RATING_EVENTS, Refused, from_delivery
from kto.watch_journal import EventJournal

TOLERANCE = 300.0  # seconds either way, as Standard Webhooks' own libraries allow
PATH = "/webhook"
MAX_BODY = 5_000_000  # a record's fields are in the body; more than this is not Argilla's


class Receiver:
    """What the endpoint does with one delivery, apart from HTTP."""

    def __init__(
        self,
        journal: EventJournal,
        dataset: str,
        secret: str | None = None,
        on_event: Callable[[], None] | None = None,
    ):
        self.journal = journal
        self.on_event = on_event  # told of each event journalled
        self.dataset = dataset  # "workspace/name"
        self.secret = secret  # set once the webhook is registered
        self.refused: Counter = Counter()
        self.journalled = 0
        self.last_event_at: float | None = None  # time.time() of the last journalled delivery
        self._lock = threading.Lock()

    def handle(self, headers: dict[str, str], body: bytes) -> tuple[int, str]:
        try:
            payload = self.verified(headers, body)
            if payload.get("type") not in RATING_EVENTS:
                return 200, "not a rating event"
            if headers["webhook-id"] in self.journal.ids:
                raise Refused("replayed", "a delivery id already journalled")
            if not self.journal.append(from_delivery(headers["webhook-id"], payload, self.dataset)):
                return 200, "already journalled"
        except Refused as refusal:
            with self._lock:
                self.refused[refusal.cause] += 1
            return STATUS[refusal.cause], str(refusal)
        except (KeyError, TypeError, ValueError) as error:
            with self._lock:
                self.refused["malformed"] += 1
            return 400, f"malformed event ({type(error).__name__})"
        with self._lock:
            self.journalled += 1
            self.last_event_at = time.time()
        if self.on_event:
            self.on_event()
        return 200, "journalled"

    def verified(self, headers: dict[str, str], body: bytes) -> dict:
        """The payload, when the signature is the webhook's and its time is recent."""
        from standardwebhooks.webhooks import Webhook, WebhookVerificationError

        if not self.secret:
            raise Refused("not registered", "the watcher has no secret yet")
        if not (headers.get("webhook-id") and headers.get("webhook-signature")):
            raise Refused("bad signature", "no webhook-id or webhook-signature header")
        try:
            signed = int(headers.get("webhook-timestamp", ""))
        except ValueError as error:
            raise Refused("bad signature", "no webhook-timestamp header") from error
        if abs(time.time() - signed) > TOLERANCE:  # before the signature: a stale one is its own cause
            raise Refused("stale", f"signed more than {TOLERANCE:.0f} s from now")
        try:
            Webhook(self.secret).verify(body, headers)
        except WebhookVerificationError as error:
            raise Refused("bad signature", str(error)) from error
        try:
            return json.loads(body)
        except ValueError as error:
            raise Refused("malformed", "the body is not JSON") from error


STATUS = {
    "bad signature": 401,
    "stale": 401,
    "not registered": 401,
    "replayed": 409,
    "other dataset": 400,
    "malformed": 400,
}


def serve(receiver: Receiver, host: str, port: int, health) -> ThreadingHTTPServer:
    """The endpoint on ``host:port``, answering on threads; ``health()`` is GET /health's JSON
    (never the secret). Returns the server, already serving."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # a sender may keep its connection: every answer has a length

        def log_message(self, *args):  # the watcher's log says what matters
            pass

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:  # left unread: the connection cannot serve another request
                self.close_connection = True
                return self.reply(413, "too large")
            body = self.rfile.read(length)
            if self.path.split("?")[0] != PATH:
                return self.reply(404, "no")
            self.reply(*receiver.handle({k.lower(): v for k, v in self.headers.items()}, body))

        def do_GET(self):
            if self.path != "/health":
                return self.reply(404, "no")
            self.reply(200, json.dumps(health()))

        def reply(self, status: int, text: str) -> None:
            data = text.encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json" if text.startswith("{") else "text/plain")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True, name="watch-http").start()
    return server
