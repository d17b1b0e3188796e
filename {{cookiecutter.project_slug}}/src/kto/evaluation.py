"""``kto eval``: did the ratings help? The trained model against its base, on held-out prompts.

Both models answer each prompt the export held out (``kto train`` never saw them), through the
engine ``kto generate`` uses: a journal, the project lock, and a re-run that asks only for what is
missing. Before anything is asked, the three models' servers must list them. The language gate of
``kto check`` comes first: an answer it rejects loses without asking the judge. Every other pair is
judged twice, once in each order (``kto.judging``). Each prompt is one ``judging.Pair``, from which
the counts, the verdict and the files are made. Answers and verdicts are kept in ``eval.output``
(seed-format parquet files) and reused only while the model that gave them is the same
(``kto.reuse``), so a re-run asks nothing and gives the same figures; ``redo`` asks everything again.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from kto import engine, identities, jobs, judging, responses, reuse
from kto.config import ModelSlot, ProjectConfig
from kto.engine import FillReport, fill_gaps
from kto.eval_files import ANSWERS, IDENTITIES, JUDGEMENTS, write
from kto.eval_setup import EvalSetup, held_out_prompts, setup
from kto.judge import Judge
from kto.judging import Pair


@dataclass
class EvalReport:
    folder: Path
    prompts: int  # prompts with an outcome
    wins: int
    losses: int
    ties: int
    conclusion: judging.Conclusion
    wrong_language: dict[str, int]  # base / tuned -> answers the language gate rejected
    mean_chars: dict[str, float | None]  # base / tuned -> mean answer length in characters
    models: dict[str, str]  # base / tuned / judge -> slot id
    asked: int = 0  # requests sent in this run
    unjudged: int = 0  # prompts still lacking an answer or a verdict: run kto eval again
    errors: dict[str, str] = field(default_factory=dict)  # slot id at its server -> first error
    reused: dict[str, reuse.Reused] = field(default_factory=dict)  # answers / verdicts kept


def judge_keys(judge: Judge, pair: Pair) -> tuple[str, str]:
    """The judge's two requests for a pair: the tuned model's answer first, then the base's first."""
    tuned, base = pair.tuned or "", pair.base or ""
    return (
        judge.text(prompt=pair.prompt, first=tuned, second=base),
        judge.text(prompt=pair.prompt, first=base, second=tuned),
    )


def run(
    config: ProjectConfig,
    *,
    prompts: list[str] | None,
    limit: int | None = None,
    local: bool,
    redo: bool = False,
    progress: engine.Progress,
    warn: Callable[[str], None],
) -> EvalReport:
    """Answer, gate, judge, count, and write the report, the pairs and the chart."""
    chosen = prompts if prompts is not None else held_out_prompts(config)[:limit]
    asker = Asker(config, setup(config, local), redo, progress, warn)
    pairs = asker.pairs(chosen)
    asker.judge(pairs)
    report = summary(asker.folder, pairs, asker.setup, config.eval.min_prompts)
    report.asked, report.errors, report.reused = asker.asked, asker.errors, asker.reused
    report.unjudged = len(chosen) - report.prompts
    write(report, pairs, asker.folder)
    return report


class Asker:
    """Asks the models of one eval run through the engine, keeps what they said in ``eval.output``
    (bound to their identities), and tallies what was asked, reused and failed."""

    def __init__(self, config: ProjectConfig, setup: EvalSetup, redo: bool, progress, warn):
        self.config, self.setup, self.redo, self.progress, self.warn = config, setup, redo, progress, warn
        self.folder = config.path(config.eval.output)
        self.asked = 0
        self.errors: dict[str, str] = {}
        self.reused: dict[str, reuse.Reused] = {}

    def pairs(self, prompts: list[str]) -> list[Pair]:
        """Both models' answers, and a pair for each prompt both have answered (a failed request is
        a gap the next run fills), with the language gate's findings."""
        models = [self.setup.base, self.setup.tuned]
        tokens = self.config.generation.max_new_tokens
        table = self._ask(
            "answers",
            ANSWERS,
            prompts,
            models,
            {slot.id: identities.of_slot(slot, tokens) for slot in models},
            None,
        )
        found, rejected = [], self.setup.rejected
        for prompt in prompts:
            base, tuned = (table.get(prompt, {}).get(slot.id) for slot in models)
            if base and tuned and base.raw and tuned.raw:
                found.append(Pair(prompt, base.text, tuned.text, rejected(base.text), rejected(tuned.text)))
        return found

    def judge(self, pairs: list[Pair]) -> None:
        """The judge's verdicts, in both orders, on every pair the gate has not decided."""
        judge = self.setup.judge
        keys = {pair.prompt: judge_keys(judge, pair) for pair in pairs if pair.needs_judge}
        table = self._ask(
            "verdicts",
            JUDGEMENTS,
            [key for both in keys.values() for key in both],
            [judge.slot],
            {judge.slot.id: judge.identity()},
            judge,
        )
        for pair in pairs:
            if pair.prompt in keys:
                first, second = (raw(table, key, judge.slot.id) for key in keys[pair.prompt])
                pair.judged(first, second, judge.choice)

    def _ask(
        self,
        what: str,
        name: str,
        keys: list[str],
        slots: list[ModelSlot],
        identity: dict[str, str],
        judge: Judge | None,
    ) -> responses.Table:
        """Every slot's answer to every key, kept in ``name`` and reused while the slot's
        ``identity`` (by slot id) is the one that gave it; ``judge``: the slots are its."""
        path = self.folder / name
        journal = self.config.path(f".cache/kto/eval-{Path(name).stem}.journal.jsonl")
        known, since = reuse.bind(self.folder / IDENTITIES, responses.read_table(path), identity, self.redo)
        if identity.keys() - since.keys():
            journal.unlink(missing_ok=True)  # an interrupted run's answers may be another model's
        self.reused[what] = reuse.reused(known, keys, list(identity), since)
        filled = self._fill(path, journal, keys, slots, known, judge)
        self.asked += filled.asked
        where = {slot.id: slot.server for slot in slots}
        self.errors |= {f"{slot} at {where[slot]}": error for slot, error in filled.errors.items()}
        return filled.answers

    def _fill(
        self, path: Path, journal: Path, keys: list[str], slots: list[ModelSlot], known, judge: Judge | None
    ) -> FillReport:
        ids = [slot.id for slot in slots]
        system = None if judge else self.config.task.system_prompt
        return fill_gaps(
            self.config,
            journal=journal,
            command="kto eval",
            prompts=keys,
            slots=slots,
            messages=lambda key: jobs.messages(system, key),
            max_new_tokens=judge.max_new_tokens if judge else self.config.generation.max_new_tokens,
            progress=self.progress,
            warn=self.warn,
            save=lambda table: responses.write_rows(responses.to_rows(table, keys, ids), path),
            known=known,
            choices=judge.choices if judge else None,
        )


def raw(table: responses.Table, key: str, slot_id: str) -> str | None:
    """A slot's answer as it came, None if it has none (or its request failed)."""
    found = table.get(key, {}).get(slot_id)
    return found.raw if found else None


def summary(folder: Path, pairs: list[Pair], setup: EvalSetup, min_prompts: int) -> EvalReport:
    outcomes = [pair.outcome for pair in pairs if pair.outcome]
    wins, losses = outcomes.count(judging.WIN), outcomes.count(judging.LOSS)
    return EvalReport(
        folder,
        prompts=len(outcomes),
        wins=wins,
        losses=losses,
        ties=outcomes.count(judging.TIE),
        conclusion=judging.conclude(wins, losses, min_prompts=min_prompts),
        wrong_language={
            "base": sum(pair.base_rejected for pair in pairs),
            "tuned": sum(pair.tuned_rejected for pair in pairs),
        },
        mean_chars={
            "base": mean_chars([pair.base for pair in pairs]),
            "tuned": mean_chars([pair.tuned for pair in pairs]),
        },
        models={"base": setup.base.id, "tuned": setup.tuned.id, "judge": setup.judge.slot.id},
    )


def mean_chars(texts: list[str | None]) -> float | None:
    return sum(len(text or "") for text in texts) / len(texts) if texts else None


def summary_line(report: EvalReport) -> str:
    """What kto eval prints: the verdict, the win rate over the decided prompts with its interval and
    p-value, the counts, and what could explain them."""
    if not report.prompts:
        return f"No prompt has an outcome yet (answers and verdicts so far are in {report.folder})"
    found = report.conclusion
    decided = report.wins + report.losses
    if found.verdict == judging.TOO_FEW:
        # At this run's share of decided prompts: ties and gaps need more held-out prompts.
        more = math.ceil(found.more_prompts * report.prompts / decided) if decided else found.more_prompts
        headline = (
            f"Too few prompts for a verdict: the judge decided {decided} of {report.prompts}, and a verdict "
            f"needs {decided + found.more_prompts} (eval.min_prompts): about {more} more held-out prompts"
        )
    else:
        headline = f"The trained model against its base: {found.verdict}"
    if found.win_rate is not None and found.ci95 is not None:
        headline += (
            f". Win rate {found.win_rate:.3f} over the decided prompts (95% interval "
            f"{judging.shown(found.ci95, found.verdict)}, sign test p = {found.p_value:.2g})"
        )
    lengths = ", ".join(
        f"{role} {chars:.0f}" for role, chars in report.mean_chars.items() if chars is not None
    )
    wrong = ", ".join(f"{role} {count}" for role, count in report.wrong_language.items())
    return (
        f"{headline}: {report.wins} wins, {report.losses} losses, {report.ties} ties; wrong language: "
        f"{wrong}; mean characters: {lengths}; wrote {report.folder}"
    )


def reuse_line(report: EvalReport) -> str | None:
    """What was kept from earlier runs (``kto eval --redo`` asks everything again)."""
    kept = [
        f"{found.count} {what} (since {found.since})" for what, found in report.reused.items() if found.count
    ]
    return f"Reused {' and '.join(kept)} from earlier runs; --redo asks again" if kept else None
