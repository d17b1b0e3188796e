"""Commands that ask models: ``generate``, ``check`` (gates on what they wrote), ``suggest``, ``serve``."""

from typing import Annotated

import typer
from rich.table import Table

from kto.cli._common import (
    InputOption,
    LimitOption,
    LocalOption,
    OutputOption,
    ProgressBars,
    PromptsOption,
    PushOption,
    console,
    out,
    progress_bar,
    project,
    pushed,
    share,
    typer_factory,
    warn,
)

app = typer_factory()


@app.command("generate")
def generate_command(
    ctx: typer.Context,
    prompts: PromptsOption = None,
    prompt_column: Annotated[str | None, typer.Option(help="Column holding the prompt text")] = None,
    output: OutputOption = None,
    limit: LimitOption = None,
    local: LocalOption = False,
    ray: Annotated[bool, typer.Option("--ray", help="Run on distilabel's Ray pipeline")] = False,
    estimate: Annotated[
        bool, typer.Option("--estimate", help="Print what would be asked of each model, send nothing")
    ] = False,
    push: PushOption = False,
) -> None:
    """Ask every configured model to answer every prompt (only what is still missing)."""
    from kto import generate, prompt_checks
    from kto.prompts import read_prompts

    if ray:
        generate.require_ray()
    config = project(ctx)
    texts = read_prompts(config, prompts, prompt_column, limit)
    slots = config.generation.local_slots() if local else list(config.generation.models)
    prompt_checks.screen(config, texts, slots, warn)
    with progress_bar() as bar:
        report = generate.run(
            config,
            texts,
            slots,
            output or config.path(config.generation.dry_run_output if local else config.generation.output),
            progress=ProgressBars(
                bar,
                lambda todo: f"Generating {todo} responses: {len(texts)} prompts x {len(slots)} models",
                asking=not estimate,
            ),
            warn=warn,
            ray=ray,
            estimate_only=estimate,
            push=push,
        )
    if estimate:
        console.print(f"{report.asked} requests in all; nothing was sent (--estimate).")
        return
    if not report.asked:
        console.print(f"All {len(texts)} prompts already have a response from every model.")
    for model, count in report.still_missing.items():
        cause = f" ({report.errors[model]})" if model in report.errors else ""
        warn(
            f"{model} gave no response to {count} of {len(texts)} prompts{cause}; "
            "run kto generate again to fill the gaps"
        )
    if report.older_models:
        console.print(f"note: {report.path.name} also keeps responses from {', '.join(report.older_models)}")
    console.print(f"Wrote {report.rows} rows to {report.path}")
    pushed(report.pushed)


@app.command("check")
def check_command(
    ctx: typer.Context,
    generations: InputOption = None,
    examples: Annotated[int, typer.Option(min=0, help="Findings to list, one per response")] = 20,
) -> None:
    """Run the quality gates on the generations and count their findings per model (Argilla untouched)."""
    from kto import checks, gates

    config = project(ctx)
    report = checks.check_file(config, generations or config.path(config.generation.output))
    models = report.per_model.values()
    table = Table("check", "gate", *report.per_model, title="responses per model, and what each gate found")
    table.add_row("responses", "", *(str(counts.responses) for counts in models))
    for name in gates.CHECKS:
        row = (share(counts.checks[name], counts.responses) for counts in models)
        table.add_row(name, report.gates.actions[name], *row)
    for name in ("dropped", "flagged"):
        table.add_row(name, "", *(share(getattr(counts, name), counts.responses) for counts in models))
    out.print(table)
    if report.gates.actions["language"] != "off" and not report.gates.language:
        out.print("note: language not checked: set checks.expected_language to an ISO 639-1 code")
    found = [verdict for verdict in report.verdicts if verdict.findings][:examples]
    if found:
        listing = Table("model", "findings (gate)", "response", title=f"the first {len(found)} findings")
        for verdict in found:
            findings = "\n".join(
                f"{name} ({'drop' if name in verdict.dropped_by else 'flag'}): {detail}"
                for name, detail in verdict.findings.items()
            )
            text = " / ".join(gates.lines_of(verdict.text))
            listing.add_row(verdict.model, findings, text[:60] or "(empty)")
        out.print(listing)


@app.command("suggest")
def suggest_command(
    ctx: typer.Context,
    local: Annotated[bool, typer.Option("--local", help="Judge with the embedded tiny model")] = False,
    redo: Annotated[
        bool, typer.Option("--redo", help="Judge again the records this judge has already judged")
    ] = False,
) -> None:
    """Pre-fill each record's rating with a judge model's suggestion, for annotators to accept or change."""
    from kto import suggest
    from kto.errors import KtoError

    config = project(ctx)
    with progress_bar() as bar:
        report = suggest.run(
            config,
            local=local,
            redo=redo,
            progress=ProgressBars(bar, lambda todo: f"Asking the judge {todo} times"),
            warn=warn,
        )
    if not report.pending:
        console.print(
            f"{report.dataset}: all {report.records} records already have a suggestion from {report.judge}."
        )
        return
    console.print(
        f"{report.dataset}: {report.written} suggestions from {report.judge}; "
        f"{report.records - report.pending} records already had one"
    )
    if report.written < report.pending:
        unclear = report.pending - report.written
        if report.error:  # requests failed: fewer suggestions than asked is a failed step
            raise KtoError(
                "suggest",
                f"no suggestion for {unclear} records, requests failed (first: {report.error}); "
                "run kto suggest again to retry them",
            )
        warn(f"no clear verdict (no 0 or 1 in the answers, or a tie) for {unclear} records")


@app.command("serve")
def serve_command(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on")] = 8080,
) -> None:
    """Serve the embedded tiny model on an OpenAI-compatible API (to try the openai backend offline)."""
    from kto import local_model

    settings = project(ctx).generation.local
    console.print(f"Serving {local_model.MODEL_NAME} on http://{host}:{port}/v1 (Ctrl+C stops)")
    local_model.serve(host, port, n_ctx=settings.n_ctx, n_threads=settings.n_threads)
