"""``kto suggest``: a judge model pre-fills each record's rating as an Argilla suggestion.

The judge runs on ``kto generate``'s engine, ``samples`` times per record (``Judge.samples``:
one slot per sample, so the samples run in parallel), with a journal of its answers: a killed
run resumes without asking again. The suggestion is the majority of the judgements, its score the share that
agreed, its agent the judge's id and identity (``Judge.identity``: its server, model, sampling
and prompt). A record holds one suggestion per question, so writing again replaces it: re-runs
never duplicate. Records already judged by the same judge, with the same identity, are skipped
unless asked to redo them: a changed judge prompt or model judges every record again.
"""

from collections import Counter
from dataclasses import dataclass

from kto import engine, jobs
from kto.argilla_dataset import log_in_batches
from kto.config import ProjectConfig
from kto.judge import Judge, rating_judge
from kto.labels import DOWN, QUESTION, UP
from kto.responses import Table
from kto.serving import raise_on_failure, unserved


@dataclass(frozen=True)
class SuggestedLabel:
    """The majority of a record's judgements, as Argilla's suggestion."""

    value: str  # UP or DOWN
    score: float  # the share of judgements that agree with it


@dataclass(frozen=True)
class SuggestReport:
    dataset: str  # workspace/name at the server's URL
    judge: str
    records: int
    pending: int
    written: int
    error: str | None = None  # the first error of the judge's requests, if any failed


def agent(judge: Judge) -> str:
    """The suggestions' agent: the judge's id and identity, so a changed judge is another agent
    (Argilla allows letters, digits, spaces and ``-_:./`` in an agent)."""
    return f"{judge.slot.id} {judge.identity()}"


def to_judge(records, agent_name: str, redo: bool) -> list:
    """The records without a suggestion from this judge (all of them with ``redo``)."""
    return [
        record
        for record in records
        if redo or (record.suggestions.to_dict().get(QUESTION) or {}).get("agent") != agent_name
    ]


def judge_texts(judge: Judge, records) -> dict[str, list]:
    """The judge's prompt for each record; records with the same prompt and response share one."""
    texts: dict[str, list] = {}
    for record in records:
        text = judge.text(prompt=record.fields["prompt"], response=record.fields["completion"])
        texts.setdefault(text, []).append(record)
    return texts


def suggested(judge: Judge, answers: list[str | None]) -> SuggestedLabel | None:
    """The majority of the judgements that give a digit; None when there are none, or a tie."""
    digits = Counter(found for answer in answers if (found := judge.choice(answer)) is not None)
    if not digits or digits[1] == digits[0]:
        return None
    value, count = digits.most_common(1)[0]
    return SuggestedLabel(UP if value == 1 else DOWN, count / sum(digits.values()))


def suggestions(judge: Judge, table: Table, texts: list[str]) -> dict[str, SuggestedLabel | None]:
    return {
        text: suggested(judge, [response.text for response in table.get(text, {}).values()]) for text in texts
    }


def write(
    dataset, records_by_text: dict[str, list], found: dict[str, SuggestedLabel | None], agent_name: str
) -> int:
    """Attach each verdict as the record's suggestion; fields and metadata are sent again because
    Argilla's upsert replaces them, while human responses are left as they are."""
    import argilla as rg

    updated = [
        rg.Record(
            id=record.id,
            fields=dict(record.fields),
            metadata=dict(record.metadata or {}),
            suggestions=[rg.Suggestion(QUESTION, label.value, score=label.score, agent=agent_name)],
        )
        for text, label in found.items()
        if label
        for record in records_by_text[text]
    ]
    log_in_batches(dataset, updated)
    return len(updated)


class Pending:
    """The records of a dataset that lack this judge's suggestion (all of them with ``redo``),
    grouped by the judge's text, and the suggestions written back to them as answers come."""

    def __init__(self, dataset, judge: Judge, redo: bool):
        self.dataset, self.judge, self.agent = dataset, judge, agent(judge)
        self.records = list(dataset.records(with_suggestions=True, with_responses=False))
        self.pending = to_judge(self.records, self.agent, redo)
        self.by_text = judge_texts(judge, self.pending)
        self.written = 0

    def save(self, answers: Table) -> None:
        found = suggestions(self.judge, answers, list(self.by_text))
        self.written = write(self.dataset, self.by_text, found, self.agent)


def run(config: ProjectConfig, *, local: bool, redo: bool, progress: engine.Progress, warn) -> SuggestReport:
    """Judge the records that lack this judge's suggestion, and write the suggestions to Argilla."""
    from kto.argilla_client import open_dataset

    judge = rating_judge(config, local)
    samples = judge.samples(config.suggest.samples)
    # Before anything else: a judge alone on a dead server would only wait, then fail every request.
    raise_on_failure(unserved([judge.slot], unreachable=True))
    client, dataset = open_dataset(config)
    records = Pending(dataset, judge, redo)
    where = f"{judge.slot.id} at {judge.slot.server}"
    site = f"{config.argilla.workspace}/{config.argilla.dataset} at {client.api_url}"
    filled = engine.fill_gaps(
        config,
        journal=config.path(".cache/kto/suggest.journal.jsonl"),
        command="kto suggest",
        prompts=list(records.by_text),
        slots=samples,
        messages=lambda text: jobs.messages(None, text),
        max_new_tokens=judge.max_new_tokens,
        progress=progress,
        warn=warn,
        save=records.save,
        choices=judge.choices,
    )
    error = next((f"{where}: {found}" for found in filled.errors.values()), None)
    return SuggestReport(
        site, records.agent, len(records.records), len(records.pending), records.written, error
    )
