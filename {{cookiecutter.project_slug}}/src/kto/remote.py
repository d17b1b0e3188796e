"""A model slot on an OpenAI-compatible server: the HF router, vLLM, TGI, Ollama, llama.cpp.

A thin ``openai.AsyncOpenAI`` client per slot. The client retries 429 and 5xx answers (and lost
connections) up to ``max_retries`` times, with backoff that honours the server's Retry-After.
"""

from typing import cast

from openai import AsyncOpenAI
from openai.types.chat import ChatCompletionMessageParam

from kto.config import ModelSlot


class RemoteModel:
    def __init__(self, slot: ModelSlot, max_new_tokens: int):
        self.slot = slot
        self.max_new_tokens = max_new_tokens
        # Asks for the key now: a missing one is named before anything is sent.
        self._client = AsyncOpenAI(
            base_url=slot.base_url, api_key=slot.api_key(), timeout=slot.timeout, max_retries=slot.max_retries
        )

    async def ask(self, messages: list[dict]) -> str | None:
        completion = await self._client.chat.completions.create(
            model=self.slot.served_model or self.slot.id,
            messages=cast("list[ChatCompletionMessageParam]", messages),  # plain dicts of role and content
            max_tokens=self.max_new_tokens,
            temperature=self.slot.temperature,
        )
        return completion.choices[0].message.content
