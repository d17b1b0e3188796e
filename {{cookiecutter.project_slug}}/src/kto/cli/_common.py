"""What every command group shares: how a group is made, the consoles, the project's config, option
types, progress bars.

Option types are ``Annotated`` aliases (as huggingface_hub's CLI declares its own), so an option
that several commands take is declared, and worded, once.
"""

import os
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from kto.config import ProjectConfig, load_config

# kto draws its own progress bars; tqdm reads this once, when it is first imported.
os.environ.setdefault("TQDM_DISABLE", "1")


def typer_factory(help: str | None = None, *, runs_alone: bool = False) -> typer.Typer:
    """A command group, made as every other (as huggingface_hub's CLI makes its own): a group
    added under a name shows its help when given no command, unless it ``runs_alone`` (its own
    callback does the work: ``kto community``); kto's ``main`` reports errors."""
    return typer.Typer(
        help=help,
        no_args_is_help=not runs_alone,
        invoke_without_command=runs_alone,
        pretty_exceptions_enable=False,
    )


# Progress, warnings and errors go to stderr; the reports a command exists for (status, check,
# doctor) go to stdout, so `kto status > report.txt` keeps them.
console = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True)

PushOption = Annotated[bool, typer.Option("--push", help="Also push the result to the Hub (private)")]
InputOption = Annotated[
    Path | None, typer.Option("--input", help="Generations file (default from project.yaml)")
]
OutputOption = Annotated[Path | None, typer.Option(help="Where to write (default from project.yaml)")]
LocalOption = Annotated[bool, typer.Option("--local", help="Use the embedded tiny model (offline)")]
DryRunOption = Annotated[bool, typer.Option("--dry-run", help="Show what would be done, change nothing")]
PromptsOption = Annotated[
    str | None, typer.Option(help="Prompts file (.jsonl/.csv/.txt/.parquet) or Hub dataset id")
]
LimitOption = Annotated[int | None, typer.Option(min=1, help="Use only the first N prompts")]


def project(ctx: typer.Context) -> ProjectConfig:
    """The project's config (``--config``, or found from the working directory up), with the
    tokens of an ignored ``.env`` added to the environment."""
    config = load_config(ctx.obj)
    from dotenv import load_dotenv

    load_dotenv(config.path(".env"), override=False)
    return config


def warn(message: str) -> None:
    console.print(f"[yellow]warning: {message}[/]")


def pushed(url: str | None) -> None:
    if url:
        console.print(f"Pushed to {url}")


def progress_bar() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )


class ProgressBars:
    """A bar per model slot, for the engine's ``Progress``; failed requests count as done.
    ``headline(requests)`` says what is about to be asked, above a table of the estimates.
    ``asking``: False when nothing will be sent (``--estimate``): the table, and no empty bars."""

    def __init__(self, bar: Progress, headline: Callable[[int], str], asking: bool = True):
        self.bar, self.headline, self.asking = bar, headline, asking
        self.tasks: dict[str, TaskID] = {}

    def planned(self, jobs, estimates, recovered: int) -> None:
        if recovered:
            console.print(f"Resuming: {recovered} answers kept from an interrupted run")
        if estimates:
            table = Table("model", "requests", "completion tokens (at most)")
            for estimate in estimates:
                table.add_row(estimate.model, str(estimate.requests), f"{estimate.max_completion_tokens:,}")
            console.print(self.headline(sum(estimate.requests for estimate in estimates)), table)
        if self.asking:
            self.tasks = {job.slot.id: self.bar.add_task(job.slot.id, total=len(job.prompts)) for job in jobs}

    def answered(self, model: str, ok: bool) -> None:
        self.bar.advance(self.tasks[model])


class WhenWriting:
    """A progress bar that shows once writing begins: an input refused before that stays one line
    (and a bar never shown would still leave a blank line)."""

    def __init__(self, what: str):
        self.bar = progress_bar()
        self.task = self.bar.add_task(what, total=None)

    def advance(self, done: int, total: int) -> None:
        if not self.bar.live.is_started:
            self.bar.start()
        self.bar.update(self.task, advance=done, total=total)

    def __enter__(self) -> "WhenWriting":
        return self

    def __exit__(self, *exc) -> None:
        if self.bar.live.is_started:
            self.bar.stop()


def share(count: int, total: int) -> str:
    return f"{count} ({count / total:.0%})" if count else "0"
