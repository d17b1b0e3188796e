"""Answers kept from earlier runs, reused only for the same model: a file beside them records
each slot's identity (``kto.identities``) and since when its answers were kept. A slot whose
identity changed, or every slot with ``redo``, starts again from nothing.
"""

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from kto.files import write_text
from kto.responses import Table


@dataclass(frozen=True)
class Reused:
    count: int  # answers kept from earlier runs, of those this run needed
    since: str | None  # when the earliest of them was asked (UTC, to the minute); None: none kept


def bind(record: Path, known: Table, identities: dict[str, str], redo: bool) -> tuple[Table, dict[str, str]]:
    """``known`` without the answers of slots (by id) whose identity is not the recorded one, and
    the slots whose answers are kept, with since when; the record is updated for this run."""
    found = json.loads(record.read_text(encoding="utf-8")) if record.is_file() else {}
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    kept = {
        slot: found[slot]["since"]
        for slot, identity in identities.items()
        if not redo and found.get(slot, {}).get("identity") == identity
    }
    found |= {slot: {"identity": identities[slot], "since": kept.get(slot, now)} for slot in identities}
    write_text(record, json.dumps(found, indent=2, ensure_ascii=False) + "\n")
    table = {
        key: {slot: answer for slot, answer in row.items() if slot in kept} for key, row in known.items()
    }
    return table, kept


def reused(known: Table, keys: list[str], slots: list[str], since: dict[str, str]) -> Reused:
    """How many of the answers for ``keys`` x ``slots`` were already in ``known``, and since when
    (``since``: what ``bind`` returned)."""
    counts = {slot: sum(1 for key in keys if _answered(known, key, slot)) for slot in slots}
    used = [since[slot] for slot, count in counts.items() if count and slot in since]
    return Reused(sum(counts.values()), min(used) if used else None)


def _answered(known: Table, key: str, slot: str) -> bool:
    answer = known.get(key, {}).get(slot)
    return answer is not None and answer.raw is not None
