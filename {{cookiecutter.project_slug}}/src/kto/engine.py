"""The engine every step that asks models shares (``kto generate``, ``kto suggest``): one entry
point, ``fill_gaps``, and every request streams.

Inside the project's one-run-at-a-time lock, ``fill_gaps`` folds the journal of an interrupted
run into what is known, asks each slot only for what it lacks, and saves. Each slot keeps
``concurrency`` requests in flight at all times (one for the embedded model), so one slow or
retried request never holds back the others, as a lock-step batch would. Every model, a server's
or the embedded one in its child process, is a ``kto.models.ChatModel``. Every answer goes to
the journal as it lands. A failed request is a gap (``None``) that the next run fills; a model
that cannot go on (its process crashed) ends the run with one line; a run in which no request
ends for ``stall_timeout`` seconds stops, naming the slot that is stuck.

A streaming step (``kto prompts generate``) passes a ``Stream``: it sees every answer as it lands,
says which requests may start, and ends the run once it has enough, so requests are topped up
only while they are needed. Ctrl-C or SIGTERM ends a run as any other stop does (answers saved,
journal cleared), then raises ``Interrupted`` saying what was kept.
"""

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from kto import responses
from kto.backends import for_slot
from kto.config import ModelSlot, ProjectConfig
from kto.errors import Interrupted, KtoError, one_line
from kto.jobs import Answered, Estimate, Job, Messages, estimate, plan_jobs, prompt_seen
from kto.journal import Journal, RunLock, lock_path
from kto.models import ChatModel
from kto.responses import Response, Table
from kto.serving import raise_on_failure, unserved


class Progress(Protocol):
    """What a step tells its caller as it goes: the plan once, then each request as it ends."""

    def planned(self, jobs: list[Job], estimates: list[Estimate], recovered: int) -> None:
        """``recovered``: answers a previous, interrupted run left in the journal."""

    def answered(self, model: str, ok: bool) -> None: ...


@dataclass
class FillReport:
    answers: Table  # {prompt: {slot id: Response}}: ``known`` plus every answer asked or journalled
    asked: int  # requests planned in this run
    recovered: int  # answers an interrupted earlier run left in the journal
    errors: dict[str, str]  # slot id -> first error, one line
    missing: dict[str, int]  # slot id -> prompts still without an answer
    ended: int = 0  # requests that ended in this run, answered or failed


class Stream(Protocol):
    """A step that reads the answers in ``prompts``' order as they land (``kto prompts generate``).
    It may wait on work outside the engine's event loop (a child process's verdicts), so between
    answers it is asked again every STREAM_POLL seconds."""

    def enough(self, table: Table, *, wait: bool = False) -> bool:
        """Whether every answer so far (``table``) is enough; ``wait``: for any work of its own
        (asked once before anything is sent, when nothing is in flight)."""

    def may_start(self, prompt: str) -> bool:
        """Whether the request for ``prompt`` may be sent now."""


STREAM_POLL = 0.05  # seconds
Landed = Callable[[str, str, Response | None], bool]  # (prompt, slot id, answer) -> stop now


def fill_gaps(
    config: ProjectConfig,
    *,
    journal: Path,
    command: str,
    prompts: list[str],
    slots: list[ModelSlot],
    messages: Messages,
    max_new_tokens: int,
    progress: Progress,
    warn: Callable[[str], None],
    save: Callable[[Table], None],
    known: Table | None = None,
    choices: tuple[str, ...] | None = None,
    estimate_only: bool = False,
    ray: bool = False,
    stream: Stream | None = None,
) -> FillReport:
    """Inside the project lock: fold the journal into ``known``, find the gaps, refuse a model its
    server does not list (one line, before anything is sent), print the plan through
    ``progress``, ask, then ``save`` all answers however asking ended and clear the journal.
    ``ray``: ask on distilabel's Ray pipeline instead (``kto generate --ray``). ``stream``: the
    run ends when it has enough, or at the first failed request (a gap the stream would wait at)."""
    book = Journal(journal, warn)
    ids = [slot.id for slot in slots]
    with RunLock(lock_path(journal), command):
        recovered = book.read()
        table = responses.merge(known or {}, recovered)
        enough = stream is not None and stream.enough(table, wait=True)
        jobs = [] if enough else plan_jobs(responses.gaps(table, prompts, ids), slots)
        # Built first: a missing key or extra is named before anything is printed or sent.
        models, ask = _models(jobs, config, max_new_tokens, choices, ray)
        if not estimate_only:
            raise_on_failure(unserved([job.slot for job in jobs]))
        estimates = estimate(jobs, max_new_tokens)
        report = FillReport(
            table, sum(e.requests for e in estimates), sum(map(len, recovered.values())), {}, {}
        )
        progress.planned(jobs, estimates, report.recovered)
        if estimate_only:
            return report
        # What only this engine's ``run`` takes: distilabel's Ray pipeline neither streams nor counts.
        pacing = {} if ray else _pacing(table, stream, report)
        try:
            if jobs:
                report.errors = ask(
                    jobs,
                    models,
                    book,
                    messages=messages,
                    stall_timeout=config.generation.stall_timeout,
                    answered=progress.answered,
                    **pacing,
                )
        except KeyboardInterrupt as interrupt:  # Ctrl-C or SIGTERM: saved below, then said
            journalled = sum(r.raw is not None for row in book.read().values() for r in row.values())
            raise Interrupted(f"{journalled - report.recovered} new answers kept") from interrupt
        finally:  # however asking ended (a crash, Ctrl-C, a stall), every answer that came is kept
            report.answers = table = responses.merge(table, book.read()) if jobs else table
            save(table)
            book.clear()
    report.missing = {slot: len(gap) for slot, gap in responses.gaps(table, prompts, ids).items() if gap}
    return report


def _pacing(table: Table, stream: Stream | None, report: FillReport) -> dict[str, Any]:
    """``run``'s ``landed`` (each answer into ``table`` as it lands, and a stream asked whether
    that is enough), and a stream's ``recheck`` and ``may_start``."""

    def landed(prompt: str, slot_id: str, response: Response | None) -> bool:
        report.ended += 1
        if stream is None:
            return False
        if response is None:
            return True
        table.setdefault(prompt, {})[slot_id] = response
        return stream.enough(table)

    if stream is None:
        return {"landed": landed}
    return {"landed": landed, "recheck": lambda: stream.enough(table), "may_start": stream.may_start}


def _models(jobs: list[Job], config: ProjectConfig, max_new_tokens: int, choices, ray: bool):
    """Each job's model by slot id, and the function that asks them (this engine's ``run``, or
    ``kto.ray_pipeline.run`` with distilabel's LLMs: distilabel is imported only then)."""
    if ray:
        from kto import ray_pipeline

        return ray_pipeline.llms(jobs, config, max_new_tokens, choices), ray_pipeline.run
    return {job.slot.id: for_slot(job.slot, config, max_new_tokens, choices) for job in jobs}, run


def run(
    jobs: list[Job],
    models: dict[str, ChatModel],
    journal: Journal,
    *,
    messages: Messages,
    stall_timeout: float,
    answered: Answered,
    landed: Landed,
    recheck: Callable[[], bool] | None = None,
    may_start: Callable[[str], bool] | None = None,
) -> dict[str, str]:
    """Ask every job's model for every one of its prompts; the answers go to ``journal``. Returns
    the first error of each slot that had failures, in one line. Models are loaded here, in this
    thread (a child process dies with the thread that started it), and closed however it ends."""
    errors: dict[str, str] = {}
    try:
        for job in jobs:
            models[job.slot.id].load()
        asyncio.run(
            _ask_all(
                jobs,
                models,
                journal,
                messages=messages,
                stall_timeout=stall_timeout,
                answered=answered,
                landed=landed,
                recheck=recheck,
                may_start=may_start,
                errors=errors,
            )
        )
    finally:
        journal.sync()
        for model in models.values():
            model.close()
    return errors


async def _ask_all(
    jobs: list[Job],
    models: dict[str, ChatModel],
    journal: Journal,
    *,
    messages: Messages,
    stall_timeout: float,
    answered: Answered,
    landed: Landed,
    recheck: Callable[[], bool] | None,
    may_start: Callable[[str], bool] | None,
    errors: dict[str, str],
) -> None:
    """Each slot's ``concurrency`` workers take its prompts in order, one request each at a time,
    until they run out or ``landed`` says stop; a stream's request starts once ``may_start``
    says so, and ``recheck`` asks it between answers whether it has enough."""
    watch, stop, turn = _Watch(), asyncio.Event(), _Turn(may_start)

    async def ask(slot: ModelSlot, prompt: str) -> None:
        chat = messages(prompt)
        started = watch.start(slot.id)
        try:
            raw = await asyncio.wait_for(models[slot.id].ask(chat), slot.retry_budget)
        except KtoError:  # the model cannot go on (its process died): the run ends
            raise
        except Exception as error:  # a failed request is a gap for the next run
            errors.setdefault(slot.id, f"{type(error).__name__}: {one_line(error)}")
            raw = None
        finally:
            watch.end(started)
        response = None if raw is None else Response(prompt_seen(slot, chat), raw)
        if response is not None:
            journal.add(prompt, slot.id, response)
        answered(slot.id, raw is not None)
        if landed(prompt, slot.id, response):
            stop.set()

    async def worker(slot: ModelSlot, queue: Iterator[str]) -> None:
        for prompt in queue:
            if stop.is_set():
                return
            await turn.wait(prompt)
            if stop.is_set():
                return
            await ask(slot, prompt)
            turn.changed()

    workers = []
    for job in jobs:
        queue, size = iter(job.prompts), min(job.slot.concurrency, len(job.prompts))
        workers += [asyncio.ensure_future(worker(job.slot, queue)) for _ in range(size)]
    work, stopped = asyncio.gather(*workers), asyncio.ensure_future(stop.wait())
    either: list[asyncio.Future[Any]] = [work, stopped]
    try:
        while not work.done() and not stop.is_set():
            timeout = STREAM_POLL if recheck else 0.5
            await asyncio.wait(either, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
            if recheck is not None:
                if recheck():
                    stop.set()
                turn.changed()
            journal.sync()
            if watch.idle() > stall_timeout:
                raise KtoError(
                    "generation",
                    f"no request ended for {stall_timeout:g} s: {watch.stuck()} is not answering; "
                    "the answers so far are kept: run the command again to resume "
                    "(generation.stall_timeout sets the wait)",
                )
        if not stop.is_set():
            await work
    finally:  # a request that ended the run, or enough answers, leaves others in flight: they end here
        # Set for every ending: a worker whose cancellation asyncio.wait_for swallowed (it does when
        # the request ends at that moment, Python 3.11) then stops at its next prompt.
        stop.set()
        await _end(work, [*workers, stopped], models)


async def _end(work: asyncio.Future, tasks: list[asyncio.Future], models: dict[str, ChatModel]) -> None:
    """Cancel what is still in flight, retrieve every outcome, and close the models' clients."""
    for task in tasks:
        task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):  # retrieved, so never logged
        await work
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.gather(*tasks, return_exceptions=True)
    # In this loop: a client closed later, by the garbage collector, would log "Event loop is
    # closed" tracebacks from a later loop (a second asyncio.run, as kto eval's judge round).
    await asyncio.gather(*(model.aclose() for model in models.values()), return_exceptions=True)


class _Turn:
    """A stream's say over when each request starts: it waits until ``may_start`` allows it,
    asked again whenever something ``changed`` (an answer landed, a poll): an event per change,
    which wakes every waiter without a lock to take."""

    def __init__(self, may_start: Callable[[str], bool] | None):
        self.may_start = may_start
        self.change = asyncio.Event()

    async def wait(self, prompt: str) -> None:
        while self.may_start is not None and not self.may_start(prompt):
            await self.change.wait()

    def changed(self) -> None:
        if self.may_start is not None:
            self.change.set()  # wakes every waiter, each of which then waits on the next one
            self.change = asyncio.Event()


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
