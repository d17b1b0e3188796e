"""``kto annotate``: one Argilla record per (prompt, non-empty response), thumbs up or down.

Record ids come from the content, so logging again (after a crash, or with more generations)
adds only the records the server lacks: never a duplicate, never a lost record, and ratings
already given are left alone.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from kto.argilla_dataset import Logged, ensure_dataset, log_missing, settings, update_changeable
from kto.config import ProjectConfig
from kto.errors import KtoError
from kto.journal import RunLock
from kto.record_ids import prompt_id, record_id

if TYPE_CHECKING:
    from kto.gates import CheckReport


def records(rows: list[dict], language: str, verdicts: list | None = None) -> Iterator[dict]:
    """One record per (prompt, non-empty response), as plain data. With ``verdicts`` (kto.gates),
    only the responses no gate dropped, with what the checks found in their metadata."""
    found = {(verdict.prompt, verdict.model): verdict for verdict in verdicts or []}
    for row in rows:
        for model, completion in zip(row["generation_model"], row["generations"], strict=True):
            verdict = found.get((row["input"], model))
            if not completion or not completion.strip() or (verdict and verdict.dropped_by):
                continue
            checked = verdict.metadata() if verdict else {}
            yield {
                "id": record_id(row["input"], model, completion),
                "fields": {"prompt": row["input"], "completion": completion},
                "metadata": {"model": model, "prompt_id": prompt_id(row["input"]), "language": language}
                | checked,
            }


@dataclass(frozen=True)
class AnnotateReport:
    dataset: str  # workspace/name
    url: str
    wanted: int
    added: int
    checked: "CheckReport | None"  # None with --no-checks
    left_out_local: int = 0  # responses of the embedded model (a dry run's), not asked for
    updated: tuple[str, ...] = ()  # settings of project.yaml that reached the existing dataset


def run(
    config: ProjectConfig,
    generations: Path,
    *,
    gates: bool = True,
    local: bool = False,
    on_checked: Callable[["CheckReport"], None] | None = None,
    on_logged: Logged | None = None,
) -> AnnotateReport:
    """Log the responses the gates allow (every non-empty one without ``gates``) that the dataset
    lacks; one run at a time, as two would log the same records. The embedded model's responses
    are a dry run's: people rate them only when the lead asks, with ``local``."""
    from kto import gold
    from kto.argilla_client import connect
    from kto.gates import check_rows
    from kto.gates import run as run_gates
    from kto.responses import read_generations

    rows, left_out = read_generations(generations), 0
    if not local:
        rows, left_out = without_local(rows)
        if left_out and not any(row["generation_model"] for row in rows):
            raise KtoError(
                "input",
                f"{generations} holds only the embedded model's responses ({left_out}), a dry run's: "
                "kto annotate --local puts them up for rating",
            )
    report = run_gates(config, rows) if gates else None
    if report and on_checked:
        on_checked(report)
    wanted = list(records(rows, config.language.code, report.verdicts if report else None))
    if not wanted and report and report.dropped:
        raise KtoError(
            "input",
            f"the gates dropped all {report.dropped} responses (kto check lists them; "
            "kto annotate --no-checks logs every non-empty one)",
        )
    if not wanted:
        raise KtoError("input", "no non-empty responses to annotate")
    known = gold.load(config.path(config.quality.gold))
    verdicts = check_rows(gold.generation_rows(known), report.gates) if report else None
    wanted = gold.mixed(wanted, gold.records(known, config.language.code, verdicts, report and report.gates))
    with RunLock(config.path(".cache/kto/annotate.lock"), "kto annotate"):
        client = connect(config)
        dataset = ensure_dataset(client, config)
        updated = update_changeable(dataset, settings(config, client))
        added = log_missing(dataset, wanted, on_logged)
    name = f"{config.argilla.workspace}/{config.argilla.dataset}"
    return AnnotateReport(name, client.api_url, len(wanted), added, report, left_out, tuple(updated))


def without_local(rows: list[dict]) -> tuple[list[dict], int]:
    """The rows without the embedded model's responses, and how many were left out."""
    from kto.local_model import is_local

    kept, left_out = [], 0
    for row in rows:
        keep = [not is_local(model) for model in row["generation_model"]]
        left_out += keep.count(False)
        kept.append(
            {
                key: [item for item, wanted in zip(value, keep, strict=True) if wanted]
                if isinstance(value, list) and len(value) == len(keep)
                else value
                for key, value in row.items()
            }
        )
    return kept, left_out
