"""``kto community``: every campaign of this template on the Hub (the board), and ``kto community
merge``: one multilingual dataset from them. Both run without a project (``--hub-only``)."""

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from kto.cli._common import console, out, progress_bar, project, typer_factory
from kto.errors import KtoError

app = typer_factory(
    "Every language's campaign on the Hub (the kto-template tag), and merging them into one dataset.",
    runs_alone=True,
)
HubOnlyOption = Annotated[
    bool, typer.Option("--hub-only", help="Read only the Hub: no project.yaml needed (or read)")
]


def board_from_hub(ctx: typer.Context, hub_only: bool):
    """The board, read with a progress bar; in a project, with its .env's token (HF_TOKEN)."""
    from kto.community import find

    try:
        config = None if hub_only else project(ctx)
    except KtoError as error:
        raise KtoError(
            error.field, f"{str(error).removeprefix(error.field + ': ')}, or add --hub-only"
        ) from error
    with progress_bar() as bar:
        task = bar.add_task("Reading the campaigns", total=None)

        def advance(listed: int) -> None:
            if listed:
                bar.update(task, total=listed)
            else:
                bar.advance(task)

        board = find(advance=advance)
    return board, config


@app.callback()
def community_command(
    ctx: typer.Context,
    hub_only: HubOnlyOption = False,
    markdown: Annotated[
        Path | None,
        typer.Option(help="Write the board as Markdown that fits one Discord message ('-': print)"),
    ] = None,
    plot: Annotated[Path | None, typer.Option(help="Write a chart of rows per language (PNG)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the table as JSON")] = False,
) -> None:
    """List every public dataset on the Hub tagged kto-template, sorted by language.

    Language, task, rows, annotators, agreement, last update, licence, link; the unreadable are skipped."""
    if ctx.invoked_subcommand:
        return
    from kto import community_board

    board, config = board_from_hub(ctx, hub_only)
    if as_json:
        skipped = [{"dataset": item.repo, "reason": item.reason} for item in board.skipped]
        rows = [campaign.row() for campaign in board.campaigns]
        print(json.dumps({"campaigns": rows, "skipped": skipped}, indent=2, ensure_ascii=False))
    else:
        show(board)
    if markdown:
        text = community_board.markdown(board)
        if str(markdown) == "-":
            print(text)
        else:
            markdown.write_text(text + "\n", encoding="utf-8")
            console.print(f"Board written to {markdown} ({len(text)} characters)")
    if plot:
        community_board.plot(board, plot)
        console.print(f"Chart written to {plot}")
    if config is not None:
        mine = config.hub.export_repo
        on_board = any(campaign.repo == mine for campaign in board.campaigns)
        console.print(
            f"Your dataset {mine} is on the board."
            if on_board
            else f"Your dataset {mine} is not on the board yet: `kto export --push` (public) puts it there."
        )


def show(board) -> None:
    table = Table("language", "task", "dataset", "rows", "annotators", "alpha", "updated", "licence", "link")
    for campaign in board.campaigns:
        row = campaign.row()
        alpha = "-" if row["agreement"] is None else f"{row['agreement']:.2f}"
        table.add_row(
            row["language"],
            row["task"],
            row["dataset"],
            f"{row['rows']:,}",
            str(row["annotators"]),
            alpha,
            row["last_update"],
            row["license"] or "-",
            row["link"],
        )
    out.print(table)
    out.print(f"{len(board.campaigns)} campaigns; {len(board.skipped)} skipped.")
    for item in board.skipped:
        out.print(f"skipped {item.repo}: {item.reason}", markup=False, highlight=False)


@app.command("merge")
def merge_command(
    ctx: typer.Context,
    hub_only: HubOnlyOption = False,
    languages: Annotated[
        str | None,
        typer.Option(help="Only these languages, comma-separated as the board shows them (nl,pt-BR)"),
    ] = None,
    task: Annotated[str | None, typer.Option(help="Only campaigns of this task (haiku, ...)")] = None,
    drop: Annotated[list[str] | None, typer.Option(help="Leave this campaign out (repeatable)")] = None,
    license: Annotated[
        str | None, typer.Option("--license", help="The merged dataset's licence, chosen by you")
    ] = None,
    output: Annotated[
        Path | None, typer.Option(help="Where to write (default: data/community, or ./kto-community)")
    ] = None,
    push: Annotated[
        str | None, typer.Option("--push", help="Also push the result to this Hub dataset")
    ] = None,
    public: Annotated[bool, typer.Option("--public", help="Push it public (default: private)")] = False,
) -> None:
    """Merge chosen campaigns (all by default) into one multilingual KTO and DPO dataset.

    Configurations per language and `all`; splits kept, repeats removed, each row traced to its source.

    Licences that cannot be combined are refused, one line each, before anything is written."""
    from kto import community_merge

    board, config = board_from_hub(ctx, hub_only)
    chosen = [code.strip() for code in (languages or "").split(",") if code.strip()]
    plan = community_merge.plan(board, languages=chosen, task=task, drop=drop or [], licence=license)
    for line in plan.conflicts:
        console.print(f"refused: {line}", markup=False, highlight=False)
    if plan.conflicts:
        raise KtoError("license", f"{len(plan.conflicts)} licence conflicts above; nothing was written")
    folder = output or (config.path("data/community") if config else Path("kto-community"))
    with progress_bar() as bar:
        task_id = bar.add_task("Reading the sources' files", total=None)
        tables = community_merge.download(
            plan.sources, lambda total: bar.update(task_id, total=total) if total else bar.advance(task_id)
        )
    merged = community_merge.combine(tables)
    community_merge.write(plan, merged, folder.absolute(), push)
    console.print(
        f"Merged {len(plan.sources)} campaigns into {folder} (licence {plan.license}): "
        f"kto {merged.count('kto', 'train')} train, {merged.count('kto', 'test')} test rows; "
        f"dpo {merged.count('dpo', 'train')} train, {merged.count('dpo', 'test')} test pairs; "
        f"{merged.moved_to_test} train rows moved to test (held out by another source); "
        f"{merged.repeats} exact repeats left out."
    )
    if push:
        from kto.hub import push_folder

        console.print(f"Pushed to {push_folder(folder, push, private=not public)}")
