"""Commands that turn ratings into results: ``export`` (the datasets), ``train`` (the model) and
``eval`` (whether the model got better)."""

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from kto.cli._common import (
    LimitOption,
    OutputOption,
    ProgressBars,
    PromptsOption,
    PushOption,
    console,
    progress_bar,
    project,
    pushed,
    typer_factory,
    warn,
)
from kto.export_formats import FORMATS, STYLES

app = typer_factory()


def export_style(value: str) -> str:
    if value not in STYLES:
        raise typer.BadParameter(f"{value!r} is not one of {', '.join(STYLES)}")
    return value


@app.command("export")
def export_command(
    ctx: typer.Context,
    source: Annotated[
        Path | None, typer.Option("--from", help="A kto backup file instead of the Argilla server")
    ] = None,
    policy: Annotated[str, typer.Option(help="majority, unanimous or min-votes=K")] = "majority",
    format: Annotated[
        str, typer.Option(callback=export_style, help="standard (text) or conversational (messages)")
    ] = "standard",
    max_pairs_per_prompt: Annotated[int | None, typer.Option(min=1, help="DPO pairs kept per prompt")] = None,
    output: OutputOption = None,
    push: PushOption = False,
    keep_flagged: Annotated[
        bool,
        typer.Option("--keep-flagged", help="Keep the ratings of flagged annotators (kto status lists them)"),
    ] = False,
) -> None:
    """Turn the ratings into a KTO dataset and DPO pairs, with statistics, charts and a card."""
    from kto import export_files
    from kto.export import Policy

    config = project(ctx)
    chosen = Policy.parse(policy, config.argilla.min_submitted)
    folder = output or config.path(config.export.output)
    result = export_files.run(
        config,
        chosen,
        folder,
        source=source,
        style=format,
        max_pairs=max_pairs_per_prompt,
        push=push,
        keep_flagged=keep_flagged,
    )
    table = Table("outcome", "records", title=f"policy: {chosen}")
    for name, count in result.reconciliation.items():
        table.add_row(name, str(count))
    console.print(table)
    stats = result.statistics
    alpha = stats["krippendorff_alpha"]
    agreement = "undefined" if alpha is None else f"{alpha:.3f}"
    sizes = "; ".join(f"{form.name}: {len(result.datasets[form.name])} {form.unit}" for form in FORMATS)
    console.print(
        f"{sizes}; {stats['desirable']} up, {stats['undesirable']} down; "
        f"Krippendorff's alpha: {agreement}; weights: {stats['weights']}"
    )
    if judge := stats["judge"]:
        console.print(
            f"Judge-human agreement: {judge['rate']:.0%} ({judge['agreed']} of {judge['compared']} "
            f"labelled records); suggestions are not ratings and set no label"
        )
    left = stats["left_out"]
    if left["annotators"]:
        console.print(
            f"Left out {left['ratings']} ratings of {left['annotators']} flagged annotators "
            f"({', '.join(left['reasons'])}; kto status names them; --keep-flagged keeps them)"
        )
    elif left["kept_flagged"]:
        console.print(f"Kept the ratings of flagged annotators: {', '.join(left['kept_flagged'])}")
    console.print(f"Wrote {folder}")
    pushed(result.pushed)


@app.command("train")
def train_command(
    ctx: typer.Context,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="2 steps on a tiny random model built here (offline, CPU)")
    ] = False,
    data: Annotated[Path | None, typer.Option(help="Export folder (default from project.yaml)")] = None,
    push: Annotated[
        bool, typer.Option("--push", help="Upload the model (or adapter) and its card to the Hub")
    ] = False,
    push_only: Annotated[
        bool,
        typer.Option(
            "--push-only", help="Upload the model trained last, its card updated with kto eval; no training"
        ),
    ] = False,
) -> None:
    """Train with TRL's KTOTrainer on the exported KTO dataset (LoRA by default)."""
    config = project(ctx)
    config.training_settings()  # before the import: a project rendered without training has no kto.train
    from kto import train

    if push_only:
        show_pushed_model(train.push_trained(config, dry_run=dry_run))
        return
    bar = progress_bar()  # started once training starts: a refused input stays one line
    task = bar.add_task("steps", total=None)

    def on_start(name: str, rows: int) -> None:
        console.print(f"Training {name} on {rows} KTO rows")
        bar.start()

    def on_step(step: int, total: int, loss: float | None) -> None:
        described = "steps" if loss is None else f"steps (loss {loss:.4f})"
        bar.update(task, completed=step, total=total, description=described)

    try:
        result = train.run(
            config,
            data or config.path(config.export.output),
            dry_run=dry_run,
            push=push,
            on_start=on_start,
            on_step=on_step,
        )
    finally:
        bar.stop()
    card = result.card.name if result.card else "none"
    console.print(
        f"{result.steps} steps, final loss {result.loss:.4f}, weights {result.weights}; "
        f"saved to {result.output_dir} (card: {card})"
    )
    if result.pushed:
        show_pushed_model(result)


def show_pushed_model(result) -> None:
    """Where the model went, and whether its card holds kto eval's verdict on it."""
    pushed(result.pushed)
    if not result.judged:
        warn("the card has no eval section yet: run kto eval, then kto train --push-only")


@app.command("eval")
def eval_command(
    ctx: typer.Context,
    prompts: PromptsOption = None,
    limit: LimitOption = None,
    local: Annotated[
        bool,
        typer.Option("--local", help="Judge with the embedded tiny model (offline, after train --dry-run)"),
    ] = False,
    redo: Annotated[
        bool, typer.Option("--redo", help="Ask every answer and verdict again, none kept from earlier runs")
    ] = False,
) -> None:
    """The trained model against its base on the held-out prompts, each pair judged in both orders."""
    from kto import evaluation
    from kto.errors import KtoError
    from kto.prompts import read_prompts

    config = project(ctx)
    texts = read_prompts(config, prompts, None, limit) if prompts else None
    with progress_bar() as bar:
        report = evaluation.run(
            config,
            prompts=texts,
            limit=limit,
            local=local,
            redo=redo,
            progress=ProgressBars(bar, lambda todo: f"Asking {todo} requests"),
            warn=warn,
        )
    if reused := evaluation.reuse_line(report):
        console.print(reused)
    console.print(evaluation.summary_line(report))
    if report.unjudged:  # fewer outcomes than prompts: a script running eval must not read success
        first = next(iter(report.errors.items()), None)
        cause = f"first error: {first[0]}: {first[1]}" if first else "no answer or verdict yet"
        raise KtoError(
            "eval",
            f"{report.unjudged} of {report.unjudged + report.prompts} prompts have no outcome ({cause}); "
            "run kto eval again to fill the gaps",
        )
