"""The engine that ``kto generate`` and ``kto suggest`` share: every request streams.

Each model slot keeps ``concurrency`` requests in flight at all times (one for the embedded
model), so one slow or retried request never holds back the others, as a lock-step batch would.
A server's slot is a thin ``openai.AsyncOpenAI`` client (``kto.remote``), which retries 429 and
5xx answers with backoff that honours ``Retry-After``; the embedded model is distilabel's
``LlamaCppLLM``, in a thread of its own. Every answer goes to the journal as it lands. A failed
request is a gap (``None``) that the next run fills; a run in which no request ends for
``stall_timeout`` seconds stops, naming the slot that is stuck.
"""

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol

from kto.config import ModelSlot, ProjectConfig
from kto.errors import KtoError, one_line
from kto.journal import Journal
from kto.local_model import render_prompt
from kto.remote import RemoteModel
from kto.responses import Response

Answered = Callable[[str, bool], None]  # (model slot id, whether an answer came) after each request


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


class Progress(Protocol):
    """What a step tells its caller as it goes: the plan once, then each request as it ends."""

    def planned(self, jobs: list[Job], estimates: list[Estimate], recovered: int) -> None:
        """``recovered``: answers a previous, interrupted run left in the journal."""

    def answered(self, model: str, ok: bool) -> None: ...


def estimate(jobs: list[Job], max_new_tokens: int) -> list[Estimate]:
    return [Estimate(job.slot.id, len(job.prompts), len(job.prompts) * max_new_tokens) for job in jobs]


def slot_models(
    jobs: list[Job],
    config: ProjectConfig,
    max_new_tokens: int,
    *,
    judge: bool = False,
    distilabel_only: bool = False,
) -> dict:
    """Each job's model, by slot id: a ``RemoteModel`` for a server, distilabel's LLM for the
    embedded model (or for every slot on distilabel's pipeline). distilabel is imported only
    when needed: its import takes seconds."""
    models = {
        job.slot.id: RemoteModel(job.slot, max_new_tokens)
        for job in jobs
        if job.slot.backend == "openai" and not distilabel_only
    }
    if len(models) < len(jobs):
        from kto import llms

        local_class = llms.EmbeddedGemmaJudge if judge else llms.EmbeddedGemmaLLM
        for job in jobs:
            if job.slot.id not in models:
                models[job.slot.id] = llms.build_llm(job.slot, config, max_new_tokens, local_class)
    return models


def plan_jobs(missing: dict[str, list[str]], slots: list[ModelSlot]) -> list[Job]:
    return [Job(slot, missing[slot.id]) for slot in slots if missing[slot.id]]


def messages(system_prompt: str | None, prompt: str) -> list[dict]:
    """The chat a slot is sent, as distilabel's TextGeneration builds it."""
    system = [{"role": "system", "content": system_prompt}] if system_prompt else []
    return [*system, {"role": "user", "content": prompt}]


def run(
    jobs: list[Job],
    models: dict,
    journal: Journal,
    *,
    system_prompt: str | None,
    stall_timeout: float,
    on_answer: Answered | None = None,
) -> dict[str, str]:
    """Ask every job's slot for every one of its prompts; the answers go to ``journal``. Returns
    the first error of each slot that had failures, in one line, for the warning.

    ``models`` holds each slot's model, by slot id: a ``RemoteModel``, or for the embedded
    model a distilabel ``LlamaCppLLM`` (``kto.llms.build_llm``).
    """
    errors: dict[str, str] = {}
    try:
        asyncio.run(_run(jobs, models, journal, system_prompt, stall_timeout, on_answer, errors))
    finally:
        journal.sync()
    return errors


async def _run(jobs, models, journal, system_prompt, stall_timeout, on_answer, errors) -> None:
    local_jobs = [job for job in jobs if job.slot.backend == "local"]
    # The embedded model computes in C and lets go of the GIL: a thread per slot runs them in parallel.
    threads = ThreadPoolExecutor(max_workers=max(1, len(local_jobs)), thread_name_prefix="kto-local")
    watch = _Watch()
    try:
        slots = [_Slot(job, models[job.slot.id], threads) for job in jobs]
        for slot in slots:  # one at a time: llama.cpp silences its loading by swapping file descriptors
            await slot.load()

        async def ask(slot: "_Slot", prompt: str) -> None:
            chat = messages(system_prompt, prompt)
            async with slot.limit:
                started = watch.start(slot.job.slot.id)
                try:
                    raw = await asyncio.wait_for(slot.ask(chat), slot.job.slot.retry_budget)
                except Exception as error:  # a failed request is a gap for the next run
                    errors.setdefault(slot.job.slot.id, f"{type(error).__name__}: {one_line(error)}")
                    raw = None
                finally:
                    watch.end(started)
            if raw is not None:
                journal.add(prompt, slot.job.slot.id, Response(prompt_seen(slot.job.slot, chat), raw))
            if on_answer:
                on_answer(slot.job.slot.id, raw is not None)

        requests = [asyncio.ensure_future(ask(slot, prompt)) for slot in slots for prompt in slot.job.prompts]
        work = asyncio.gather(*requests)
        while not work.done():
            await asyncio.wait([work], timeout=0.5)
            journal.sync()
            if watch.idle() > stall_timeout:
                stuck = watch.stuck()
                work.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await work
                raise KtoError(
                    "generation",
                    f"no request ended for {stall_timeout:g} s: {stuck} is not answering; "
                    "the answers so far are kept: run the command again to resume "
                    "(generation.stall_timeout sets the wait)",
                )
        await work
    finally:
        threads.shutdown(wait=False, cancel_futures=True)


class _Slot:
    def __init__(self, job: Job, model, threads: ThreadPoolExecutor):
        self.job = job
        self.model = model
        self.threads = threads
        self.limit = asyncio.Semaphore(job.slot.parallel_requests)

    async def load(self) -> None:
        if not isinstance(self.model, RemoteModel):  # the embedded model reads 250 MB: off the event loop
            await asyncio.get_running_loop().run_in_executor(self.threads, self.model.load)

    async def ask(self, chat: list[dict]) -> str | None:
        if isinstance(self.model, RemoteModel):
            return await self.model.ask(chat)
        kwargs = self.model.generation_kwargs or {}
        generate = lambda: self.model.generate(inputs=[chat], **kwargs)[0]["generations"][0]  # noqa: E731
        return await asyncio.get_running_loop().run_in_executor(self.threads, generate)


def prompt_seen(slot: ModelSlot, messages: list[dict]) -> str:
    """The full prompt the model saw: the rendered text for the embedded model; for a server,
    whose chat template we cannot see, the messages it was sent, as JSON."""
    if slot.backend == "local":
        return render_prompt(messages)
    return json.dumps(messages, ensure_ascii=False)


class _Watch:
    """When a request last ended, and which requests are in flight since when."""

    def __init__(self):
        self.last_end = time.monotonic()
        self.in_flight: dict[int, tuple[str, float]] = {}
        self._next = 0

    def start(self, slot_id: str) -> int:
        self._next += 1
        self.in_flight[self._next] = (slot_id, time.monotonic())
        return self._next

    def end(self, ticket: int) -> None:
        self.in_flight.pop(ticket, None)
        self.last_end = time.monotonic()

    def idle(self) -> float:
        """Seconds since a request last ended, while some are in flight."""
        return time.monotonic() - self.last_end if self.in_flight else 0.0

    def stuck(self) -> str:
        slot_id, _ = min(self.in_flight.values(), key=lambda entry: entry[1])
        return slot_id
