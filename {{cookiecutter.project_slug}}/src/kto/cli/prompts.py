"""Commands for the prompts themselves: ``prompts generate`` (a writer model drafts them) and
``prompts check`` (a linter for a team's own file)."""

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from kto.cli._common import LocalOption, OutputOption, console, progress_bar, project, typer_factory, warn

app = typer_factory("Make prompts with a writer model, and check a prompts file.")


class WriterBar:
    """One bar: the prompts kept of those wanted."""

    def __init__(self, bar, wanted: int):
        self.bar = bar
        self.task = bar.add_task("prompts kept", total=wanted)

    def planned(self, jobs, estimates, recovered: int) -> None:
        if recovered:
            console.print(f"Resuming: {recovered} answers kept from an interrupted run")

    def answered(self, model: str, ok: bool) -> None:
        pass

    def kept(self, count: int) -> None:
        self.bar.update(self.task, completed=count)


@app.command("generate")
def prompts_generate_command(
    ctx: typer.Context,
    n: Annotated[int, typer.Option("--n", min=1, help="How many prompts the output should hold")],
    output: OutputOption = None,
    local: LocalOption = False,
) -> None:
    """Ask a writer model for new prompts in the project's language, until N pass the gates;
    exit 1 when the output holds fewer."""
    from kto import prompt_writer

    config = project(ctx)
    with progress_bar() as bar:
        report = prompt_writer.run(
            config,
            n=n,
            output=output or config.path(prompt_writer.DEFAULT_OUTPUT),
            local=local,
            progress=WriterBar(bar, n),
            warn=warn,
        )
    dropped = ", ".join(f"{count} {reason}" for reason, count in report.dropped.most_common())
    asked = f"{report.asked} requests in this run" if report.asked else "nothing asked"
    console.print(f"Kept {report.kept} prompts in {report.path} ({asked}); dropped: {dropped or 'none'}")
    if report.stopped:
        console.print(report.stopped)
        raise typer.Exit(1)


@app.command("check")
def prompts_check_command(
    ctx: typer.Context,
    file: Annotated[
        str | None, typer.Argument(help="Prompts file or Hub dataset id (default: prompts.source)")
    ] = None,
    fix: Annotated[
        bool, typer.Option("--fix", help="Write the prompts without the problems next to the file")
    ] = False,
) -> None:
    """List the empty, undecodable, wordless, too long, wrong-language, repeated and near-repeated
    prompts, and lists on one line; exit 1 if any (with --fix: if no clean copy could be written)."""
    from kto import prompt_checks

    report = prompt_checks.check(project(ctx), file, fix=fix)
    if report.read_as:
        warn(
            f"{report.source} is not UTF-8: read as {report.read_as} (a guess): "
            "save it as UTF-8 if it reads wrong"
        )
    if report.bad_lines:
        lines = ", ".join(map(str, report.bad_lines))
        hold = "line {} holds" if len(report.bad_lines) == 1 else "lines {} hold"
        warn(f"{report.source}: {hold.format(lines)} bytes that are not UTF-8 (shown as \ufffd)")
    if report.findings:
        table = Table(
            "row",
            "problem",
            "prompt",
            title=f"{report.source}: {len(report.findings)} of {report.rows} prompts",
        )
        for finding in report.findings:
            text = " / ".join(finding.text.split("\n"))
            table.add_row(finding.where, f"{finding.reason}: {finding.detail}", text[:60] or "(empty)")
        console.print(table)
    console.print(f"{report.source}: {report.rows} prompts, " + (report.summary() or "no problems"))
    if report.fixed:
        console.print(f"Wrote the {report.kept} prompts without problems to {Path(report.fixed)}")
    if (report.findings and not report.fixed) or (report.fixed and not report.kept):
        raise typer.Exit(1)
