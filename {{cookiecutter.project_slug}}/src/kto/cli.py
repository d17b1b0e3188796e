"""The ``kto`` command: one subcommand per step of the loop."""

import os
import sys
import warnings
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from kto.config import ProjectConfig, load_config
from kto.errors import KtoError, one_line

# Harmless warnings from distilabel 1.5.3 under pydantic >= 2.12 (field declarations, and a
# validator of LlamaCppLLM that returns None); they would bury the command's own output.
warnings.filterwarnings("ignore", message=".*attribute with value None was provided to the `Field\\(\\)`")
warnings.filterwarnings("ignore", message="A custom validator is returning a value other than `self`")

# kto draws its own progress bars; tqdm reads this once, when it is first imported.
os.environ.setdefault("TQDM_DISABLE", "1")

app = typer.Typer(
    help="Build a KTO preference dataset: generate -> annotate -> export.",
    pretty_exceptions_enable=False,
)
console = Console(stderr=True, soft_wrap=True)
state: dict[str, Path | None] = {"config": None}


@app.callback()
def options(
    config: Annotated[
        Path | None, typer.Option(help="project.yaml to use (default: found from the working directory up)")
    ] = None,
) -> None:
    state["config"] = config


def project() -> ProjectConfig:
    config = load_config(state["config"])
    from dotenv import load_dotenv

    load_dotenv(config.path(".env"), override=False)  # tokens may live in an ignored .env
    return config


@app.command()
def generate(
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
    push: Annotated[bool, typer.Option("--push", help="Push the result to the Hub (private)")] = False,
    cache: Annotated[bool, typer.Option(help="Resume from distilabel's cache of an interrupted run")] = True,
) -> None:
    """Ask every configured model to answer every prompt."""
    from kto import responses
    from kto.generate import build_pipeline, plan_jobs, run_pipeline
    from kto.llms import build_llm, local_slots
    from kto.prompts import load_prompts

    if ray:
        require_ray()
    config = project()
    texts = load_prompts(
        prompts or config.prompts.source, prompt_column or config.prompts.column, config.root
    )[:limit]
    slots = local_slots(config) if local else list(config.generation.models)
    model_ids = [slot.id for slot in slots]
    path = output or config.path(config.generation.output)

    table = responses.read_table(path)
    missing = responses.gaps(table, texts, model_ids)
    jobs = plan_jobs(missing, slots)
    if jobs:
        pipeline = build_pipeline(  # checks keys and extras before any work
            jobs,
            config,
            lambda slot: build_llm(slot, config, config.generation.max_new_tokens),
            system_prompt=config.task.system_prompt,
            ray=ray,
        )
        todo = sum(len(job.prompts) for job in jobs)
        console.print(
            f"Generating {todo} responses: {len(texts)} prompts x {len(slots)} models ({todo} missing)"
        )
        with progress_bar() as bar:
            tasks = {job.slot.id: bar.add_task(job.slot.id, total=len(job.prompts)) for job in jobs}
            new = run_pipeline(pipeline, jobs, use_cache=cache, on_rows=lambda m, n: bar.advance(tasks[m], n))
        table = responses.merge(table, new)
    else:
        console.print(f"All {len(texts)} prompts already have a response from every model.")
    rows = responses.to_rows(table, texts, model_ids)
    responses.write_rows(rows, path)

    for model, still_missing in responses.gaps(table, texts, model_ids).items():
        if still_missing:
            console.print(
                f"[yellow]warning: {model} gave no response to {len(still_missing)} of {len(texts)} prompts; "
                "run kto generate again to fill the gaps[/]"
            )
    older = {model for row in rows for model in row["generation_model"]} - set(model_ids)
    if older:
        console.print(f"note: {path.name} also keeps responses from {', '.join(sorted(older))}")
    console.print(f"Wrote {len(rows)} rows to {path}")
    if push:
        from kto.hub import push_parquet

        url = push_parquet(path, config.hub.generations_repo, private=config.hub.private)
        console.print(f"Pushed to {url}")


@app.command()
def annotate(
    generations: Annotated[
        Path | None, typer.Option("--input", help="Generations file (default from project.yaml)")
    ] = None,
    no_checks: Annotated[
        bool, typer.Option("--no-checks", help="Log every non-empty response: no quality gates")
    ] = False,
) -> None:
    """Put the responses the quality gates allow on Argilla for a thumbs up or down (adds only
    what is missing)."""
    from kto import annotation, checks

    config = project()
    rows = annotation.read_generations(generations or config.path(config.generation.output))
    report = None if no_checks else checks.run(config, rows)
    wanted = list(annotation.records(rows, config.language.code, report.verdicts if report else None))
    if report:
        for model, counts in report.per_model.items():
            if counts.dropped:
                gates = ", ".join(f"{name} {n}" for name, n in counts.dropped_by.most_common())
                console.print(f"{model}: the gates dropped {counts.dropped} of {counts.responses} ({gates})")
    if not wanted and report and report.dropped:
        raise KtoError(
            "input",
            f"the gates dropped all {report.dropped} responses (kto check lists them; "
            "kto annotate --no-checks logs every non-empty one)",
        )
    if not wanted:
        raise KtoError("input", "no non-empty responses to annotate")
    client = annotation.connect(config)
    dataset = annotation.ensure_dataset(client, config)
    with progress_bar() as bar:
        task = bar.add_task("records", total=len(wanted))
        added = annotation.log_missing(dataset, wanted, on_logged=lambda n: bar.advance(task, n))
        bar.update(task, completed=len(wanted))
    console.print(
        f"{config.argilla.workspace}/{config.argilla.dataset}: {added} records added, "
        f"{len(wanted) - added} already there ({len(wanted)} in all) at {client.api_url}"
    )


@app.command()
def suggest(
    local: Annotated[bool, typer.Option("--local", help="Judge with the embedded tiny model")] = False,
    redo: Annotated[
        bool, typer.Option("--redo", help="Judge again the records this judge has already judged")
    ] = False,
) -> None:
    """Pre-fill each record's rating with a judge model's suggestion, for annotators to accept or change."""
    from kto import annotation
    from kto import suggest as judging
    from kto.generate import build_pipeline, plan_jobs, run_pipeline
    from kto.llms import EmbeddedGemmaJudge, build_llm

    config = project()
    client, dataset = annotation.open_dataset(config)
    judge = judging.judge_slot(config, local)
    records = list(dataset.records(with_suggestions=True, with_responses=False))
    pending = judging.to_judge(records, judge.id, redo)
    name = f"{config.argilla.workspace}/{config.argilla.dataset} at {client.api_url}"
    if not pending:
        console.print(f"{name}: all {len(records)} records already have a suggestion from {judge.id}.")
        return
    by_text = judging.judge_texts(config, pending)
    slots = judging.sample_slots(judge, config.suggest.samples)
    jobs = plan_jobs({slot.id: list(by_text) for slot in slots}, slots)
    pipeline = build_pipeline(
        jobs,
        config,
        lambda slot: build_llm(slot, config, judging.JUDGE_MAX_NEW_TOKENS, EmbeddedGemmaJudge),
        command="suggest",
    )
    console.print(f"Judging {len(pending)} records with {judge.id}, {len(jobs)} times each")
    with progress_bar() as bar:
        task = bar.add_task(judge.id, total=len(jobs) * len(by_text))
        table = run_pipeline(pipeline, jobs, on_rows=lambda _, rows: bar.advance(task, rows))
    written = judging.write(dataset, by_text, judging.verdicts(table, list(by_text)), judge.id)
    console.print(
        f"{name}: {written} suggestions from {judge.id}; "
        f"{len(records) - len(pending)} records already had one"
    )
    if written < len(pending):
        console.print(
            f"[yellow]warning: no clear verdict (no 0 or 1 in the answers, or a tie) for "
            f"{len(pending) - written} records; run kto suggest again to retry them[/]"
        )


@app.command()
def status(
    plot: Annotated[Path | None, typer.Option(help="Also write a PNG chart here")] = None,
) -> None:
    """Annotation progress overall and per annotator, and thumbs up per model so far."""
    from rich.table import Table

    from kto import annotation, ratings

    config = project()
    client, dataset = annotation.open_dataset(config)
    progress = dataset.progress(with_users_distribution=True)
    rows = ratings.fetch(client, dataset)
    name = f"{config.argilla.workspace}/{config.argilla.dataset}"
    console.print(
        f"{name}: {progress['completed']} of {progress['total']} records completed "
        f"({config.argilla.min_submitted} submitted ratings each), {progress['pending']} pending"
    )
    per_annotator = ratings.by_annotator(rows, ratings.annotators(client, config.argilla.workspace))
    columns = ("submitted", "discarded", "draft", "pending")
    people = Table("annotator", *columns)
    for user, counts in per_annotator.items():
        people.add_row(user, *(str(counts[key]) for key in columns))
    models = Table("model", "thumbs up", "thumbs down", "share up")
    approval = ratings.approval_by_model(rows)
    for model, votes in approval.items():
        total = votes["up"] + votes["down"]
        models.add_row(
            model, str(votes["up"]), str(votes["down"]), f"{votes['up'] / total:.0%}" if total else "-"
        )
    console.print(people, models if approval else "No submitted ratings yet.")
    if plot:
        from kto.plots import status_chart

        status_chart(approval, per_annotator, plot)
        console.print(f"Chart written to {plot}")


@app.command()
def backup(
    output: Annotated[Path | None, typer.Option(help="Parquet file to write")] = None,
    push: Annotated[bool, typer.Option("--push", help="Also push it to a private Hub dataset")] = False,
) -> None:
    """Save every record and its ratings to a parquet file, so a Space restart loses nothing."""
    from kto import annotation, ratings

    config = project()
    rows = ratings.fetch(*annotation.open_dataset(config))
    path = output or config.path("data/backup/ratings.parquet")
    ratings.save(rows, path)
    answered = sum(1 for row in rows if row["responses"])
    console.print(f"Saved {len(rows)} records ({answered} with responses) to {path}")
    if push:
        from kto.hub import push_parquet

        url = push_parquet(path, config.hub.ratings_backup_repo, private=True)  # ratings stay private
        console.print(f"Pushed to {url}")


@app.command("export")
def export_command(
    source: Annotated[
        Path | None, typer.Option("--from", help="A kto backup file instead of the Argilla server")
    ] = None,
    policy: Annotated[str, typer.Option(help="majority, unanimous or min-votes=K")] = "majority",
    format: Annotated[str, typer.Option(help="standard (text) or conversational (messages)")] = "standard",
    max_pairs_per_prompt: Annotated[int | None, typer.Option(min=1, help="DPO pairs kept per prompt")] = None,
    output: Annotated[Path | None, typer.Option(help="Folder to write (default: data/export)")] = None,
    push: Annotated[
        bool, typer.Option("--push", help="Push KTO, DPO and the card to the Hub (private)")
    ] = False,
) -> None:
    """Turn the ratings into a KTO dataset and DPO pairs, with statistics, charts and a card."""
    from rich.table import Table

    from kto import checks, export, export_files, ratings

    config = project()
    if format not in ("standard", "conversational"):
        raise KtoError("format", f"{format!r} is not a format: use standard or conversational")
    chosen = export.Policy.parse(policy, config.argilla.min_submitted)
    if source:
        rows = ratings.load(source)
    else:
        from kto import annotation

        rows = ratings.fetch(*annotation.open_dataset(config))
    result = export.aggregate(
        rows, chosen, conversational=format == "conversational", max_pairs=max_pairs_per_prompt
    )
    result.statistics["checks"] = checks.statistics(config)
    folder = output or config.path("data/export")
    export_files.write(result, config, chosen, folder, conversational=format == "conversational")

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
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="2 steps on a tiny random model built here (offline, CPU)")
    ] = False,
    data: Annotated[Path | None, typer.Option(help="Export folder (default: data/export)")] = None,
    push: Annotated[
        bool, typer.Option("--push", help="Upload the model (or adapter) and its card to the Hub")
    ] = False,
) -> None:
    """Train with TRL's KTOTrainer on the exported KTO dataset (LoRA by default)."""
    config = project()
    if config.training is None:
        raise KtoError("training", "project.yaml has no training section (the template's include_training)")
    from kto import train as training

    training.require_training_extra()
    rows = training.read_export(data or config.path("data/export"))
    model, tokenizer = training.model_and_tokenizer(config, rows, dry_run=dry_run)
    name = "a tiny random model" if dry_run else config.training.base_model
    console.print(f"Training {name} on {len(rows)} KTO rows")
    with progress_bar() as bar:
        task = bar.add_task("steps", total=None)

        def on_step(step: int, total: int, loss: float) -> None:
            bar.update(task, completed=step, total=total, description=f"steps (loss {loss:.4f})")

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

    config = project()
    repo_id = name or f"{config.hub.namespace}/{config.argilla.dataset}-argilla"
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
    annotators: Annotated[int, typer.Option(min=1, max=50, help="Annotator accounts to create")] = 2,
) -> None:
    """Start the server on 127.0.0.1 and write .argilla/local.env."""
    from kto.argilla_local import LocalArgilla

    config = project()
    url, logins = LocalArgilla(config.root).up(annotators, config.argilla.workspace, say=console.print)
    first = next(login for name, login in logins.items() if name != "owner")
    console.print(f"Argilla is running at {url}")
    console.print(f"Sign in as {first.username} / {first.password} (all logins: .argilla/local.env)")


@argilla_app.command("down")
def argilla_down() -> None:
    """Stop the processes `up` started; the data stays in .argilla/."""
    from kto.argilla_local import LocalArgilla

    stopped = LocalArgilla(project().root).down()
    console.print(f"Stopped {', '.join(stopped)}." if stopped else "Nothing was running.")


@argilla_app.command("status")
def argilla_status() -> None:
    """Which of the local server's processes are running."""
    from kto.argilla_local import LocalArgilla

    local = LocalArgilla(project().root)
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
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on")] = 8080,
) -> None:
    """Serve the embedded tiny model on an OpenAI-compatible API (to try the openai backend offline)."""
    from kto import local_model

    settings = project().generation.local
    console.print(f"Serving {local_model.MODEL_NAME} on http://{host}:{port}/v1 (Ctrl+C stops)")
    local_model.serve(host, port, n_ctx=settings.n_ctx, n_threads=settings.n_threads)


@app.command()
def check(
    generations: Annotated[
        Path | None, typer.Option("--input", help="Generations file (default from project.yaml)")
    ] = None,
    examples: Annotated[int, typer.Option(min=0, help="Findings to list, one per response")] = 20,
) -> None:
    """Run the quality gates on the generations and count their findings per model (Argilla untouched)."""
    from rich.table import Table

    from kto import annotation, checks

    config = project()
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


def main() -> None:
    """Entry point: every expected failure ends as one line, ``error: <field>: <problem>``."""
    command = typer.main.get_command(app)
    args = sys.argv[1:] or ["--help"]
    try:
        # Without standalone mode, click returns the code of a typer.Exit instead of exiting.
        code = command.main(args, prog_name="kto", standalone_mode=False)
        if isinstance(code, int):
            sys.exit(code)
    except KtoError as error:
        fail(str(error), 1)
    except typer.Abort:
        fail("interrupted", 130)
    except typer.TyperException as error:  # bad options and arguments
        param = getattr(error, "param", None)
        fail(f"{param.name if param else 'usage'}: {error.format_message()}", 2)


def fail(message: str, code: int) -> None:
    console.print(f"error: {one_line(message)}", markup=False, highlight=False)
    sys.exit(code)
