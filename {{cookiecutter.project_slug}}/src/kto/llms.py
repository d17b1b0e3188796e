"""distilabel LLMs for the configured model slots: the embedded model on kto's engine, and every
slot on ``kto generate --ray``'s distilabel pipeline."""

from typing import Any

from distilabel.models.llms import LlamaCppLLM, OpenAILLM
from distilabel.models.llms.base import LLM
from pydantic import PrivateAttr

from kto import local_model
from kto.config import ModelSlot, ProjectConfig


class EmbeddedGemmaLLM(LlamaCppLLM):
    """LlamaCppLLM that registers our Gemma chat format in the worker process that loads it."""

    def load(self) -> None:
        local_model.register_chat_format()
        super().load()


class EmbeddedGemmaJudge(EmbeddedGemmaLLM):
    """The embedded model as a judge: a grammar lets it answer only with the digit 0 or 1.

    The tiny base model would otherwise wander off into prose; a server's judge is asked for
    the digit in the prompt and parsed leniently instead.
    """

    _grammar: Any = PrivateAttr(default=None)

    def load(self) -> None:
        super().load()
        from llama_cpp import LlamaGrammar

        self._grammar = LlamaGrammar.from_string('root ::= "0" | "1"', verbose=False)

    # distilabel reads generate()'s signature for its runtime parameters, so the grammar goes in
    # one level down (a private method; distilabel is pinned to its last release, 1.5.3).
    def _generate_chat_completion(
        self, input, max_new_tokens, frequency_penalty, presence_penalty, temperature, top_p, extra=None
    ):
        extra = {**(extra or {}), "grammar": self._grammar}
        return super()._generate_chat_completion(
            input, max_new_tokens, frequency_penalty, presence_penalty, temperature, top_p, extra
        )


def build_llm(
    slot: ModelSlot,
    config: ProjectConfig,
    max_new_tokens: int,
    local_class: type[LlamaCppLLM] = EmbeddedGemmaLLM,
) -> LLM:
    if slot.backend == "local":
        local = config.generation.local
        return local_class(
            model_path=str(local_model.model_path()),
            chat_format=local_model.CHAT_FORMAT,
            n_ctx=local.n_ctx,
            n_gpu_layers=0,
            extra_kwargs={"n_threads": local.n_threads},
            generation_kwargs={
                "max_new_tokens": max_new_tokens,
                "temperature": slot.temperature,
                "extra_generation_kwargs": {"repeat_penalty": local.repeat_penalty},
            },
        )
    return OpenAILLM(
        model=slot.served_model or slot.id,
        base_url=slot.base_url,
        api_key=slot.api_key(),
        timeout=int(slot.timeout),
        max_retries=slot.max_retries,
        generation_kwargs={"max_new_tokens": max_new_tokens, "temperature": slot.temperature},
    )
