"""``kto eval``: did the ratings help? The trained model against its base, on held-out prompts.

Both models answer each prompt the export held out (``kto train`` never saw them), through the
engine ``kto generate`` uses: a journal, the project lock, and a re-run that asks only for what is
missing. The language gate of ``kto check`` comes first: an answer it rejects loses without asking
the judge. Every other pair is judged twice, once in each order (``kto.judging``), and the win
rate comes with a 95 % bootstrap interval over prompts. Answers and verdicts are kept in
``eval.output`` (seed-format parquet files), so a re-run asks nothing and gives the same figures.
"""

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from kto import engine, jobs, judging, placeholders, responses
from kto.config import ModelSlot, ProjectConfig, output_dir
from kto.engine import FillReport, fill_gaps
from kto.errors import KtoError
from kto.eval_files import ANSWERS, JUDGEMENTS, fingerprint, pairs_table, write

JUDGE_CHOICES = ("1", "2")

# English instructions, as multilingual arenas use; eval.judge_prompt replaces them.
JUDGE_PROMPT = """You compare two answers to the same request. Both should follow these \
instructions, and be written in {language}:

{instructions}

The request:
{prompt}

Answer 1:
{first}

Answer 2:
{second}

Which answer follows the instructions better, in better {language}? Reply with one digit only: \
1 if answer 1 is better, 2 if answer 2 is better."""


@dataclass(frozen=True)
class EvalSlots:
    base: ModelSlot
    tuned: ModelSlot
    judge: ModelSlot


@dataclass
class EvalReport:
    folder: Path
    prompts: int  # prompts with an outcome
    wins: int
    losses: int
    ties: int
    win_rate: float | None  # None: no prompt has an outcome yet
    ci95: tuple[float, float] | None
    wrong_language: dict[str, int]  # base / tuned -> answers the language gate rejected
    mean_chars: dict[str, float | None]  # base / tuned -> mean answer length in characters
    models: dict[str, str]  # base / tuned / judge -> slot id
    asked: int = 0  # requests sent in this run
    unjudged: int = 0  # prompts still lacking an answer or a verdict: run kto eval again
    errors: dict[str, str] = field(default_factory=dict)  # slot id -> first error


def own_slots(config: ProjectConfig, dry_run: bool) -> tuple[ModelSlot, ModelSlot]:
    """The project's own models, run here: the trained model in training.output_dir (the dry
    run's, with ``dry_run``), and its base (the base its adapter names, else training.base_model)."""
    if config.training is None:
        raise KtoError("eval.base", "set eval.base and eval.tuned: this project has no training section")
    from kto.transformers_model import adapter_base

    trained = output_dir(config, dry_run=dry_run)
    if not trained.is_dir():
        run = "kto train --dry-run" if dry_run else "kto train"
        raise KtoError("eval.tuned", f"no trained model in {trained}: run {run} first (or set eval.tuned)")
    base = adapter_base(trained) or config.training.base_model
    tuned_id = f"tuned-{fingerprint(trained)}"
    base_id = f"base-{hashlib.sha256(base.encode()).hexdigest()[:10]}"
    return (
        ModelSlot(id=base_id, backend="transformers", model=base),
        ModelSlot(id=tuned_id, backend="transformers", model=str(trained)),
    )


def eval_slots(config: ProjectConfig, local: bool) -> EvalSlots:
    """eval.base and eval.tuned (default: the project's own models); the judge: eval.judge, else
    suggest.judge, or the embedded model with ``local``."""
    settings = config.eval
    if settings.base and settings.tuned:
        base, tuned = settings.base, settings.tuned
    else:
        own_base, own_tuned = own_slots(config, dry_run=local)
        base, tuned = settings.base or own_base, settings.tuned or own_tuned
    if base.id == tuned.id:
        raise KtoError("eval.tuned", f"the base and the tuned model have the same id {base.id!r}: rename one")
    judge = judging.judge_slot(config, local) if local or settings.judge is None else settings.judge
    return EvalSlots(base, tuned, judge)


def held_out_prompts(config: ProjectConfig) -> list[str]:
    """The prompts of the export's test split, in their order, once each."""
    import pyarrow.parquet as pq

    from kto.splits import prompt_text

    path = config.path(config.export.output) / "kto" / "test.parquet"
    if not path.is_file():
        raise KtoError(
            "eval", f"no test split at {path}: run kto export (export.test_share > 0), or --prompts"
        )
    prompts = list(dict.fromkeys(prompt_text(row["prompt"]) for row in pq.read_table(path).to_pylist()))
    if not prompts:
        raise KtoError(
            "eval", f"{path} holds no prompt: raise export.test_share and export again, or --prompts"
        )
    return prompts


def judge_text(config: ProjectConfig, prompt: str, first: str, second: str) -> str:
    """The judge's instructions for one order of a pair. One pass over the template's own fields:
    an answer that happens to hold "{second}" is never filled in again."""
    values = {
        "language": config.language.name,
        "instructions": config.task.system_prompt,
        "prompt": prompt,
        "first": first,
        "second": second,
    }
    return placeholders.fill(config.eval.judge_prompt or JUDGE_PROMPT, values)


def rejected_by_gate(config: ProjectConfig) -> Callable[[str | None], bool]:
    """Whether ``kto check``'s language gate rejects an answer (an empty one always fails)."""
    from kto.gates import Gates, language_finding

    gates = Gates.from_config(config)
    language = gates.language if gates.actions["language"] != "off" else None

    def rejected(text: str | None) -> bool:
        if not text:
            return True
        return bool(language and language_finding(text, language)[1])

    return rejected


def run(
    config: ProjectConfig,
    *,
    prompts: list[str] | None,
    limit: int | None = None,
    local: bool,
    progress: engine.Progress,
    warn: Callable[[str], None],
) -> EvalReport:
    """Answer, gate, judge, count, and write the report, the pairs and the chart."""
    slots = eval_slots(config, local)
    chosen = prompts if prompts is not None else held_out_prompts(config)[:limit]
    folder = config.path(config.eval.output)
    answers = ask(config, folder / ANSWERS, chosen, [slots.base, slots.tuned], progress, warn, None)
    table = answers.answers
    texts = {
        p: (table[p][slots.base.id].text, table[p][slots.tuned.id].text)
        for p in answered(table, chosen, slots)
    }
    rejected = rejected_by_gate(config)
    gate = {p: (rejected(base), rejected(tuned)) for p, (base, tuned) in texts.items()}
    keys = {
        p: (judge_text(config, p, tuned or "", base or ""), judge_text(config, p, base or "", tuned or ""))
        for p, (base, tuned) in texts.items()
        if judging.gated(*gate[p]) is None
    }
    pending = [key for pair in keys.values() for key in pair]
    judged = ask(config, folder / JUDGEMENTS, pending, [slots.judge], progress, warn, JUDGE_CHOICES)
    pairs = pairs_table(texts, gate, keys, judged.answers, slots.judge.id)
    report = summary(folder, pairs, slots, texts, gate)
    report.asked = answers.asked + judged.asked
    report.errors = answers.errors | judged.errors
    report.unjudged = len(chosen) - report.prompts
    write(report, pairs, folder)
    return report


def ask(config, path: Path, keys: list[str], slots: list[ModelSlot], progress, warn, choices) -> FillReport:
    """Every slot's answer to every key, kept in ``path`` (the seed's generations format)."""
    ids = [slot.id for slot in slots]
    judge = choices is not None
    return fill_gaps(
        config,
        journal=config.path(f".cache/kto/eval-{path.stem}.journal.jsonl"),
        command="kto eval",
        prompts=keys,
        slots=slots,
        messages=lambda key: jobs.messages(None if judge else config.task.system_prompt, key),
        max_new_tokens=judging.JUDGE_MAX_NEW_TOKENS if judge else config.generation.max_new_tokens,
        progress=progress,
        warn=warn,
        save=lambda table: responses.write_rows(responses.to_rows(table, keys, ids), path),
        known=responses.read_table(path),
        choices=choices,
    )


def answered(table, prompts: list[str], slots: EvalSlots) -> list[str]:
    """The prompts both models have answered (a failed request is a gap the next run fills)."""
    ids = (slots.base.id, slots.tuned.id)
    return [
        p for p in prompts if all(table.get(p, {}).get(i, responses.Response(None, None)).raw for i in ids)
    ]


def summary(folder: Path, pairs: list[dict], slots: EvalSlots, texts: dict, gate: dict) -> EvalReport:
    outcomes = [pair["outcome"] for pair in pairs if pair["outcome"]]
    rate = judging.win_rate(outcomes) if outcomes else None
    roles = {"base": 0, "tuned": 1}
    return EvalReport(
        folder,
        prompts=len(outcomes),
        wins=outcomes.count(judging.WIN),
        losses=outcomes.count(judging.LOSS),
        ties=outcomes.count(judging.TIE),
        win_rate=rate,
        ci95=judging.interval(outcomes) if outcomes else None,
        wrong_language={role: sum(found[i] for found in gate.values()) for role, i in roles.items()},
        mean_chars={role: mean_chars([pair[i] for pair in texts.values()]) for role, i in roles.items()},
        models={"base": slots.base.id, "tuned": slots.tuned.id, "judge": slots.judge.id},
    )


def mean_chars(texts: list[str | None]) -> float | None:
    return sum(len(text or "") for text in texts) / len(texts) if texts else None


def summary_line(report: EvalReport) -> str:
    """What kto eval prints: the win rate and its interval, the counts, and what could explain them."""
    lengths = ", ".join(
        f"{role} {chars:.0f}" for role, chars in report.mean_chars.items() if chars is not None
    )
    wrong = ", ".join(f"{role} {count}" for role, count in report.wrong_language.items())
    if report.win_rate is None or report.ci95 is None:
        return f"No prompt has an outcome yet (answers and verdicts so far are in {report.folder})"
    low, high = report.ci95
    verdict = "includes 0.5: not a result" if low <= 0.5 <= high else ("better" if low > 0.5 else "worse")
    return (
        f"Win rate of the trained model against its base: {report.win_rate:.2f} (95% interval {low:.2f} to "
        f"{high:.2f}, {verdict}) over {report.prompts} prompts: {report.wins} wins, {report.ties} ties, "
        f"{report.losses} losses; wrong language: {wrong}; mean characters: {lengths}; wrote {report.folder}"
    )
