"""distilabel LLMs for ``kto generate --ray``'s pipeline (``kto.backends`` picks one per slot).

Every model is asked over the OpenAI protocol, as on kto's engine. The embedded model is llama.cpp's
server in a child process of the Ray worker (``kto.embedded``), started by ``load`` on the node
that runs the step, and asked with the engine's request fields (repeat penalty, a judge's
grammar): a crash in llama.cpp's C code ends that child, not the worker.
"""

from pathlib import Path

from distilabel.models.llms import OpenAILLM
from pydantic import PrivateAttr

from kto import local_model
from kto.config import ModelSlot, ProjectConfig
from kto.embedded import EMBEDDED_RECORDS, EmbeddedServer
from kto.models import embedded_fields


class EmbeddedLLM(OpenAILLM):
    """OpenAILLM for the embedded model's child process, which ``load`` starts and ``unload`` ends."""

    records: str  # the folder of the child's pid and log (kto.embedded)
    n_ctx: int
    n_threads: int
    _server: EmbeddedServer | None = PrivateAttr(None)

    def load(self) -> None:
        self._server = EmbeddedServer(Path(self.records), self.n_ctx, self.n_threads)
        self.base_url = self._server.start()
        self._server.wait_until_ready()
        super().load()

    def unload(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        super().unload()


def openai_llm(slot: ModelSlot, max_new_tokens: int) -> OpenAILLM:
    return OpenAILLM(
        model=slot.served_model or slot.id,
        base_url=slot.base_url,
        api_key=slot.api_key(),
        timeout=int(slot.timeout),
        max_retries=slot.max_retries,
        generation_kwargs={"max_new_tokens": max_new_tokens, "temperature": slot.temperature},
    )


def embedded_llm(
    slot: ModelSlot, config: ProjectConfig, max_new_tokens: int, choices: tuple[str, ...] | None
) -> EmbeddedLLM:
    local = config.generation.local
    return EmbeddedLLM(
        model=local_model.MODEL_NAME,
        base_url="http://127.0.0.1/v1",  # the child's port is known once load() has started it
        api_key="none",
        timeout=int(slot.timeout),
        max_retries=0,  # a crash shows at once, as on kto's engine
        records=str(config.path(EMBEDDED_RECORDS)),
        n_ctx=local.n_ctx,
        n_threads=local.n_threads,
        generation_kwargs={
            "max_new_tokens": max_new_tokens,
            "temperature": slot.temperature,
            "extra_body": embedded_fields(config, choices),
        },
    )
