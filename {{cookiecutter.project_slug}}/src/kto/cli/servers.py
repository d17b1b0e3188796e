"""Commands for the servers annotators use: the Hugging Face ``space`` and a local ``argilla``."""

from typing import Annotated

import typer

from kto.cli._common import DryRunOption, console, project, typer_factory, warn

space_app = typer_factory("The annotation Space on the Hugging Face Hub.")
argilla_app = typer_factory("A local Argilla server for dry runs and tests (no Docker needed).")


@space_app.command("create")
def space_create(
    ctx: typer.Context,
    name: Annotated[
        str | None, typer.Option(help="Space id (default: <namespace>/<dataset>-argilla)")
    ] = None,
    private: Annotated[
        bool, typer.Option(help="Only the namespace's members see it; Hugging Face sign-in then fails there")
    ] = False,
    dry_run: DryRunOption = False,
    watch: Annotated[
        bool, typer.Option("--watch", help="Also a small Space running kto watch (the ratings journal)")
    ] = False,
) -> None:
    """Create the Argilla annotation Space, with Sign in with Hugging Face."""
    from kto import space

    config = project(ctx)
    report = space.run(config, name, private=private, dry_run=dry_run)
    if watch:
        companion, made = space.run_watch(config, report.plan, dry_run=dry_run)
        console.print(
            f"{companion.describe()}\n" + (f"Created {made}" if made else "(not created: --dry-run)")
        )
    console.print(report.plan.describe())
    for message in report.warnings:
        warn(message)
    if report.url is None:
        for file_name, text in report.plan.files.items():
            console.print(f"\n--- {file_name}\n{text}", markup=False, highlight=False)
        console.print(f"\nNothing was created (--dry-run). {space.STORAGE_NOTE}")
        return
    console.print(f"Created {report.url}")
    if report.plan.generated_api_key:
        console.print(
            "Its owner API key, shown once and stored only as the Space secret API_KEY: "
            f"{report.plan.secrets['API_KEY']}\n"
            "Put it in ARGILLA_API_KEY, and the Space's URL in ARGILLA_API_URL."
        )
    console.print(space.STORAGE_NOTE)


@argilla_app.command("up")
def argilla_up(
    ctx: typer.Context,
    annotators: Annotated[int, typer.Option(min=1, max=50, help="Annotator accounts to create")] = 2,
    watch: Annotated[bool, typer.Option(help="Also start kto watch, the ratings journal")] = True,
) -> None:
    """Start the server on 127.0.0.1 (and kto watch beside it) and write .argilla/local.env."""
    from kto.argilla_local import LocalArgilla

    config = project(ctx)
    local = LocalArgilla(config.root)
    url, logins = local.up(annotators, config.argilla.workspace, say=console.print, watch=watch)
    first = next(login for name, login in logins.items() if name != "owner")
    console.print(f"Argilla is running at {url}")
    console.print(f"Sign in as {first.username} / {first.password} (all logins: .argilla/local.env)")


@argilla_app.command("down")
def argilla_down(
    ctx: typer.Context,
    wipe: Annotated[
        bool, typer.Option("--wipe", help="Also delete the data, logs and logins (the server install stays)")
    ] = False,
) -> None:
    """Stop the processes `up` started (the watcher first); the data stays in .argilla/ unless --wipe."""
    from kto.argilla_local import LocalArgilla

    local = LocalArgilla(project(ctx).root)
    stopped = local.down()
    console.print(f"Stopped {', '.join(stopped)}." if stopped else "Nothing was running.")
    if wipe:
        wiped = ", ".join(local.wipe()) or "nothing"
        console.print(f"Deleted {wiped} from {local.dir}; kept the server install in {local.venv}.")


@argilla_app.command("status")
def argilla_status(ctx: typer.Context) -> None:
    """Which of the local server's processes are running, and what the ratings watcher is doing
    (exit 3 when the server is not wholly running; a server without a watcher is allowed)."""
    from kto.argilla_local import LocalArgilla
    from kto.watch_status import check_watcher

    config = project(ctx)
    local = LocalArgilla(config.root)
    running = local.running()
    if not running:
        console.print("Not running (kto argilla up starts it).")
        raise typer.Exit(3)
    for name, alive in running.items():
        console.print(f"{name:7} {'running' if alive else 'stopped'}")
    console.print(f"url     {local.url}")
    watcher = check_watcher(config)
    console.print(f"watcher {watcher.message}" + (f" ({watcher.fix})" if watcher.status != "ok" else ""))
    if not all(running.values()):
        raise typer.Exit(3)
