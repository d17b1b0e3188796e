"""``kto watch``: the ratings journal, fed by Argilla's webhooks and pushed to the Hub."""

from datetime import UTC, datetime
from typing import Annotated

import typer

from kto.cli._common import console, project, typer_factory

app = typer_factory()


@app.command("watch")
def watch_command(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Where to listen (0.0.0.0 only inside a Space)")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port to listen on")] = 6901,
    url: Annotated[
        str | None,
        typer.Option(help="Where Argilla posts (default: this host and port); a Space needs a public URL"),
    ] = None,
    push_every: Annotated[
        float, typer.Option(min=1, max=60, help="Seconds between pushes of the journal (a minute at most)")
    ] = 30.0,
    catch_up_every: Annotated[
        float, typer.Option(min=1, help="Seconds between catch-ups from the Argilla API")
    ] = 180.0,
) -> None:
    """Journal every rating change as Argilla announces it and push the journal to the Hub each
    30 s: a Space that restarts then loses at most the last minute (kto restore replays it)."""
    from kto import watch

    def say(line: str) -> None:
        console.print(f"{datetime.now(UTC):%H:%M:%S} {line}", markup=False, highlight=False)

    options = watch.WatchOptions(host, port, url, push_every, catch_up_every)
    watch.run(project(ctx), options, say)
