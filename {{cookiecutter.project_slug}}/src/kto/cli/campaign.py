"""Commands of the rating campaign on Argilla: ``annotate``, ``status``, ``backup``, ``restore``."""

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from kto.cli._common import InputOption, WhenWriting, console, out, project, pushed, typer_factory, warn

app = typer_factory()


@app.command("annotate")
def annotate_command(
    ctx: typer.Context,
    generations: InputOption = None,
    no_checks: Annotated[
        bool, typer.Option("--no-checks", help="Log every non-empty response: no quality gates")
    ] = False,
    local: Annotated[
        bool,
        typer.Option(
            "--local",
            help="The dry run: also log the embedded model's responses (default input: the dry run's file)",
        ),
    ] = False,
) -> None:
    """Put the responses the quality gates allow on Argilla for a thumbs up or down (adds only
    what is missing); the embedded model's responses only with --local."""
    from kto import annotation

    config = project(ctx)
    default = config.generation.dry_run_output if local else config.generation.output

    def dropped(report) -> None:
        for model, counts in report.per_model.items():
            if counts.dropped:
                gates = ", ".join(f"{name} {n}" for name, n in counts.dropped_by.most_common())
                console.print(f"{model}: the gates dropped {counts.dropped} of {counts.responses} ({gates})")

    with WhenWriting("records") as bar:
        report = annotation.run(
            config,
            generations or config.path(default),
            gates=not no_checks,
            local=local,
            on_checked=dropped,
            on_logged=bar.advance,
        )
    if report.updated:
        console.print(f"Updated on the dataset, as project.yaml has them: {', '.join(report.updated)}")
    if report.left_out_local:
        console.print(
            f"left out {report.left_out_local} responses of the embedded model (a dry run's; "
            "kto annotate --local puts them up for rating)"
        )
    console.print(
        f"{report.dataset}: {report.added} records added, {report.wanted - report.added} already there "
        f"({report.wanted} in all) at {report.url}"
    )


@app.command("status")
def status_command(
    ctx: typer.Context,
    plot: Annotated[
        Path | None,
        typer.Option(
            help="Also write a PNG chart here (with --markdown or --post: the public one, no models)"
        ),
    ] = None,
    markdown: Annotated[
        bool, typer.Option("--markdown", help="Print the public progress post (Markdown) instead")
    ] = False,
    post: Annotated[
        bool,
        typer.Option("--post", help="Send the progress post (with --plot: its chart) to DISCORD_WEBHOOK_URL"),
    ] = False,
) -> None:
    """Annotation progress overall and per annotator, and thumbs up per model so far."""
    config = project(ctx)
    if markdown or post:
        public_progress(config, plot, markdown=markdown, send=post)
        return
    from kto import status
    from kto.labels import DOWN, UP, share_up

    report = status.collect_or_journal(config, plot)
    if report.note:  # the server is out of reach: the watcher's journal speaks instead
        warn(report.note)
    out.print(
        f"{report.dataset}: {report.completed} of {report.total} records completed "
        f"({config.argilla.min_submitted} submitted ratings each), {report.pending} pending"
    )
    columns = ("submitted", "discarded", "draft", "pending")
    people = Table("annotator", *columns, "flagged")
    for user, counts in report.per_annotator.items():
        rater = report.quality.get(user)
        people.add_row(
            user, *(str(counts[key]) for key in columns), "yes" if rater and rater.flagged else "-"
        )
    left_out = (
        f": {report.left_out_ratings} ratings of {report.left_out_annotators} flagged annotators left out, "
        "as kto export leaves them out"
        if report.left_out_annotators
        else ""
    )
    models = Table("model", "thumbs up", "thumbs down", "share up", title=f"Per model{left_out}")
    for model, votes in report.approval.items():
        share = share_up(votes)
        models.add_row(model, str(votes[UP]), str(votes[DOWN]), "-" if share is None else f"{share:.0%}")
    out.print(people, models if report.approval else "No submitted ratings yet.")
    if report.quality:
        out.print(quality_table(report.quality))
    if report.backup_warning:
        warn(report.backup_warning)
    if plot:
        out.print(f"Chart written to {plot}")


def quality_table(quality) -> Table:
    """Each annotator's figures and flags (kto.rater_quality): the lead's view, never the post's."""

    def share(value: float | None) -> str:
        return "-" if value is None else f"{value:.0%}"

    table = Table(
        "annotator",
        "ratings",
        "gold right",
        "right where the judge is wrong",
        "same as the judge",
        "reliability",
        "flagged because",
    )
    table.columns[-1].overflow = "fold"
    for user, rater in quality.items():
        table.add_row(
            user,
            str(rater.submitted),
            f"{share(rater.gold_accuracy)} of {rater.gold_rated}",
            f"{share(rater.trap_accuracy)} of {rater.traps_rated}",
            f"{share(rater.follows_judge)} of {rater.suggested}",
            share(rater.reliability),
            "; ".join(rater.reasons) or "-",
        )
    return table


def public_progress(config, plot: Path | None, *, markdown: bool, send: bool) -> None:
    """kto status --markdown / --post: no model and no approval, which would unblind the rating."""
    from kto import progress_post

    post = progress_post.publish(config, plot, send=send)
    if markdown:
        print(post.text)
    if post.chart:
        console.print(f"Public chart written to {post.chart}")
    if post.sent_attempts:
        retried = f", after {post.sent_attempts - 1} rate-limit waits" if post.sent_attempts > 1 else ""
        console.print(f"Posted the progress ({len(post.text)} characters{retried}).")


@app.command("backup")
def backup_command(
    ctx: typer.Context,
    output: Annotated[
        Path | None, typer.Option(help="Parquet file to write (default: backup.output)")
    ] = None,
    push: Annotated[
        bool, typer.Option("--push", help="Also commit it to the private Hub dataset, a new revision")
    ] = False,
    list_revisions: Annotated[
        bool, typer.Option("--list", help="List the backups on the Hub instead, newest first")
    ] = False,
) -> None:
    """Save every record and its ratings to a parquet file, so a Space restart loses nothing."""
    from kto import backup_history, backups

    config = project(ctx)
    if list_revisions:
        repo = config.hub.ratings_backup_repo
        history = backup_history.revisions(repo)
        console.print(f"Backups in {repo}, newest first:" if history else f"No backup in {repo} yet.")
        for revision in history:  # plain lines: a table would wrap the titles in a narrow terminal
            console.print(f"{revision.id[:8]}  {revision.saved_at:%Y-%m-%d %H:%M} UTC  {revision.title}")
        return
    report = backups.save(config, output, push=push)
    console.print(f"Saved {report.summary} to {report.path}")
    pushed(report.pushed)


@app.command("restore")
def restore_command(
    ctx: typer.Context,
    source: Annotated[
        Path | None,
        typer.Option(
            "--from", help="A kto backup file (default: the newer of backup.output and the Hub's latest)"
        ),
    ] = None,
    revision: Annotated[
        str | None, typer.Option(help="A backup revision on the Hub (kto backup --list shows them)")
    ] = None,
) -> None:
    """Put a backup back into Argilla: the same server, or a new one after a Space restart."""
    from kto.restore import restore

    config = project(ctx)
    with WhenWriting("records") as bar:
        result = restore(config, source, revision, on_logged=bar.advance)
    console.print(result.describe())
