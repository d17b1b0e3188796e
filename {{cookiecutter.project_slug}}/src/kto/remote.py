"""A model slot on an OpenAI-compatible server: the HF router, vLLM, TGI, Ollama, llama.cpp.

A thin ``openai.AsyncOpenAI`` client per slot. The client retries 429 and 5xx answers (and lost
connections) up to ``max_retries`` times, with backoff that honours the server's Retry-After.
"""

from typing import cast

from openai import AsyncOpenAI
from openai.types.chat import ChatCompletionMessageParam

from kto.config import ModelSlot


class RemoteModel:
    """``kto.models.ChatModel`` for a server; ``extra_body`` adds server-specific request fields."""

    def __init__(self, slot: ModelSlot, max_new_tokens: int, extra_body: dict | None = None):
        self.slot = slot
        self.max_new_tokens = max_new_tokens
        self.extra_body = extra_body
        # Asks for the key now: a missing one is named before anything is sent.
        self._client = AsyncOpenAI(
            base_url=slot.base_url, api_key=slot.api_key(), timeout=slot.timeout, max_retries=slot.max_retries
        )

    def load(self) -> None:
        """Nothing to load: the server holds the model."""

    async def ask(self, messages: list[dict]) -> str | None:
        completion = await self._client.chat.completions.create(
            model=self.slot.served_model or self.slot.id,
            messages=cast("list[ChatCompletionMessageParam]", messages),  # plain dicts of role and content
            max_tokens=self.max_new_tokens,
            temperature=self.slot.temperature,
            extra_body=self.extra_body,
        )
        return completion.choices[0].message.content

    async def aclose(self) -> None:
        await self._client.close()

    def close(self) -> None:
        """Nothing to end: ``aclose`` closed the connections, in the loop that opened them."""
