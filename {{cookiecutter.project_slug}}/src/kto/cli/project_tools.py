"""Commands about the project itself: ``doctor`` (a preflight) and ``language export`` (its texts)."""

from pathlib import Path
from typing import Annotated

import typer

from kto.cli._common import console, out, project, typer_factory

app = typer_factory()
language_app = typer_factory("The project's texts, given back to kto-template.")


@app.command("doctor")
def doctor_command(ctx: typer.Context) -> None:
    """Check the project before spending tokens: config, keys, model servers, Argilla, the Hub, redis."""
    from kto.doctor import run_checks
    from kto.serving import failed

    findings = run_checks(lambda: project(ctx))
    for finding in findings:
        out.print(finding.line(), markup=False, highlight=False)
    bad = failed(findings)
    warned = sum(1 for finding in findings if finding.status == "warn")
    out.print(f"{len(findings)} checks: {len(bad)} failed, {warned} warnings.")
    if bad:
        raise typer.Exit(1)


@language_app.command("export")
def language_export(
    ctx: typer.Context,
    output: Annotated[
        Path | None, typer.Option(help="Folder to write <code>.yaml in (default: languages/)")
    ] = None,
    source: Annotated[
        str | None, typer.Option(help="Who wrote the texts (default: this project and the date)")
    ] = None,
) -> None:
    """Write the project's texts as languages/<code>.yaml, the template's language file."""
    from kto.language_export import export_language

    result = export_language(project(ctx), output, source)
    console.print(
        f"Wrote {result.path} ({result.prompts} starter prompts): copy it into kto-template's "
        "languages/ and open a pull request (its CONTRIBUTING.md)."
    )
