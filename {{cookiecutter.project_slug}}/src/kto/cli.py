"""The ``kto`` command: one subcommand per step of the loop.

Each command parses its options, calls one function of its step's module and prints what it
returns; the work itself lives in the modules. Heavy libraries are imported by the commands that
need them, so ``kto --help`` and the quick commands start fast.
"""

import enum
import os
import sys
import traceback
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from kto.config import ProjectConfig, load_config
from kto.errors import KtoError, one_line

# Harmless warnings from distilabel 1.5.3 under pydantic >= 2.12 (field declarations, and a
# validator of LlamaCppLLM that returns None); they would bury the command's own output.
warnings.filterwarnings("ignore", message=".*attribute with value None was provided to the `Field\\(\\)`")
warnings.filterwarnings("ignore", message="A custom validator is returning a value other than `self`")

# kto draws its own progress bars; tqdm reads this once, when it is first imported.
os.environ.setdefault("TQDM_DISABLE", "1")

# Where an unexpected error's full report goes; KTO_DEBUG=1 prints it as well.
ERROR_LOG = Path.home() / ".cache" / "kto" / "last-error.log"

app = typer.Typer(
    help="Build a KTO preference dataset: generate -> annotate -> export.",
    pretty_exceptions_enable=False,
)
console = Console(stderr=True, soft_wrap=True)


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


def project(ctx: typer.Context) -> ProjectConfig:
    config = load_config(ctx.obj)
    from dotenv import load_dotenv

    load_dotenv(config.path(".env"), override=False)  # tokens may live in an ignored .env
    return config


class ProgressBars:
    """A bar per model slot, for the engine's ``Progress``; failed requests count as done.
    ``headline(requests)`` says what is about to be asked, above a table of the estimates."""

    def __init__(self, bar: Progress, headline: Callable[[int], str]):
        self.bar, self.headline = bar, headline
        self.tasks: dict[str, TaskID] = {}

    def planned(self, jobs, estimates, recovered: int) -> None:
        if recovered:
            console.print(f"Resuming: {recovered} answers kept from an interrupted run")
        if estimates:
            table = Table("model", "requests", "completion tokens (at most)")
            for estimate in estimates:
                table.add_row(estimate.model, str(estimate.requests), f"{estimate.max_completion_tokens:,}")
            console.print(self.headline(sum(estimate.requests for estimate in estimates)), table)
        self.tasks = {job.slot.id: self.bar.add_task(job.slot.id, total=len(job.prompts)) for job in jobs}

    def answered(self, model: str, ok: bool) -> None:
        self.bar.advance(self.tasks[model])


@app.command()
def generate(
    ctx: typer.Context,
    prompts: Annotated[
        str | None, typer.Option(help="Prompts file (.jsonl/.csv/.txt/.parquet) or Hub dataset id")
    ] = None,
    prompt_column: Annotated[str | None, typer.Option(help="Column holding the prompt text")] = None,
    output: Annotated[
        Path | None, typer.Option(help="Parquet file to write (default from project.yaml)")
    ] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="Use only the first N prompts")] = None,
    local: Annotated[bool, typer.Option("--local", help="Use the embedded tiny model in every slot")] = False,
    ray: Annotated[bool, typer.Option("--ray", help="Run on distilabel's Ray pipeline")] = False,
    estimate: Annotated[
        bool, typer.Option("--estimate", help="Print what would be asked of each model, send nothing")
    ] = False,
    push: Annotated[bool, typer.Option("--push", help="Push the result to the Hub (private)")] = False,
) -> None:
    """Ask every configured model to answer every prompt (only what is still missing)."""
    from kto import generate as generation
    from kto.prompts import load_prompts

    if ray:
        require_ray()
    config = project(ctx)
    texts = load_prompts(
        prompts or config.prompts.source,
        prompt_column or config.prompts.column,
        config.root,
        config.language.code,
    )[:limit]
    slots = config.generation.local_slots() if local else list(config.generation.models)
    path = output or config.path(config.generation.output)
    with progress_bar() as bar:
        report = generation.run(
            config,
            texts,
            slots,
            path,
            progress=ProgressBars(
                bar, lambda todo: f"Generating {todo} responses: {len(texts)} prompts x {len(slots)} models"
            ),
            warn=warn,
            ray=ray,
            estimate_only=estimate,
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
        console.print(f"note: {path.name} also keeps responses from {', '.join(report.older_models)}")
    console.print(f"Wrote {report.rows} rows to {path}")
    if push:
        from kto.hub import push_parquet

        url = push_parquet(path, config.hub.generations_repo, private=config.hub.private)
        console.print(f"Pushed to {url}")


@app.command()
def annotate(
    ctx: typer.Context,
    generations: Annotated[
        Path | None, typer.Option("--input", help="Generations file (default from project.yaml)")
    ] = None,
    no_checks: Annotated[
        bool, typer.Option("--no-checks", help="Log every non-empty response: no quality gates")
    ] = False,
) -> None:
    """Put the responses the quality gates allow on Argilla for a thumbs up or down (adds only
    what is missing)."""
    from kto import annotation

    config = project(ctx)

    def dropped(report) -> None:
        for model, counts in report.per_model.items():
            if counts.dropped:
                gates = ", ".join(f"{name} {n}" for name, n in counts.dropped_by.most_common())
                console.print(f"{model}: the gates dropped {counts.dropped} of {counts.responses} ({gates})")

    with WhenWriting("records") as bar:
        report = annotation.run(
            config,
            generations or config.path(config.generation.output),
            gates=not no_checks,
            on_checked=dropped,
            on_logged=bar.advance,
        )
    console.print(
        f"{report.dataset}: {report.added} records added, {report.wanted - report.added} already there "
        f"({report.wanted} in all) at {report.url}"
    )


@app.command()
def suggest(
    ctx: typer.Context,
    local: Annotated[bool, typer.Option("--local", help="Judge with the embedded tiny model")] = False,
    redo: Annotated[
        bool, typer.Option("--redo", help="Judge again the records this judge has already judged")
    ] = False,
) -> None:
    """Pre-fill each record's rating with a judge model's suggestion, for annotators to accept or change."""
    from kto import suggest as judging

    config = project(ctx)
    with progress_bar() as bar:
        report = judging.run(
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
        cause = (
            f"requests failed, first: {report.error}"
            if report.error
            else "no 0 or 1 in the answers, or a tie"
        )
        warn(
            f"no clear verdict ({cause}) for {report.pending - report.written} "
            "records; run kto suggest again to retry them"
        )


@app.command()
def status(
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
    from kto import status as progress
    from kto.labels import DOWN, UP, share_up

    config = project(ctx)
    if markdown or post:
        public_progress(config, plot, markdown, post)
        return
    report = progress.collect(config)
    console.print(
        f"{report.dataset}: {report.completed} of {report.total} records completed "
        f"({config.argilla.min_submitted} submitted ratings each), {report.pending} pending"
    )
    columns = ("submitted", "discarded", "draft", "pending")
    people = Table("annotator", *columns)
    for user, counts in report.per_annotator.items():
        people.add_row(user, *(str(counts[key]) for key in columns))
    models = Table("model", "thumbs up", "thumbs down", "share up")
    for model, votes in report.approval.items():
        share = share_up(votes)
        models.add_row(model, str(votes[UP]), str(votes[DOWN]), "-" if share is None else f"{share:.0%}")
    console.print(people, models if report.approval else "No submitted ratings yet.")
    from kto.backups import staleness

    if warning := staleness(config):
        warn(warning)
    if plot:
        from kto.plots import status_chart

        status_chart(report.approval, report.per_annotator, plot)
        console.print(f"Chart written to {plot}")


@app.command()
def backup(
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
    from kto import ratings
    from kto.argilla_client import open_dataset

    config = project(ctx)
    repo = config.hub.ratings_backup_repo
    if list_revisions:
        from kto import backups

        history = backups.revisions(repo)
        console.print(f"Backups in {repo}, newest first:" if history else f"No backup in {repo} yet.")
        for revision in history:  # plain lines: a table would wrap the titles in a narrow terminal
            console.print(f"{revision.id[:8]}  {revision.saved_at:%Y-%m-%d %H:%M} UTC  {revision.title}")
        return
    client, dataset = open_dataset(config)
    rows = ratings.fetch(client, dataset)
    path = output or config.path(config.backup.output)
    ratings.save(rows, path, ratings.origin(dataset))
    console.print(f"Saved {ratings.summary(rows)} to {path}")
    if push:
        from kto.hub import push_parquet

        # Ratings stay private; the commit title carries the counts kto backup --list shows.
        url = push_parquet(path, repo, private=True, message=f"Backup: {ratings.summary(rows)}")
        console.print(f"Pushed to {url}")


class ExportFormat(enum.StrEnum):
    standard = "standard"
    conversational = "conversational"


@app.command("export")
def export_command(
    ctx: typer.Context,
    source: Annotated[
        Path | None, typer.Option("--from", help="A kto backup file instead of the Argilla server")
    ] = None,
    policy: Annotated[str, typer.Option(help="majority, unanimous or min-votes=K")] = "majority",
    format: Annotated[
        ExportFormat, typer.Option(help="standard (text) or conversational (messages)")
    ] = ExportFormat.standard,
    max_pairs_per_prompt: Annotated[int | None, typer.Option(min=1, help="DPO pairs kept per prompt")] = None,
    output: Annotated[Path | None, typer.Option(help="Folder to write (default from project.yaml)")] = None,
    push: Annotated[
        bool, typer.Option("--push", help="Push KTO, DPO and the card to the Hub (private)")
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
        conversational=format == ExportFormat.conversational,
        max_pairs=max_pairs_per_prompt,
    )
    table = Table("outcome", "records", title=f"policy: {chosen}")
    for name, count in result.reconciliation.items():
        table.add_row(name, str(count))
    console.print(table)
    stats = result.statistics
    alpha = stats["krippendorff_alpha"]
    agreement = "undefined" if alpha is None else f"{alpha:.3f}"
    console.print(
        f"KTO: {len(result.kto)} rows ({stats['desirable']} up, {stats['undesirable']} down); "
        f"DPO: {len(result.dpo)} pairs; Krippendorff's alpha: {agreement}; weights: {stats['weights']}"
    )
    if judge := stats["judge"]:
        console.print(
            f"Judge-human agreement: {judge['rate']:.0%} ({judge['agreed']} of {judge['compared']} "
            f"labelled records); suggestions are not ratings and set no label"
        )
    console.print(f"Wrote {folder}")
    if push:
        from kto.hub import push_folder

        url = push_folder(folder, config.hub.export_repo, private=config.hub.private)
        console.print(f"Pushed to {url}")


@app.command()
def train(
    ctx: typer.Context,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="2 steps on a tiny random model built here (offline, CPU)")
    ] = False,
    data: Annotated[Path | None, typer.Option(help="Export folder (default from project.yaml)")] = None,
    push: Annotated[
        bool, typer.Option("--push", help="Upload the model (or adapter) and its card to the Hub")
    ] = False,
) -> None:
    """Train with TRL's KTOTrainer on the exported KTO dataset (LoRA by default)."""
    config = project(ctx)
    base_model = config.training_settings().base_model  # before importing train: it may not be there
    from kto import train as training

    training.require_training_extra()
    rows = training.read_export(data or config.path(config.export.output))
    model, tokenizer = training.model_and_tokenizer(config, rows, dry_run=dry_run)
    name = "a tiny random model" if dry_run else base_model
    console.print(f"Training {name} on {len(rows)} KTO rows")
    with progress_bar() as bar:
        task = bar.add_task("steps", total=None)

        def on_step(step: int, total: int, loss: float | None) -> None:
            described = "steps" if loss is None else f"steps (loss {loss:.4f})"
            bar.update(task, completed=step, total=total, description=described)

        result = training.run(config, rows, model, tokenizer, dry_run=dry_run, on_step=on_step)
    card = training.write_model_card(config, result, dry_run=dry_run)
    console.print(
        f"{result.steps} steps, final loss {result.loss:.4f}, weights {result.weights}; "
        f"saved to {result.output_dir} (card: {card.name})"
    )
    if push:
        from kto.hub import push_folder

        repo = config.hub.model_repo
        url = push_folder(result.output_dir, repo, private=config.hub.private, repo_type="model")
        console.print(f"Pushed to {url}")


space_app = typer.Typer(help="The annotation Space on the Hugging Face Hub.")
app.add_typer(space_app, name="space")


@space_app.command("create")
def space_create(
    ctx: typer.Context,
    name: Annotated[
        str | None, typer.Option(help="Space id (default: <namespace>/<dataset>-argilla)")
    ] = None,
    private: Annotated[bool, typer.Option(help="Only the namespace's members can see and join it")] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print what would be created, create nothing")
    ] = False,
) -> None:
    """Create the Argilla annotation Space, with Sign in with Hugging Face."""
    from huggingface_hub import HfApi

    from kto import space

    config = project(ctx)
    repo_id = name or config.space_repo
    api = HfApi()
    plan = space.plan(config, repo_id, private, None if dry_run else space.hub_user(api))
    console.print(plan.describe())
    if dry_run:
        for file_name, text in plan.files.items():
            console.print(f"\n--- {file_name}\n{text}", markup=False, highlight=False)
        console.print(f"\nNothing was created (--dry-run). {space.STORAGE_NOTE}")
        return
    url = space.create(api, plan)
    console.print(f"Created {url}")
    if plan.generated_api_key:
        console.print(
            "Its owner API key, shown once and stored only as the Space secret API_KEY: "
            f"{plan.secrets['API_KEY']}\nPut it in ARGILLA_API_KEY, and the Space's URL in ARGILLA_API_URL."
        )
    console.print(space.STORAGE_NOTE)


argilla_app = typer.Typer(help="A local Argilla server for dry runs and tests (no Docker needed).")
app.add_typer(argilla_app, name="argilla")


@argilla_app.command("up")
def argilla_up(
    ctx: typer.Context,
    annotators: Annotated[int, typer.Option(min=1, max=50, help="Annotator accounts to create")] = 2,
) -> None:
    """Start the server on 127.0.0.1 and write .argilla/local.env."""
    from kto.argilla_local import LocalArgilla

    config = project(ctx)
    url, logins = LocalArgilla(config.root).up(annotators, config.argilla.workspace, say=console.print)
    first = next(login for name, login in logins.items() if name != "owner")
    console.print(f"Argilla is running at {url}")
    console.print(f"Sign in as {first.username} / {first.password} (all logins: .argilla/local.env)")


@argilla_app.command("down")
def argilla_down(ctx: typer.Context) -> None:
    """Stop the processes `up` started; the data stays in .argilla/."""
    from kto.argilla_local import LocalArgilla

    stopped = LocalArgilla(project(ctx).root).down()
    console.print(f"Stopped {', '.join(stopped)}." if stopped else "Nothing was running.")


@argilla_app.command("status")
def argilla_status(ctx: typer.Context) -> None:
    """Which of the local server's processes are running."""
    from kto.argilla_local import LocalArgilla

    local = LocalArgilla(project(ctx).root)
    running = local.running()
    if not running:
        console.print("Not running (kto argilla up starts it).")
        raise typer.Exit(3)
    for name, alive in running.items():
        console.print(f"{name:7} {'running' if alive else 'stopped'}")
    console.print(f"url     {local.url}")
    if not all(running.values()):
        raise typer.Exit(3)


@app.command()
def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on")] = 8080,
) -> None:
    """Serve the embedded tiny model on an OpenAI-compatible API (to try the openai backend offline)."""
    from kto import local_model

    settings = project(ctx).generation.local
    console.print(f"Serving {local_model.MODEL_NAME} on http://{host}:{port}/v1 (Ctrl+C stops)")
    local_model.serve(host, port, n_ctx=settings.n_ctx, n_threads=settings.n_threads)


def public_progress(config: ProjectConfig, plot: Path | None, markdown: bool, post: bool) -> None:
    """kto status --markdown / --post: no model and no approval, which would unblind the rating."""
    from kto import progress_post, webhook

    url = webhook.url_from_env() if post else None  # a missing URL fails before any work
    made = progress_post.make(config, plot)
    if markdown:
        print(made.text)
    if made.chart:
        console.print(f"Public chart written to {made.chart}")
    if url:
        attempts = webhook.send(url, made.text, made.chart)
        retried = f", after {attempts - 1} rate-limit waits" if attempts > 1 else ""
        console.print(f"Posted the progress ({len(made.text)} characters{retried}).")


@app.command("restore")
def restore_command(
    ctx: typer.Context,
    source: Annotated[
        Path | None,
        typer.Option(
            "--from", help="A kto backup file (default: backup.output if it exists, else the Hub's latest)"
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


@app.command()
def doctor(ctx: typer.Context) -> None:
    """Check the project before spending tokens: config, keys, model servers, Argilla, the Hub, redis."""
    from kto.doctor import run_checks
    from kto.serving import failed

    findings = run_checks(lambda: project(ctx))
    for finding in findings:
        console.print(finding.line(), markup=False, highlight=False)
    bad = failed(findings)
    warned = sum(1 for finding in findings if finding.status == "warn")
    console.print(f"{len(findings)} checks: {len(bad)} failed, {warned} warnings.")
    if bad:
        raise typer.Exit(1)


language_app = typer.Typer(help="The project's texts, given back to kto-template.")
app.add_typer(language_app, name="language")


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


@app.command()
def check(
    ctx: typer.Context,
    generations: Annotated[
        Path | None, typer.Option("--input", help="Generations file (default from project.yaml)")
    ] = None,
    examples: Annotated[int, typer.Option(min=0, help="Findings to list, one per response")] = 20,
) -> None:
    """Run the quality gates on the generations and count their findings per model (Argilla untouched)."""
    from rich.table import Table

    from kto import annotation, checks

    config = project(ctx)
    rows = annotation.read_generations(generations or config.path(config.generation.output))
    report = checks.run(config, rows)
    models = report.per_model.values()
    table = Table("check", "gate", *report.per_model, title="responses per model, and what each gate found")
    table.add_row("responses", "", *(str(counts.responses) for counts in models))
    for name in checks.CHECKS:
        row = (share(counts.checks[name], counts.responses) for counts in models)
        table.add_row(name, report.gates.actions[name], *row)
    for name in ("dropped", "flagged"):
        table.add_row(name, "", *(share(getattr(counts, name), counts.responses) for counts in models))
    console.print(table)
    if report.gates.actions["language"] != "off" and not report.gates.language:
        console.print("note: language not checked: set checks.expected_language to an ISO 639-1 code")
    found = [verdict for verdict in report.verdicts if verdict.findings][:examples]
    if found:
        listing = Table("model", "findings (gate)", "response", title=f"the first {len(found)} findings")
        for verdict in found:
            findings = "\n".join(
                f"{name} ({'drop' if name in verdict.dropped_by else 'flag'}): {detail}"
                for name, detail in verdict.findings.items()
            )
            text = " / ".join(checks.lines_of(verdict.text))
            listing.add_row(verdict.model, findings, text[:60] or "(empty)")
        console.print(listing)


def share(count: int, total: int) -> str:
    return f"{count} ({count / total:.0%})" if count else "0"


def require_ray() -> None:
    try:
        import ray  # noqa: F401
    except ImportError as error:
        raise KtoError("ray", "install the ray extra: pip install -e '.[ray]'") from error


def progress_bar() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )


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


def warn(message: str) -> None:
    console.print(f"[yellow]warning: {message}[/]")


def main() -> None:
    """Entry point: every failure ends as one line, ``error: <field>: <problem>``; an unexpected
    one names its type and the file with its full report (printed too with KTO_DEBUG=1)."""
    command = typer.main.get_command(app)
    args = sys.argv[1:] or ["--help"]
    try:
        # Without standalone mode, click returns the code of a typer.Exit instead of exiting.
        code = command.main(args, prog_name="kto", standalone_mode=False)
        if isinstance(code, int):
            sys.exit(code)
    except KtoError as error:
        fail(str(error), 1, error)
    except (typer.Abort, KeyboardInterrupt) as error:
        fail("interrupted", 130, error)
    except typer.TyperException as error:  # bad options and arguments
        param = getattr(error, "param", None)
        fail(f"{param.name if param else 'usage'}: {error.format_message()}", 2, error)
    except Exception as error:
        # Never a library's traceback handler (distilabel installs rich's, which prints locals).
        report = "".join(traceback.format_exception(error))
        ERROR_LOG.parent.mkdir(parents=True, exist_ok=True)
        ERROR_LOG.write_text(report, encoding="utf-8")
        fail(
            f"unexpected {type(error).__name__}: {one_line(error)[:300]} (full report: {ERROR_LOG})", 1, error
        )


def fail(message: str, code: int, error: BaseException) -> None:
    if os.environ.get("KTO_DEBUG"):
        traceback.print_exception(error, file=sys.stderr)
    console.print(f"error: {one_line(message)}", markup=False, highlight=False)
    sys.exit(code)
