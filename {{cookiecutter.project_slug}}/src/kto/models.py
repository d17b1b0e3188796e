"""One interface for every model slot, whatever runs it: ``load()``, ``async ask(messages)``,
``close()``. The engine knows nothing else about a model (``kto.backends`` picks one per slot).

A server's slot is a thin OpenAI client (``kto.remote``). The embedded model is the same client,
talking to llama.cpp's server in a child process of its own (``kto.embedded``): one engine path,
and a crash in llama.cpp's C code ends that child, not kto. ``kto eval`` runs the project's own
trained model and its base with transformers (``kto.transformers_model``).
"""

import asyncio
import importlib.util
import json
from typing import Protocol

from kto import local_model
from kto.config import ModelSlot, ProjectConfig
from kto.embedded import EMBEDDED_RECORDS, EmbeddedServer
from kto.errors import KtoError
from kto.remote import RemoteModel


class ChatModel(Protocol):
    """One model slot, whatever runs it: a server, the embedded model's child process, a local HF model."""

    slot: ModelSlot

    def load(self) -> None:
        """Blocking; called off the event loop, one slot at a time."""

    async def ask(self, messages: list[dict]) -> str | None: ...

    async def aclose(self) -> None:
        """Closes what ``ask`` opened (a client's connections) inside the event loop it ran in: a
        client left to the garbage collector tries to close them in a later loop, and fails."""

    def close(self) -> None:
        """Ends anything load() started (child processes)."""


def grammar(choices: tuple[str, ...]) -> str:
    """A llama.cpp grammar (GBNF) that allows exactly one of ``choices``."""
    return "root ::= " + " | ".join(json.dumps(choice, ensure_ascii=False) for choice in choices)


def embedded_fields(config: ProjectConfig, choices: tuple[str, ...] | None) -> dict:
    """The request fields llama.cpp's server takes beyond OpenAI's, on the engine and on Ray alike."""
    fields: dict = {"repeat_penalty": config.generation.local.repeat_penalty}
    if choices:
        fields["grammar"] = grammar(choices)
    return fields


class EmbeddedModel:
    """The embedded model for one slot, served by a child process that ``load`` starts."""

    def __init__(
        self, slot: ModelSlot, config: ProjectConfig, max_new_tokens: int, choices: tuple[str, ...] | None
    ):
        if importlib.util.find_spec("llama_cpp") is None:
            raise KtoError("local", local_model.INSTALL_HINT)
        self.slot = slot
        self.max_new_tokens = max_new_tokens
        self.extra_body = embedded_fields(config, choices)
        settings = config.generation.local
        self.server = EmbeddedServer(config.path(EMBEDDED_RECORDS), settings.n_ctx, settings.n_threads)
        self._client: RemoteModel | None = None
        self._ready = False

    def load(self) -> None:
        """Starts the child; the first ``ask`` waits until it has loaded the model. The model file
        is assembled here (once, 253 MB), not in each child: the children of several slots start
        at once."""
        local_model.model_path()
        url = self.server.start()
        # The child's server knows one model; a crash shows at once, so no retries.
        served = self.slot.model_copy(
            update={
                "base_url": url,
                "served_model": local_model.MODEL_NAME,
                "api_key_env": None,
                "max_retries": 0,
            }
        )
        self._client = RemoteModel(served, self.max_new_tokens, self.extra_body)

    async def ask(self, messages: list[dict]) -> str | None:
        if self._client is None:
            raise RuntimeError("ask() before load()")
        if not self._ready:
            await asyncio.to_thread(self.server.wait_until_ready)
            self._ready = True
        try:
            return await self._client.ask(messages)
        except Exception:
            if died := self.server.death(wait=1.0):
                raise KtoError(
                    f"model {self.slot.id}",
                    f"the embedded model's process (llama.cpp) {died}; every answer so far is kept: "
                    "run kto doctor to check the embedded model on this machine, then run the command "
                    "again to ask for the rest",
                ) from None
            raise

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()

    def close(self) -> None:
        self.server.close()
