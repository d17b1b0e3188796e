"""The ``kto`` command: one subcommand per step of the loop, assembled from one module per group.

Each command parses its options, calls one function of its step's module and prints the report it
returns; the work itself lives in the steps. Heavy libraries are imported by the commands that
need them, so ``kto --help`` and the quick commands start fast.
"""

import gc
import os
import shlex
import signal
import sys
import traceback
import warnings
from pathlib import Path
from typing import Annotated

import typer

from kto.cli import campaign, community, generation, project_tools, prompts, results, servers, watch
from kto.cli._common import console, typer_factory
from kto.errors import Interrupted, KtoError, one_line, short

# Harmless warnings from distilabel 1.5.3 under pydantic >= 2.12 (field declarations, and a
# validator of LlamaCppLLM that returns None); they would bury the command's own output.
warnings.filterwarnings("ignore", message=".*attribute with value None was provided to the `Field\\(\\)`")
warnings.filterwarnings("ignore", message="A custom validator is returning a value other than `self`")

# Where an unexpected error's full report goes; KTO_DEBUG=1 prints it as well.
ERROR_LOG = Path.home() / ".cache" / "kto" / "last-error.log"

app = typer_factory("Build a KTO preference dataset: generate -> annotate -> export -> train -> eval.")


def show_version(value: bool) -> None:
    if value:
        from kto.template_version import project_root, template_version

        print(template_version(project_root()).describe())
        raise typer.Exit()


@app.callback()
def options(
    ctx: typer.Context,
    config: Annotated[
        Path | None, typer.Option(help="project.yaml to use (default: found from the working directory up)")
    ] = None,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=show_version, is_eager=True, help="Print the package and template versions"
        ),
    ] = False,
) -> None:
    ctx.obj = config


# The groups' commands, in the loop's order (a group added without a name adds its commands here).
for group in (generation.app, campaign.app, results.app, project_tools.app, watch.app):
    app.add_typer(group)
app.add_typer(prompts.app, name="prompts")
app.add_typer(servers.space_app, name="space")
app.add_typer(servers.argilla_app, name="argilla")
app.add_typer(project_tools.language_app, name="language")
app.add_typer(community.app, name="community")


def main() -> None:
    """Entry point: runs the command that the arguments name, then leaves quickly."""
    signal.signal(signal.SIGTERM, on_sigterm)
    try:
        run(sys.argv[1:] or ["--help"])
    finally:
        # Every step has written and closed its files by now: the interpreter's last collections,
        # over all that the step imported, would only cost time (0.2 s of every command's exit).
        gc.freeze()


def run(args: list[str]) -> None:
    """Every failure ends as one line, ``error: <field>: <problem>``; an unexpected one names its
    type and the file with its full report (printed too with KTO_DEBUG=1)."""
    command = typer.main.get_command(app)
    try:
        # Without standalone mode, click returns the code of a typer.Exit instead of exiting.
        code = command.main(args, prog_name="kto", standalone_mode=False)
        if code == INTERRUPTED:  # typer's code for a Ctrl-C outside a run that saves its work
            interrupted(None, args)
        if isinstance(code, int):
            sys.exit(code)
    except KtoError as error:
        fail(str(error), 1, error)
    except (Interrupted, typer.Abort, KeyboardInterrupt) as error:
        interrupted(error, args)
    except typer.TyperException as error:  # bad options and arguments
        param = getattr(error, "param", None)
        fail(f"{param.name if param else 'usage'}: {error.format_message()}", 2, error)
    except Exception as error:
        # Never a library's traceback handler (distilabel installs rich's, which prints locals).
        report = "".join(traceback.format_exception(error))
        ERROR_LOG.parent.mkdir(parents=True, exist_ok=True)
        ERROR_LOG.write_text(report, encoding="utf-8")
        fail(f"unexpected {type(error).__name__}: {short(error, 300)} (full report: {ERROR_LOG})", 1, error)


INTERRUPTED = 128 + signal.SIGINT
TERMINATED: list[int] = []  # SIGTERM was received: the exit code says so (143, not Ctrl-C's 130)


def on_sigterm(signum: int, frame) -> None:
    """SIGTERM stops a step as Ctrl-C does (the step saves what it has), through whichever
    handler Ctrl-C has now: asyncio's while a run asks, which lets its requests end cleanly."""
    TERMINATED.append(signum)
    handler = signal.getsignal(signal.SIGINT)
    if not callable(handler):
        raise KeyboardInterrupt
    handler(signal.SIGINT, frame)


def interrupted(error: BaseException | None, args: list[str]) -> None:
    """One line: what the step kept, and the command that goes on from there."""
    kept = error.kept if isinstance(error, Interrupted) else "what was done is kept, nothing is half written"
    again = shlex.join(["kto", *args])
    code = 128 + TERMINATED[0] if TERMINATED else INTERRUPTED
    if error is not None and os.environ.get("KTO_DEBUG"):
        traceback.print_exception(error, file=sys.stderr)
    console.print(
        f"interrupted: {one_line(kept)}; run `{again}` again to go on", markup=False, highlight=False
    )
    sys.exit(code)


def fail(message: str, code: int, error: BaseException) -> None:
    if os.environ.get("KTO_DEBUG"):
        traceback.print_exception(error, file=sys.stderr)
    console.print(f"error: {one_line(message)}", markup=False, highlight=False)
    sys.exit(code)
