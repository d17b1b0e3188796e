"""What a run asks of its model slots, shared by the engine (``kto.engine``) and the Ray
pipeline (``kto.ray_pipeline``): each slot's job, the chat a prompt becomes, the estimate printed
before anything is sent, and the prompt a model saw, as the data records it."""

import json
from collections.abc import Callable
from dataclasses import dataclass

from kto.config import ModelSlot
from kto.local_model import render_prompt

Answered = Callable[[str, bool], None]  # (model slot id, whether an answer came) after each request
Messages = Callable[[str], list[dict]]  # the chat sent for a prompt


@dataclass(frozen=True)
class Job:
    """One model slot and the prompts it still has to answer."""

    slot: ModelSlot
    prompts: list[str]


@dataclass(frozen=True)
class Estimate:
    """What a run will send to one model, before anything is sent."""

    model: str
    requests: int
    max_completion_tokens: int


def estimate(jobs: list[Job], max_new_tokens: int) -> list[Estimate]:
    return [Estimate(job.slot.id, len(job.prompts), len(job.prompts) * max_new_tokens) for job in jobs]


def plan_jobs(missing: dict[str, list[str]], slots: list[ModelSlot]) -> list[Job]:
    return [Job(slot, missing[slot.id]) for slot in slots if missing[slot.id]]


def messages(system_prompt: str | None, prompt: str) -> list[dict]:
    """The chat a slot is sent, as distilabel's TextGeneration builds it."""
    system = [{"role": "system", "content": system_prompt}] if system_prompt else []
    return [*system, {"role": "user", "content": prompt}]


def prompt_seen(slot: ModelSlot, messages: list[dict]) -> str:
    """The full prompt the model saw: the rendered text for the embedded model; for a server,
    whose chat template we cannot see, the messages it was sent, as JSON."""
    if slot.backend == "local":
        return render_prompt(messages)
    return json.dumps(messages, ensure_ascii=False)
