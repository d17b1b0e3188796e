"""``kto suggest``: a judge model pre-fills each record's rating as an Argilla suggestion.

The judge runs on ``kto generate``'s engine, ``samples`` times per record (one slot per sample,
so the samples run in parallel), with a journal of its answers: a killed run resumes without
asking again. The suggestion is the majority of the judgements, its score the share that
agreed, its agent the judge's id. A record holds one suggestion per question, so writing again
replaces it: re-runs never duplicate. Records already judged by the same judge are skipped
unless asked to redo them.
"""

from collections import Counter
from dataclasses import dataclass

from kto import engine, jobs, judging
from kto.argilla_dataset import log_in_batches
from kto.config import ModelSlot, ProjectConfig
from kto.judging import CHOICES, JUDGE_MAX_NEW_TOKENS, judge_slot
from kto.labels import DOWN, QUESTION, UP
from kto.responses import Table
from kto.serving import raise_on_failure, unserved


@dataclass(frozen=True)
class Verdict:
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


def sample_slots(judge: ModelSlot, samples: int) -> list[ModelSlot]:
    """One slot per judgement of each record; their ids name the samples in the journal, while
    every request still carries the judge's model name."""
    model = judge.served_model or judge.id
    return [
        judge.model_copy(update={"id": f"{judge.id}#{n}", "served_model": model})
        for n in range(1, samples + 1)
    ]


def to_judge(records, judge_id: str, redo: bool) -> list:
    """The records without a suggestion from this judge (all of them with ``redo``)."""
    return [
        record
        for record in records
        if redo or (record.suggestions.to_dict().get(QUESTION) or {}).get("agent") != judge_id
    ]


def judge_texts(config: ProjectConfig, records) -> dict[str, list]:
    """The judge's prompt for each record; records with the same prompt and response share one."""
    texts: dict[str, list] = {}
    for record in records:
        text = config.suggest.judge_text(
            config.task.system_prompt, record.fields["prompt"], record.fields["completion"]
        )
        texts.setdefault(text, []).append(record)
    return texts


def verdict(answers: list[str | None]) -> Verdict | None:
    """The majority of the judgements that give a digit; None when there are none, or a tie."""
    digits = Counter(found for answer in answers if answer and (found := binary_digit(answer)) is not None)
    if not digits or digits[1] == digits[0]:
        return None
    value, count = digits.most_common(1)[0]
    return Verdict(UP if value == 1 else DOWN, count / sum(digits.values()))


def binary_digit(answer: str) -> int | None:
    """The first 0 or 1 in the answer, in any script (``judging.digit``)."""
    return judging.digit(answer, (0, 1))


def verdicts(table: Table, texts: list[str]) -> dict[str, Verdict | None]:
    return {text: verdict([response.text for response in table.get(text, {}).values()]) for text in texts}


def write(dataset, records_by_text: dict[str, list], found: dict[str, Verdict | None], judge_id: str) -> int:
    """Attach each verdict as the record's suggestion; fields and metadata are sent again because
    Argilla's upsert replaces them, while human responses are left as they are."""
    import argilla as rg

    updated = [
        rg.Record(
            id=record.id,
            fields=dict(record.fields),
            metadata=dict(record.metadata or {}),
            suggestions=[
                rg.Suggestion(QUESTION, found_verdict.value, score=found_verdict.score, agent=judge_id)
            ],
        )
        for text, found_verdict in found.items()
        if found_verdict
        for record in records_by_text[text]
    ]
    log_in_batches(dataset, updated)
    return len(updated)


def run(config: ProjectConfig, *, local: bool, redo: bool, progress: engine.Progress, warn) -> SuggestReport:
    """Judge the records that lack this judge's suggestion, and write the verdicts to Argilla."""
    from kto.argilla_client import open_dataset

    judge = judge_slot(config, local)
    # Before anything else: a judge alone on a dead server would only wait, then fail every request.
    raise_on_failure(unserved([judge], unreachable=True))
    client, dataset = open_dataset(config)
    records = list(dataset.records(with_suggestions=True, with_responses=False))
    pending = to_judge(records, judge.id, redo)
    by_text = judge_texts(config, pending)
    written = 0

    def save(answers: Table) -> None:
        nonlocal written
        written = write(dataset, by_text, verdicts(answers, list(by_text)), judge.id)

    filled = engine.fill_gaps(
        config,
        journal=config.path(".cache/kto/suggest.journal.jsonl"),
        command="kto suggest",
        prompts=list(by_text),
        slots=sample_slots(judge, config.suggest.samples),
        messages=lambda text: jobs.messages(None, text),
        max_new_tokens=JUDGE_MAX_NEW_TOKENS,
        progress=progress,
        warn=warn,
        save=save,
        choices=CHOICES,
    )
    name = f"{config.argilla.workspace}/{config.argilla.dataset} at {client.api_url}"
    error = next(iter(filled.errors.values()), None)
    return SuggestReport(name, judge.id, len(records), len(pending), written, error)
