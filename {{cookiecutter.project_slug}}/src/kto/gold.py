"""Gold records: known answers the lead mixes among the records, to see who rates with care.

``quality.gold`` in project.yaml names a JSON Lines file, one ``{"prompt", "response", "label"}``
a line (label true: good, false: bad). ``kto annotate`` logs them as records that look exactly like
the others to annotators: the same fields, an id made the same way, and the same visible metadata.
The gold label sits in the ``gold`` metadata property, hidden from annotators like ``model``.
Gold records are never dropped by the gates, and never reach the KTO or DPO datasets.
"""

import json
from dataclasses import dataclass
from pathlib import Path

from kto.errors import KtoError
from kto.labels import DOWN, UP

GOLD = "gold"  # the hidden metadata property that holds the label, and the hidden model name


@dataclass(frozen=True)
class GoldRecord:
    prompt: str
    response: str
    label: bool  # True: a good answer


def load(path: Path) -> list[GoldRecord]:
    """The gold records in ``path``; none when the file does not exist."""
    if not path.is_file():
        return []
    found = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as error:
            raise KtoError("quality.gold", f"{path} line {number} is not JSON ({error.msg})") from error
        if not (
            isinstance(item, dict)
            and all(isinstance(item.get(key), str) and item[key].strip() for key in ("prompt", "response"))
            and isinstance(item.get("label"), bool)
        ):
            raise KtoError(
                "quality.gold",
                f'{path} line {number}: write {{"prompt": "...", "response": "...", "label": true or false}}',
            )
        found.append(GoldRecord(item["prompt"], item["response"], item["label"]))
    return found


def generation_rows(gold: list[GoldRecord]) -> list[dict]:
    """The gold records as generations rows (the seed's format), one each, for the checks."""
    return [
        {"input": item.prompt, "generation_model": [GOLD], "generations": [item.response]} for item in gold
    ]


def visible_metadata(verdict, gates) -> dict:
    """What the checks show annotators, as a record the gates let through would show it: a gold
    record a gate would drop must not stand out (say, by a language no other record has)."""
    shown = verdict.metadata()
    if "language" in verdict.dropped_by:
        shown["detected_language"] = gates.language
    return shown


def label_of(row: dict) -> str | None:
    """A ratings row's gold label (``up`` or ``down``), or None for an ordinary record."""
    return json.loads(row.get("metadata") or "{}").get(GOLD)


def records(gold: list[GoldRecord], language: str, verdicts: list | None = None, gates=None) -> list[dict]:
    """Argilla records for the gold records; with the checks' ``verdicts`` on them (kto.gates, run
    on :func:`generation_rows`) and their ``gates``, carrying what the checks found, as every other
    record does (without, none does)."""
    from kto.record_ids import prompt_id, record_id

    shown = [visible_metadata(verdict, gates) for verdict in verdicts or []] or [{} for _ in gold]
    return [
        {
            "id": record_id(item.prompt, GOLD, item.response),
            "fields": {"prompt": item.prompt, "completion": item.response},
            "metadata": {"model": GOLD, "prompt_id": prompt_id(item.prompt), "language": language}
            | checked
            | {GOLD: UP if item.label else DOWN},
        }
        for item, checked in zip(gold, shown, strict=True)
    ]


def mixed(records: list[dict], gold: list[dict]) -> list[dict]:
    """``records`` with the gold records spread evenly among them, so that no stretch of the
    queue is all gold (the same order every time: logging again adds nothing)."""
    out = list(records)
    for index, record in enumerate(gold):
        out.insert((index + 1) * len(records) // (len(gold) + 1) + index, record)
    return out
