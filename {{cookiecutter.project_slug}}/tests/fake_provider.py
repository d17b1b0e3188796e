"""An OpenAI-compatible server on 127.0.0.1 that behaves like a remote inference provider.

Its latency, jitter, share of ``429`` / ``500`` answers and models are set by the test; it counts
the requests for each (model, prompt) and the requests in flight, so a test can judge that every
answer arrived, that nothing was asked twice, and how much concurrency the client used. Answers
are deterministic (``answer of <model> to <prompt>``), or what the test's ``reply(model, prompt)``
returns. kto's real client code talks to it.
"""

import asyncio
import contextlib
import hashlib
import json
import random
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import uvicorn


@dataclass
class FakeProvider:
    models: list[str]
    latency: float = 0.05  # mean seconds before an answer
    jitter: float = 0.0  # +/- seconds, uniform
    share_429: float = 0.0  # share of first attempts answered 429 with Retry-After
    share_500: float = 0.0  # share of first attempts answered 500
    retry_after: float = 1.0
    hang: bool = False  # accept requests and never answer
    reply: Callable[[str, str], str] | None = None  # (model, last user message) -> the answer's text
    answers: Counter = field(default_factory=Counter)  # (model, prompt) -> 200 answers given
    attempts: Counter = field(default_factory=Counter)  # (model, prompt) -> requests received
    in_flight: Counter = field(default_factory=Counter)  # model -> requests being answered now
    peak: Counter = field(default_factory=Counter)  # model -> most requests in flight at once

    def start(self) -> str:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        config = uvicorn.Config(
            self.app, host="127.0.0.1", port=port, log_level="error", backlog=2048, interface="asgi3"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the fake provider did not start")
            time.sleep(0.01)
        return f"http://127.0.0.1:{port}/v1"

    def stop(self) -> None:
        self._server.should_exit = True
        self._server.force_exit = self.hang  # hanging requests would keep it open otherwise
        self._thread.join(timeout=10)

    def asked_twice(self) -> dict[tuple[str, str], int]:
        """Prompts answered (200) more than once: what a client must never cause."""
        return {key: count for key, count in self.answers.items() if count > 1}

    # -- the ASGI application --------------------------------------------------------------

    async def app(self, scope, receive, send) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        path = scope["path"].rstrip("/")
        if scope["method"] == "GET" and path == "/v1/models":
            data = [{"id": model, "object": "model", "owned_by": "fake"} for model in self.models]
            return await _reply(send, 200, {"object": "list", "data": data})
        if scope["method"] == "POST" and path == "/v1/chat/completions":
            return await self._complete(json.loads(body), send)
        await _reply(send, 404, {"error": {"message": f"no route {path}"}})

    async def _complete(self, request: dict, send) -> None:
        model = request["model"]
        prompt = next(m["content"] for m in reversed(request["messages"]) if m["role"] == "user")
        key = (model, prompt)
        self.attempts[key] += 1
        if model not in self.models:
            return await _reply(send, 404, {"error": {"message": f"model {model} not found"}})
        if self.hang:
            with contextlib.suppress(asyncio.CancelledError):  # cancelled when the server stops
                await asyncio.Event().wait()
            return
        if self.attempts[key] == 1:  # only first attempts fail, so retries make progress
            if _share(key, "429") < self.share_429:
                return await _reply(send, 429, {"error": {"message": "rate limited"}}, self.retry_after)
            if _share(key, "500") < self.share_500:
                return await _reply(send, 500, {"error": {"message": "internal error"}})
        self.in_flight[model] += 1
        self.peak[model] = max(self.peak[model], self.in_flight[model])
        try:
            await asyncio.sleep(max(0.0, self.latency + random.uniform(-self.jitter, self.jitter)))
        finally:
            self.in_flight[model] -= 1
        self.answers[key] += 1
        text = self.reply(model, prompt) if self.reply else f"answer of {model} to {prompt}"
        await _reply(
            send,
            200,
            {
                "id": f"chatcmpl-{self.attempts.total()}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": model,
                "choices": [
                    {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": text}}
                ],
                "usage": {"prompt_tokens": 10, "completion_tokens": 8, "total_tokens": 18},
            },
        )


def _share(key: tuple[str, str], salt: str) -> float:
    """A stable number in [0, 1) for a request: the same prompt fails the same way in every run."""
    digest = hashlib.sha256("\x1f".join((*key, salt)).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


async def _reply(send, status: int, payload: dict, retry_after: float | None = None) -> None:
    body = json.dumps(payload).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if retry_after is not None:
        headers.append((b"retry-after", f"{retry_after:g}".encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
