"""PROVISIONAL, deleted at merge: ``fill_gaps`` and ``FillReport`` as the engine branch defines
them (kto.engine, kto.models), built from today's pieces (the sequence of ``generate.run`` and
``suggest.run``), so that ``kto eval`` is written against that contract already.

At merge ``kto.evaluation`` imports ``fill_gaps`` from ``kto.engine`` instead, and
``models.for_slot`` dispatches ``backend == "transformers"`` to
``kto.transformers_model.TransformersModel(slot, max_new_tokens)``.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from kto import engine, responses
from kto.config import ModelSlot, ProjectConfig
from kto.errors import KtoError
from kto.journal import Journal, RunLock
from kto.local_model import INSTALL_HINT
from kto.remote import RemoteModel
from kto.responses import Table


@dataclass
class FillReport:
    answers: Table
    asked: int
    recovered: int
    errors: dict[str, str] = field(default_factory=dict)
    missing: dict[str, int] = field(default_factory=dict)


class _Awaited(RemoteModel):
    """Today's engine awaits ``ask`` only of RemoteModel instances: a ChatModel passes as one."""

    def __init__(self, model):
        self.slot, self.model = model.slot, model

    async def ask(self, messages: list[dict]) -> str | None:
        return await self.model.ask(messages)


def fill_gaps(
    config: ProjectConfig,
    *,
    journal: Path,
    command: str,
    prompts: list[str],
    slots: list[ModelSlot],
    messages: Callable[[str], list[dict]],
    max_new_tokens: int,
    progress: engine.Progress,
    warn: Callable[[str], None],
    save: Callable[[Table], None],
    known: Table | None = None,
    choices: tuple[str, ...] | None = None,
    estimate_only: bool = False,
) -> FillReport:
    book = Journal(journal, warn)
    ids = [slot.id for slot in slots]
    with RunLock(journal.with_name(journal.name + ".lock"), command):
        recovered = book.read()
        table = responses.merge(known or {}, recovered)
        jobs = engine.plan_jobs(responses.gaps(table, prompts, ids), slots)
        models = _models(jobs, config, max_new_tokens, choices)
        if jobs and not estimate_only:
            from kto.doctor import raise_on_failure, unserved

            raise_on_failure(unserved([job.slot for job in jobs]))
        estimates = engine.estimate(jobs, max_new_tokens)
        count = sum(len(answers) for answers in recovered.values())
        progress.planned(jobs, estimates, count)
        report = FillReport(table, sum(estimate.requests for estimate in estimates), count)
        if estimate_only:
            return report
        try:
            if jobs:
                report.errors = _ask(jobs, models, book, messages, config, progress)
        finally:
            if jobs:
                table = responses.merge(table, book.read())
            save(table)
            book.clear()
    report.answers = table
    report.missing = {slot: len(gap) for slot, gap in responses.gaps(table, prompts, ids).items() if gap}
    return report


def _ask(jobs, models, book, messages, config, progress) -> dict[str, str]:
    """Today's engine builds each chat as ``engine.messages(system_prompt, key)``: the contract's
    ``messages`` must be of that shape here."""
    first = messages(jobs[0].prompts[0])
    system = first[0]["content"] if first[0]["role"] == "system" else None
    if any(messages(key) != engine.messages(system, key) for job in jobs for key in job.prompts):
        raise NotImplementedError("the provisional engine sends only engine.messages(system, key)")
    own = [model for model in models.values() if isinstance(model, _Awaited)]
    try:
        for model in own:  # one at a time, as the engine loads its slots
            model.model.load()
        return engine.run(
            jobs,
            models,
            book,
            system_prompt=system,
            stall_timeout=config.generation.stall_timeout,
            on_answer=progress.answered,
        )
    finally:
        for model in own:
            model.model.close()


def _models(jobs, config, max_new_tokens: int, choices: tuple[str, ...] | None) -> dict:
    from kto.transformers_model import TransformersModel

    models = {
        job.slot.id: _Awaited(TransformersModel(job.slot, max_new_tokens))
        for job in jobs
        if job.slot.backend == "transformers"
    }
    others = [job for job in jobs if job.slot.backend != "transformers"]
    models |= engine.slot_models(others, config, max_new_tokens, judge=choices is not None)
    if choices:  # today's embedded judge answers 0 or 1: held to ``choices`` by a grammar instead
        from kto import llms

        judge = _judge_class(choices)
        for job in others:
            if job.slot.backend == "local":
                models[job.slot.id] = llms.build_llm(job.slot, config, max_new_tokens, judge)
    return models


def _judge_class(choices: tuple[str, ...]):
    try:
        from llama_cpp import LlamaGrammar
    except ImportError as error:
        raise KtoError("local", INSTALL_HINT) from error
    from kto import llms

    rule = " | ".join(f'"{choice}"' for choice in choices)

    class Judge(llms.EmbeddedGemmaJudge):
        def load(self) -> None:
            super().load()
            self._grammar = LlamaGrammar.from_string(f"root ::= {rule}", verbose=False)

    return Judge
