"""distilabel LLMs for the configured model slots on ``kto generate --ray``'s distilabel pipeline
(kto's own engine talks to every model through ``kto.models``)."""

from distilabel.models.llms import LlamaCppLLM, OpenAILLM
from distilabel.models.llms.base import LLM

from kto import local_model
from kto.config import ModelSlot, ProjectConfig


class EmbeddedGemmaLLM(LlamaCppLLM):
    """LlamaCppLLM that gets llama.cpp ready (our Gemma chat format, weight repacking as the CPU
    allows) in the worker process that loads it."""

    def load(self) -> None:
        local_model.prepare()
        super().load()


def build_llm(slot: ModelSlot, config: ProjectConfig, max_new_tokens: int) -> LLM:
    if slot.backend == "local":
        local = config.generation.local
        return EmbeddedGemmaLLM(
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
