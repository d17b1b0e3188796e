"""``kto generate``: every model slot answers every prompt, in the seed's row format.

Only the gaps are asked for: prompts a slot has never answered, or whose answer failed. Answers
go to a journal beside the output as they arrive (``kto.journal``), so a run stopped in any way
(Ctrl-C, a kill, a crash, a stalled server) resumes where it stopped and never pays twice for an
answer. One run at a time works on a project's output.
"""

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from kto import responses
from kto.config import ModelSlot, ProjectConfig
from kto.engine import Job, Progress, estimate, plan_jobs, slot_models
from kto.errors import KtoError
from kto.journal import Journal, RunLock


@dataclass
class GenerateReport:
    path: Path
    rows: int
    recovered: int  # answers a previous, interrupted run left in the journal
    asked: int
    # Per slot still lacking answers: how many prompts, and the first error seen.
    still_missing: dict[str, int] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    older_models: list[str] = field(default_factory=list)
    pushed: str | None = None  # the dataset's URL on the Hub


def journal_path(output: Path) -> Path:
    return output.with_name(f".{output.stem}.journal.jsonl")


def run(
    config: ProjectConfig,
    prompts: list[str],
    slots: list[ModelSlot],
    output: Path,
    *,
    progress: Progress,
    warn: Callable[[str], None],
    ray: bool = False,
    estimate_only: bool = False,
    push: bool = False,
) -> GenerateReport:
    """Fill the gaps of ``output`` for ``prompts`` x ``slots``; always writes what it has."""
    model_ids = [slot.id for slot in slots]
    journal = Journal(journal_path(output), warn)
    with RunLock(output.with_name(f".{output.stem}.lock"), "kto generate"):
        _discard_old_cache(config, warn)
        recovered = journal.read()
        table = responses.merge(responses.read_table(output), recovered)
        jobs = plan_jobs(responses.gaps(table, prompts, model_ids), slots)
        # Built first: a missing key or extra is named before anything is printed or sent.
        models = slot_models(jobs, config, config.generation.max_new_tokens, distilabel_only=ray)
        if not estimate_only:
            from kto.doctor import raise_on_failure, unserved

            raise_on_failure(unserved([job.slot for job in jobs]))  # a model nobody serves costs a run
        estimates = estimate(jobs, config.generation.max_new_tokens)
        recovered_count = sum(len(answers) for answers in recovered.values())
        progress.planned(jobs, estimates, recovered_count)
        report = GenerateReport(output, 0, recovered_count, sum(estimate.requests for estimate in estimates))
        if estimate_only:
            return report
        try:
            if jobs:
                report.errors = _answer(config, jobs, models, journal, progress, ray)
        finally:  # however the run ended (Ctrl-C, a stall), every answer that came is in the journal
            if jobs:
                table = responses.merge(table, journal.read())
            rows = responses.to_rows(table, prompts, model_ids)
            responses.write_rows(rows, output)
            journal.clear()
    report.rows = len(rows)
    gaps = responses.gaps(table, prompts, model_ids)
    report.still_missing = {model: len(gap) for model, gap in gaps.items() if gap}
    report.older_models = sorted(
        {model for row in rows for model in row["generation_model"]} - set(model_ids)
    )
    if push:
        from kto.hub import push_parquet

        report.pushed = push_parquet(output, config.hub.generations_repo, private=config.hub.private)
    return report


def require_ray() -> None:
    try:
        import ray  # noqa: F401
    except ImportError as error:
        raise KtoError("ray", "install the ray extra: pip install -e '.[ray]'") from error


def _discard_old_cache(config: ProjectConfig, warn: Callable[[str], None]) -> None:
    """Earlier versions resumed from distilabel's cache, which could hang a run after a kill;
    the journal does that job now."""
    old = config.path(".cache/distilabel")
    if old.is_dir():
        shutil.rmtree(old, ignore_errors=True)
        warn(f"removed {old}, the cache of an earlier kto version: runs now resume from their journal")


def _answer(
    config: ProjectConfig, jobs: list[Job], models: dict, journal: Journal, progress: Progress, ray: bool
):
    if ray:
        from kto import ray_pipeline

        return ray_pipeline.run(jobs, models, journal, config.task.system_prompt, progress.answered)
    from kto import engine

    return engine.run(
        jobs,
        models,
        journal,
        system_prompt=config.task.system_prompt,
        stall_timeout=config.generation.stall_timeout,
        on_answer=progress.answered,
    )
