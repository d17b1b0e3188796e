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

from kto import engine, jobs, responses
from kto.config import ModelSlot, ProjectConfig
from kto.errors import Interrupted, KtoError
from kto.journal import journal_path


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


def run(
    config: ProjectConfig,
    prompts: list[str],
    slots: list[ModelSlot],
    output: Path,
    *,
    progress: engine.Progress,
    warn: Callable[[str], None],
    ray: bool = False,
    estimate_only: bool = False,
    push: bool = False,
) -> GenerateReport:
    """Fill the gaps of ``output`` for ``prompts`` x ``slots``; always writes what it has."""
    model_ids = [slot.id for slot in slots]
    written: list[dict] = []

    def save(table: responses.Table) -> None:
        written[:] = responses.to_rows(table, prompts, model_ids)
        responses.write_rows(written, output)

    _discard_old_cache(config, warn)
    system_prompt = config.task.system_prompt
    try:
        filled = engine.fill_gaps(
            config,
            journal=journal_path(output),
            command="kto generate",
            prompts=prompts,
            slots=slots,
            messages=lambda prompt: jobs.messages(system_prompt, prompt),
            max_new_tokens=config.generation.max_new_tokens,
            progress=progress,
            warn=warn,
            save=save,
            known=responses.read_table(output),
            estimate_only=estimate_only,
            ray=ray,
        )
    except Interrupted as stop:  # what a user looks at is the output, written from the answers
        stop.kept = f"{len(written)} rows in {output} ({stop.kept})"
        raise
    older = {model for row in written for model in row["generation_model"]} - set(model_ids)
    report = GenerateReport(
        output, len(written), filled.recovered, filled.asked, filled.missing, filled.errors, sorted(older)
    )
    if push and not estimate_only:
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
