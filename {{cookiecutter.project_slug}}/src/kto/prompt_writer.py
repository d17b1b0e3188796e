"""``kto prompts generate``: a writer model drafts prompts in the project's language; the gates keep N.

Request i asks the writer for a few prompts on a topic, with example prompts, both chosen from i
alone (the topics cycle, the examples are a sample seeded by i): a resumed run asks exactly what
the interrupted one would have. The writer is asked through the engine (journal, lock, retries)
in one streaming run: requests are topped up to the writer's concurrency as answers land, each
answer goes through the gates as it lands, in request order, and the run ends once N are kept.
The language gate runs in a child process (``kto.language_process``), so lingua's model load
overlaps the first answers; requests go at most as far past the first answer not yet through the
gates as the prompts still wanted need.
The answers are kept beside the output (``.<name>.answers.jsonl``) and the output is rebuilt from
them however the run ends: the answers' lines in request order, through the gates, the first N
that pass. So a killed run loses only what was in flight, and a run that already has N prompts
asks nothing.

A writer that repeats itself is stopped once STALE_REQUESTS requests in a row brought nothing
new, and a failed request stops the run (the stream would wait at it), each with one line that
says what to change.
"""

import json
import math
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from kto import local_model, placeholders
from kto.config import ModelSlot, ProjectConfig
from kto.engine import Progress, fill_gaps
from kto.errors import Interrupted, KtoError
from kto.files import write_lines
from kto.journal import journal_path
from kto.language_process import LanguageProcess
from kto.prompt_gates import LIST_MARK, PromptGates, RepeatIndex, reference_index, split_list
from kto.prompts import write_prompts
from kto.responses import Response, Table

DEFAULT_OUTPUT = "prompts/generated.jsonl"
PER_REQUEST = 8  # prompts asked for in one request
EXAMPLES = 3  # example prompts shown in one request
STALE_REQUESTS = 12
# How many times the writer's concurrency a request may start past the first answer not yet through
# the gates: room for slow answers, and a bound on what is asked past the one the run waits for.
STREAM_AHEAD = 4
# The embedded model writes prompts at a higher temperature than it answers them: variety first.
LOCAL_TEMPERATURE = 1.0
KEY = "prompt request "
# Straight, curly, low, angle and CJK corner quotes, which writers put around a prompt.
QUOTES = "\"'\u201c\u201d\u201e\u201f\u00ab\u00bb\u2039\u203a\u300c\u300d\u300e\u300f\u300a\u300b"


@dataclass
class PromptWriterReport:
    path: Path
    wanted: int
    kept: int = 0
    asked: int = 0  # requests that ended in this run
    recovered: int = 0  # answers an interrupted run left in the journal
    answered: int = 0  # requests, over every run, whose answers went through the gates
    dropped: Counter = field(default_factory=Counter)  # reason -> candidates
    stopped: str | None = None  # why it stopped short of ``wanted``, in one line


class WriterProgress(Progress, Protocol):
    def kept(self, count: int) -> None:
        """How many prompts the output holds so far."""


@dataclass(frozen=True)
class WriterPlan:
    """What request i says: the template in the language, filled from i."""

    template: str
    instructions: str
    topics: list[str]
    examples: list[str]

    def request(self, index: int) -> str:
        topic = self.topics[index % len(self.topics)] if self.topics else ""
        sample = random.Random(index).sample(self.examples, min(EXAMPLES, len(self.examples)))
        examples = "\n".join(f"- {example}" for example in sample) or "-"
        return placeholders.fill(
            self.template,
            {"instructions": self.instructions, "n": str(PER_REQUEST), "topic": topic, "examples": examples},
        )

    def messages(self, key: str) -> list[dict]:
        return [{"role": "user", "content": self.request(index_of(key))}]


def key_of(index: int) -> str:
    return f"{KEY}{index}"


def index_of(key: str) -> int:
    return int(key.removeprefix(KEY))


def writer_slot(config: ProjectConfig, local: bool) -> ModelSlot:
    if local:
        slot_id = local_model.slot_id(LOCAL_TEMPERATURE)
        return ModelSlot(id=slot_id, backend="local", temperature=LOCAL_TEMPERATURE)
    return config.prompts.writer or config.generation.models[0]


def plan(config: ProjectConfig, examples: list[str]) -> WriterPlan:
    template = config.prompts.writer_prompt
    if not template:
        raise KtoError(
            "prompts.writer_prompt",
            "missing: cruft update brings it, or copy prompt_writer from the template's language file",
        )
    return WriterPlan(template, config.task.system_prompt, topics(config), examples)


def topics(config: ProjectConfig) -> list[str]:
    """The team's topics file, else the language's starter topics, else the task's description."""
    if config.prompts.topics:
        from kto.prompts import read_text

        path = config.path(config.prompts.topics)
        if not path.is_file():
            raise KtoError("prompts.topics", f"{path} does not exist: one topic per line")
        found = [line.strip() for line in read_text(path, config.language.code).splitlines() if line.strip()]
        if not found:
            raise KtoError("prompts.topics", f"{path} holds no topics: one topic per line")
        return found
    return list(config.language.starter_topics) or [config.task.description]


def parse(raw: str | None) -> list[str]:
    """The prompts in a writer's answer: one per line (a list on one line split), without list
    marks or quotes; a line that ends with a colon introduces the list ("Here are eight
    prompts:") and is left out."""
    found = []
    for piece in (piece for line in (raw or "").splitlines() for piece in split_list(line)):
        text = LIST_MARK.sub("", piece).strip().strip(QUOTES).strip()
        if text and not text.endswith((":", "\uff1a")):
            found.append(text)
    return found


@dataclass
class Selection:
    """The candidates taken so far, in request order, and what the gates made of them."""

    gates: PromptGates
    index: RepeatIndex
    language: LanguageProcess
    wanted: int
    start: int  # the first request of this run: only its requests can be stale
    concurrency: int  # the writer's
    progress: WriterProgress
    kept: list[str] = field(default_factory=list)
    dropped: Counter = field(default_factory=Counter)
    last_useful: int = -1  # the last request that brought a kept prompt
    taken: int = 0  # requests 0 .. taken - 1 are through the gates
    candidates: dict[str, list[str]] = field(default_factory=dict)  # request key -> its prompts

    def take(self, answers: Table, *, wait: bool = False) -> None:
        """Run the next requests' answers through the gates, in request order, until ``wanted``
        are kept; it waits at a request still without an answer (its place in the order is kept
        for it), so every run keeps the same prompts from the same answers. It returns at a
        request whose language verdicts are still to come, unless told to ``wait`` for them."""
        self.ask_language(answers)
        while len(self.kept) < self.wanted and (lines := self.candidates.get(key_of(self.taken))) is not None:
            if not (wait or self.language.ready(lines)):
                return
            for text in lines:
                if len(self.kept) == self.wanted:
                    return
                # The language last: a repeat of a kept prompt is in the language. A prompt
                # dropped as a repeat is remembered too (RepeatIndex.check).
                problem = (
                    self.gates.form_problem(text)
                    or self.index.check(text, text)
                    or self.language.problem(text)
                )
                if problem:
                    self.dropped[problem[0]] += 1
                    continue
                self.kept.append(text)
                self.last_useful = self.taken
            self.taken += 1

    def ask_language(self, answers: Table) -> None:
        """Parse the answers not seen before (a set difference: the engine asks between answers
        too) and have the language gate judge their prompts that pass the gates of form."""
        new = {
            key: [line for response in answers[key].values() for line in parse(response.text)]
            for key in answers.keys() - self.candidates.keys()
        }
        self.candidates.update(new)
        to_judge = (text for lines in new.values() for text in lines if not self.gates.form_problem(text))
        self.language.ask(to_judge)

    def may_start(self, key: str) -> bool:
        """Requests past the first not yet through the gates: as many as the prompts still wanted
        need at the yield so far (PER_REQUEST a request before any is taken), at least the
        writer's concurrency, at most STREAM_AHEAD times it."""
        most = STREAM_AHEAD * self.concurrency
        still = self.wanted - len(self.kept)
        per_request = len(self.kept) / self.taken if self.taken else PER_REQUEST
        needed = math.ceil(still / per_request) if per_request else most
        return index_of(key) < self.taken + min(max(needed, self.concurrency), most)

    def enough(self, answers: Table, *, wait: bool = False) -> bool:
        self.take(answers, wait=wait)
        self.progress.kept(len(self.kept))
        return self.done()

    def stale(self) -> int:
        """Requests in a row of this run that brought nothing new."""
        return self.taken - max(self.start, self.last_useful + 1)

    def done(self) -> bool:
        return len(self.kept) >= self.wanted or self.stale() >= STALE_REQUESTS


def answered(answers: Table) -> list[int]:
    return sorted(
        index_of(key) for key, row in answers.items() if any(r.raw is not None for r in row.values())
    )


def answers_path(output: Path) -> Path:
    return output.with_name(f".{output.stem}.answers.jsonl")


def read_answers(path: Path) -> Table:
    table: Table = {}
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            entry = json.loads(line)
            table.setdefault(entry["key"], {})[entry["model"]] = Response(entry["prompt_seen"], entry["raw"])
    return table


def write_answers(path: Path, table: Table) -> None:
    """All of them, written whole or not at all (a kill mid-write leaves the previous file)."""
    lines = [
        json.dumps(
            {"key": key, "model": model, "prompt_seen": r.prompt_seen, "raw": r.raw}, ensure_ascii=False
        )
        for key, row in table.items()
        for model, r in row.items()
        if r.raw is not None
    ]
    if lines:
        write_lines(path, lines)


def reference_prompts(config: ProjectConfig, output: Path, warn: Callable[[str], None]) -> list[str]:
    """The prompts of ``prompts.source``, which new ones must not repeat (none when it is the output)."""
    from kto.prompts import read_texts, source_file

    source = config.prompts.source
    if (found := source_file(source, config.root)) is not None and found.resolve() == output.resolve():
        return []
    try:
        texts = read_texts(source, config.prompts.column, config.root, config.language.code)
    except KtoError as error:
        warn(f"{error}; new prompts are compared with each other only")
        return []
    return list(dict.fromkeys(text.strip() for text in texts if text and text.strip()))


def max_new_tokens(gates: PromptGates) -> int:
    """Room for PER_REQUEST prompts of the longest length allowed, at ~3 characters a token."""
    return min(2048, max(256, PER_REQUEST * gates.max_chars // 3))


def run(
    config: ProjectConfig,
    *,
    n: int,
    output: Path,
    local: bool,
    progress: WriterProgress,
    warn: Callable[[str], None],
) -> PromptWriterReport:
    """Ask the writer until ``output`` holds ``n`` prompts that pass the gates, until it brings
    nothing new, or until a request fails; ``output`` is written however the run ends, and only
    when it holds a prompt."""
    store = answers_path(output)
    if output.exists() and output.stat().st_size and not store.exists():
        raise KtoError(
            "output", f"{output} exists and was not written by kto prompts generate: choose another --output"
        )
    slot, gates = writer_slot(config, local), PromptGates.from_config(config)
    reference = reference_prompts(config, output, warn)
    writer, known = plan(config, reference), read_answers(store)
    start = max(answered(known), default=-1) + 1
    language = LanguageProcess(gates, warm_up=writer.request(start))
    chosen = Selection(
        gates,
        reference_index(reference),
        language,
        wanted=n,
        start=start,
        concurrency=slot.concurrency,
        progress=progress,
    )

    def save(table: Table) -> None:
        write_answers(store, table)
        chosen.take(table, wait=True)
        if chosen.kept:
            write_prompts(chosen.kept, output)
        else:  # never an empty output: a run that kept nothing leaves no file
            output.unlink(missing_ok=True)

    # Enough requests that the run ends with n kept or stale, whatever the writer brings.
    last = start + STALE_REQUESTS * (n + 1)
    try:
        fill = fill_gaps(
            config,
            journal=journal_path(output),
            command="kto prompts generate",
            prompts=[key_of(index) for index in range(last)],
            slots=[slot],
            messages=writer.messages,
            max_new_tokens=max_new_tokens(gates),
            progress=progress,
            warn=warn,
            save=save,
            known=known,
            stream=chosen,
        )
    except Interrupted as stop:
        stop.kept = f"{len(chosen.kept)} of {n} prompts in {output} ({stop.kept})"
        raise
    finally:
        language.close()
    report = PromptWriterReport(output, n, len(chosen.kept), fill.ended, fill.recovered, chosen.taken)
    report.dropped = chosen.dropped
    if report.kept < n:
        report.stopped = failed(report, slot, fill.errors) if fill.errors else stopped(report, chosen.stale())
    return report


def failed(report: PromptWriterReport, slot: ModelSlot, errors: dict[str, str]) -> str:
    where = "the embedded model" if slot.backend == "local" else f"{slot.id} at {slot.server}"
    return (
        f"stopped: a request to {where} failed ({next(iter(errors.values()))}); {report.kept} of "
        f"{report.wanted} kept in {report.path}: run it again to go on"
    )


def stopped(report: PromptWriterReport, stale: int) -> str:
    return (
        f"stopped: the last {stale} requests brought no new prompt; {report.kept} of {report.wanted} kept in "
        f"{report.path}. Give the writer topics of your own (prompts.topics), a higher temperature, or "
        "another model (prompts.writer), then run it again"
    )
