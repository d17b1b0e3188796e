"""PROVISIONAL: ``fill_gaps`` and ``FillReport`` as the engine branch defines them, built from
today's pieces (the sequence of ``suggest.run``), so ``kto prompts generate`` can be written
against the contract now. The lead deletes this file at merge and imports them from kto.engine.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from kto import engine, responses
from kto.config import ModelSlot, ProjectConfig
from kto.engine import Progress
from kto.journal import Journal, RunLock
from kto.remote import RemoteModel
from kto.responses import Table


@dataclass
class FillReport:
    answers: Table
    asked: int
    recovered: int
    errors: dict[str, str] = field(default_factory=dict)
    missing: dict[str, int] = field(default_factory=dict)


def fill_gaps(
    config: ProjectConfig,
    *,
    journal: Path,
    command: str,
    prompts: list[str],
    slots: list[ModelSlot],
    messages: Callable[[str], list[dict]],
    max_new_tokens: int,
    progress: Progress,
    warn: Callable[[str], None],
    save: Callable[[Table], None],
    known: Table | None = None,
    choices: tuple[str, ...] | None = None,
    estimate_only: bool = False,
) -> FillReport:
    answers_journal = Journal(journal, warn)
    with RunLock(journal.with_name(journal.name.replace(".journal.jsonl", "") + ".lock"), command):
        recovered = answers_journal.read()
        table = responses.merge(known or {}, recovered)
        ids = [slot.id for slot in slots]
        jobs = engine.plan_jobs(responses.gaps(table, prompts, ids), slots)
        models = engine.slot_models(jobs, config, max_new_tokens)
        if not estimate_only and jobs:
            from kto.doctor import raise_on_failure, unserved

            raise_on_failure(unserved([job.slot for job in jobs]))
        estimates = engine.estimate(jobs, max_new_tokens)
        recovered_count = sum(len(row) for row in recovered.values())
        progress.planned(jobs, estimates, recovered_count)
        report = FillReport(table, sum(e.requests for e in estimates), recovered_count)
        if estimate_only:
            return report
        try:
            if jobs:
                keyed = {key: _keyed(model, messages) for key, model in models.items()}
                report.errors = engine.run(
                    jobs,
                    keyed,
                    answers_journal,
                    system_prompt=None,
                    stall_timeout=config.generation.stall_timeout,
                    on_answer=progress.answered,
                )
        finally:
            table = responses.merge(table, answers_journal.read())
            save(table)
            answers_journal.clear()
    report.answers = table
    report.missing = {slot: len(gap) for slot, gap in responses.gaps(table, prompts, ids).items() if gap}
    return report


def _keyed(model, messages: Callable[[str], list[dict]]):
    """Today's engine sends each key as the chat's one user message: the wrapper sends ``messages(key)``."""
    return _KeyedRemote(model, messages) if isinstance(model, RemoteModel) else _KeyedLocal(model, messages)


class _KeyedRemote(RemoteModel):
    def __init__(self, model: RemoteModel, messages: Callable[[str], list[dict]]):
        self.model, self.messages = model, messages

    async def ask(self, messages: list[dict]) -> str | None:
        return await self.model.ask(self.messages(messages[-1]["content"]))


class _KeyedLocal:
    def __init__(self, model, messages: Callable[[str], list[dict]]):
        self.model, self.messages = model, messages
        self.generation_kwargs = model.generation_kwargs

    def load(self) -> None:
        self.model.load()

    def generate(self, inputs: list[list[dict]], **kwargs):
        return self.model.generate(inputs=[self.messages(chat[-1]["content"]) for chat in inputs], **kwargs)
