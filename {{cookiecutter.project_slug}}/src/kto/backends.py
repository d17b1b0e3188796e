"""The model backends a slot names (``backend:`` in project.yaml), in one table that both ways of
asking read: kto's engine (:func:`for_slot`, a ``kto.models.ChatModel``) and ``kto generate --ray``
(:func:`build_llm`, a distilabel LLM of ``kto.llms``). A backend's runner is imported only when a
slot needs it: torch for transformers, distilabel for Ray, llama.cpp for the embedded model.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kto.config import ModelSlot, ProjectConfig
from kto.errors import KtoError

if TYPE_CHECKING:
    from distilabel.models.llms.base import LLM

    from kto.models import ChatModel

# The only answers a judge may give (such as ("0", "1")): the embedded model is held to them by a
# grammar, a server is asked for them in the prompt.
Choices = tuple[str, ...] | None


def remote_model(
    slot: ModelSlot, config: ProjectConfig, max_new_tokens: int, choices: Choices
) -> "ChatModel":
    from kto.remote import RemoteModel

    return RemoteModel(slot, max_new_tokens)


def embedded_model(
    slot: ModelSlot, config: ProjectConfig, max_new_tokens: int, choices: Choices
) -> "ChatModel":
    from kto.embedded import EMBEDDED_RECORDS, end_leftovers
    from kto.models import EmbeddedModel

    # What a killed run left is ended by the next, even one that asks nothing (--estimate).
    end_leftovers(config.path(EMBEDDED_RECORDS))
    return EmbeddedModel(slot, config, max_new_tokens, choices)


def transformers_model(
    slot: ModelSlot, config: ProjectConfig, max_new_tokens: int, choices: Choices
) -> "ChatModel":
    from kto.transformers_model import TransformersModel  # kto eval's own models: torch only for them

    return TransformersModel(slot, max_new_tokens)


def remote_llm(slot: ModelSlot, config: ProjectConfig, max_new_tokens: int, choices: Choices) -> "LLM":
    from kto.llms import openai_llm

    return openai_llm(slot, max_new_tokens)


def embedded_llm(slot: ModelSlot, config: ProjectConfig, max_new_tokens: int, choices: Choices) -> "LLM":
    from kto.llms import embedded_llm as build

    return build(slot, config, max_new_tokens, choices)


@dataclass(frozen=True)
class Backend:
    engine: Callable[[ModelSlot, ProjectConfig, int, Choices], "ChatModel"]
    # Its LLM on Ray, or why it does not run there.
    ray: Callable[[ModelSlot, ProjectConfig, int, Choices], "LLM"] | str


BACKENDS = {
    "openai": Backend(remote_model, remote_llm),
    "local": Backend(embedded_model, embedded_llm),
    "transformers": Backend(transformers_model, "kto eval's own models run in kto's process only"),
}


def backend(slot: ModelSlot) -> Backend:
    if slot.backend not in BACKENDS:
        raise KtoError(f"model {slot.id}", f"no backend {slot.backend!r}: use one of {', '.join(BACKENDS)}")
    return BACKENDS[slot.backend]


def for_slot(
    slot: ModelSlot, config: ProjectConfig, max_new_tokens: int, choices: Choices = None
) -> "ChatModel":
    """The slot's model on kto's engine. Checks what it can now (a key, an extra), before
    anything is printed or sent."""
    return backend(slot).engine(slot, config, max_new_tokens, choices)


def build_llm(slot: ModelSlot, config: ProjectConfig, max_new_tokens: int, choices: Choices = None) -> "LLM":
    """The slot's distilabel LLM on ``kto generate --ray``'s pipeline."""
    on_ray = backend(slot).ray
    if isinstance(on_ray, str):
        raise KtoError(
            f"model {slot.id}", f"backend {slot.backend!r} does not run on Ray ({on_ray}): run without --ray"
        )
    return on_ray(slot, config, max_new_tokens, choices)
