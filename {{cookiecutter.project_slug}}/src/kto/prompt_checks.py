"""The gates a prompt passes before anyone answers it: not empty, not too long, in the language,
and not a repeat or a near repeat of another prompt.

``kto prompts generate`` runs every candidate through them, ``kto prompts check`` lists a team's
own prompts that fail them, and ``kto generate`` warns in one line when its prompts would.
Repeats are found on the text with case, punctuation and spacing left out (``checks.normalise``);
near repeats, prompts that ask for the same thing in other words' order, with a typo or a polite
frame, by ``kto.near_repeats``.
"""

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from kto import checks
from kto.config import ModelSlot, ProjectConfig
from kto.errors import KtoError
from kto.near_repeats import RepeatIndex

REASONS = ("empty", "too short", "too long", "wrong language", "repeat", "near repeat")
# lingua's confidence in the expected language under which a prompt detected as another is in
# it: the starter prompts of every shipped language score 0.23 or more in their own, English ones
# at most 0.18 in any other.
MIN_CONFIDENCE = 0.2
# The embedded model counts at least this many characters per token in no language we ship:
# a prompt longer than its context times this can never fit. Servers: a 128k-token context.
MAX_CHARS_PER_TOKEN = 8
SERVER_CONTEXT_TOKENS = 131_072


@dataclass(frozen=True)
class PromptGates:
    min_chars: int
    max_chars: int
    language: str | None  # ISO 639-1 code; None: not checked

    @classmethod
    def from_config(cls, config: ProjectConfig, min_chars: int | None = None) -> "PromptGates":
        language = checks.Gates.from_config(config).language if config.checks.language != "off" else None
        limit = config.prompts.length_limit(config.task.name)
        return cls(config.prompts.min_chars if min_chars is None else min_chars, limit, language)

    def problem(self, text: str) -> tuple[str, str] | None:
        """(reason, detail) when ``text`` fails a gate of its own, without the others."""
        if not text.strip():
            return "empty", "no text"
        if len(text) < self.min_chars:
            return "too short", f"{len(text)} characters, at least {self.min_chars}"
        if len(text) > self.max_chars:
            return "too long", f"{len(text):,} characters, limit {self.max_chars:,} (prompts.max_chars)"
        if self.language and (found := other_language(text, self.language)):
            return "wrong language", f"{found}, {self.language} expected"
        return None


@lru_cache(maxsize=1 << 16)  # kto prompts generate passes every answer through the gates each round
def other_language(text: str, expected: str) -> str | None:
    """The language ``text`` is in when lingua is fairly sure it is not ``expected``. A prompt is
    one short sentence: lingua takes some of the language's own for a neighbour (an Italian
    starter prompt for Spanish) while still giving the language a fair chance, which keeps it."""
    found = checks.detect_language(text, expected)
    if not found or found in {expected, *checks.SAME_LANGUAGE.get(expected, ())}:
        return None
    chance = checks.detector(expected).compute_language_confidence(text, checks.lingua_language(expected))
    return found if chance < MIN_CONFIDENCE else None


@dataclass(frozen=True)
class PromptFinding:
    row: int  # 1-based, as an editor numbers a file's lines
    text: str
    reason: str
    detail: str


@dataclass
class PromptCheckReport:
    source: str
    rows: int
    findings: list[PromptFinding]
    fixed: Path | None = None  # the cleaned copy --fix wrote
    counts: dict[str, int] = field(default_factory=dict)  # reason -> rows

    def summary(self) -> str:
        return ", ".join(f"{count} {reason}" for reason, count in self.counts.items() if count)


def reference_index(reference: Iterable[str]) -> RepeatIndex:
    """An index of the prompts new ones must not repeat."""
    index = RepeatIndex()
    for number, text in enumerate(reference, start=1):
        index.add(text, f"existing prompt {number}")
    return index


def find_problems(texts: list[str], gates: PromptGates, reference: Iterable[str] = ()) -> list[PromptFinding]:
    """Every row of ``texts`` that fails a gate, in order; a repeat names the first row it repeats
    (or that it repeats a ``reference`` prompt), which may itself be a near repeat of another."""
    index = reference_index(reference)
    found = []
    for row, text in enumerate(texts, start=1):
        problem = gates.problem(text)
        if problem is None and (repeat := index.check(text, f"row {row}")):
            problem = repeat[0], f"{repeat[0]} of {repeat[1]}"
        if problem is not None:
            found.append(PromptFinding(row, text, *problem))
    return found


def check(config: ProjectConfig, source: str | None = None, *, fix: bool = False) -> PromptCheckReport:
    """``kto prompts check``: the problems of a prompts file (default ``prompts.source``);
    ``fix`` writes the rows without them next to it, as ``<name>.clean.jsonl``."""
    from kto.prompts import read_texts, source_file

    source = source or config.prompts.source
    # As kto generate reads them: without the spaces around.
    texts = [
        text.strip() for text in read_texts(source, config.prompts.column, config.root, config.language.code)
    ]
    findings = find_problems(texts, PromptGates.from_config(config, min_chars=1))
    report = PromptCheckReport(source, len(texts), findings, counts=_counts(findings))
    if fix:
        path = source_file(source, config.root) or config.path("prompts") / Path(source).name
        bad = {finding.row for finding in findings}
        clean = [text for row, text in enumerate(texts, start=1) if row not in bad]
        report.fixed = path.with_name(f"{path.stem}.clean.jsonl")
        write_prompts(clean, report.fixed, config.prompts.column)
    return report


def screen(
    config: ProjectConfig, texts: list[str], slots: list[ModelSlot], warn: Callable[[str], None]
) -> None:
    """For ``kto generate``: refuse a prompt no model's context could hold, and warn in one line
    when the prompts have what ``kto prompts check`` lists."""
    longest = max(texts, key=len, default="")
    for slot in slots:
        limit = context_chars(config, slot)
        if len(longest) > limit:
            row = texts.index(longest) + 1
            raise KtoError(
                "prompts",
                f"prompt {row} has {len(longest):,} characters, more than {slot.id}'s context can hold "
                f"(about {limit:,}): shorten it or leave it out (kto prompts check lists the long ones)",
            )
    counts = screened_counts(config, texts)
    if problems := sum(counts.values()):
        listed = ", ".join(f"{count} {reason}" for reason, count in counts.items() if count)
        warn(f"{problems} of {len(texts)} prompts have problems ({listed}): kto prompts check lists them")


def screened_counts(config: ProjectConfig, texts: list[str]) -> dict[str, int]:
    """The problems of ``texts`` by reason, remembered for the same prompts and gates: the language
    gate loads lingua's models (seconds), which a re-run of kto generate need not wait for again."""
    gates = PromptGates.from_config(config, min_chars=1)
    key = hashlib.sha256(json.dumps([repr(gates), texts], ensure_ascii=False).encode()).hexdigest()
    memo = config.path(".cache/kto/prompt-checks.json")
    try:
        remembered = json.loads(memo.read_text(encoding="utf-8"))
        if remembered["key"] == key:
            return remembered["counts"]
    except (OSError, ValueError, KeyError, TypeError):
        pass
    counts = _counts(find_problems(texts, gates))
    memo.parent.mkdir(parents=True, exist_ok=True)
    memo.write_text(json.dumps({"key": key, "counts": counts}), encoding="utf-8")
    return counts


def context_chars(config: ProjectConfig, slot: ModelSlot) -> int:
    """The most characters a prompt may have and still fit in ``slot``'s context, at best."""
    tokens = config.generation.local.n_ctx if slot.backend == "local" else SERVER_CONTEXT_TOKENS
    return max(0, tokens - config.generation.max_new_tokens) * MAX_CHARS_PER_TOKEN


def write_prompts(prompts: list[str], path: Path, column: str = "prompt") -> None:
    """One JSON object per line with the prompt in ``column``, written whole or not at all."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    lines = "".join(json.dumps({column: text}, ensure_ascii=False) + "\n" for text in prompts)
    partial.write_text(lines, encoding="utf-8")
    partial.replace(path)


def _counts(findings: list[PromptFinding]) -> dict[str, int]:
    counts = dict.fromkeys(REASONS, 0)
    for finding in findings:
        counts[finding.reason] += 1
    return counts
