"""The gates a prompt passes before anyone answers it: not empty, words and not only emoji or
digits, valid text, not a list of prompts on one line, not too long, in the language, and not a
repeat or a near repeat of another prompt.

``kto prompts generate`` runs every candidate through them, ``kto prompts check`` (:mod:`kto.prompt_checks`)
lists a team's own prompts that fail them, and ``kto generate`` warns in one line when its prompts would.
Repeats are found on the text with case, punctuation and spacing left out (``gates.normalise``);
near repeats, prompts that ask for the same thing in other words' order, with a typo or a polite
frame, by ``kto.near_repeats``.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from kto.config import ProjectConfig
from kto.gates import SAME_LANGUAGE, Gates, detect_language, detector, lingua_language, without_names
from kto.near_repeats import RepeatIndex

REASONS = (
    *("empty", "bad bytes", "no words", "list", "too short", "too long"),
    *("wrong language", "repeat", "near repeat"),
)
# What writers put before a line of a list: bullets, numbers ("3.", "3)", "(3)", "3、"), headings.
LIST_MARK = re.compile(r"^\s*(?:[-*\u2022\u00b7\u2013\u2014]+|\(?\d+\s*[.)\u3001\uff0e:\uff1a]|#+)\s*")
FIRST_MARK = re.compile(r"^\s*\(?[1\uff11]\s*[.)\u3001\uff0e]\s*")
# A number that goes on a list inside a line: after a space or a sentence's end, not a decimal.
INLINE_MARK = re.compile(r"(?:(?<=\s)|(?<=[.!?\u3002\uff01\uff1f]))\(?(\d{1,2})\s*[.)\u3001\uff0e](?!\d)\s*")
BULLETS = "-*\u2022\u30fb"
UNDECODABLE = "\ufffd"  # what a byte that is not UTF-8 is read as
# lingua's confidence in the expected language under which a prompt detected as another is in
# it: the starter prompts of every shipped language score 0.23 or more in their own, English ones
# at most 0.18 in any other.
MIN_CONFIDENCE = 0.2


@dataclass(frozen=True)
class PromptGates:
    min_chars: int
    max_chars: int
    language: str | None  # ISO 639-1 code; None: not checked

    @classmethod
    def from_config(cls, config: ProjectConfig, min_chars: int | None = None) -> "PromptGates":
        language = Gates.from_config(config).language if config.checks.language != "off" else None
        limit = config.prompts.length_limit(config.task.name)
        return cls(config.prompts.min_chars if min_chars is None else min_chars, limit, language)

    def problem(self, text: str) -> tuple[str, str] | None:
        """(reason, detail) when ``text`` fails a gate of its own, without the others."""
        return self.form_problem(text) or self.language_problem(text)

    def form_problem(self, text: str) -> tuple[str, str] | None:
        """The gates that look at the text alone, in microseconds."""
        if not text.strip():
            return "empty", "no text"
        if UNDECODABLE in text:
            return "bad bytes", f"bytes that are not UTF-8 (read as {UNDECODABLE})"
        if not any(character.isalpha() for character in text):
            return "no words", "no letters: only emoji, punctuation or digits"
        if len(text) < self.min_chars:
            return "too short", f"{len(text)} characters, at least {self.min_chars}"
        if len(text) > self.max_chars:
            return "too long", f"{len(text):,} characters, limit {self.max_chars:,} (prompts.max_chars)"
        return None

    def language_problem(self, text: str) -> tuple[str, str] | None:
        """The language gate: milliseconds a prompt, the first one seconds (lingua loads its models)."""
        if self.language and (found := other_language(text, self.language)):
            return "wrong language", f"{found}, {self.language} expected"
        return None


@lru_cache(maxsize=1 << 16)  # kto prompts generate passes every answer through the gates each round
def other_language(text: str, expected: str) -> str | None:
    """The language ``text`` is in when lingua is fairly sure it is not ``expected``. A prompt is
    one short sentence: lingua takes some of the language's own for a neighbour (an Italian
    starter prompt for Spanish) while still giving the language a fair chance, which keeps it."""
    text = without_names(text)
    found = detect_language(text, expected)
    if not found or found in {expected, *SAME_LANGUAGE.get(expected, ())}:
        return None
    chance = detector(expected).compute_language_confidence(text, lingua_language(expected))
    return found if chance < MIN_CONFIDENCE else None


def split_list(line: str) -> list[str]:
    """The prompts of a list written on one line ("1. ... 2. ... 3. ...", "- ... - ..."), without
    their marks; ``[line]`` when it is not one. Numbers count only in order from 2 (from 1 at the
    line's start) and at least two of them, or one after a leading 1., so "the top 2. ..." stays."""
    first = FIRST_MARK.match(line)
    expected, cuts = 2, []
    for mark in INLINE_MARK.finditer(line, first.end() if first else 0):
        if int(mark.group(1)) == expected:
            cuts.append(mark)
            expected += 1
    if len(cuts) >= (1 if first else 2):
        bounds = [first.end() if first else 0, *(at for cut in cuts for at in cut.span()), len(line)]
        return [line[bounds[i] : bounds[i + 1]].strip() for i in range(0, len(bounds), 2)]
    bullet = line.lstrip()[:1]
    if bullet and bullet in BULLETS and line.lstrip()[1:2].isspace():
        pieces = re.split(rf"\s{re.escape(bullet)}\s", line.lstrip()[2:])
        if len(pieces) > 1:
            return [piece.strip() for piece in pieces]
    return [line]


@dataclass(frozen=True)
class PromptFinding:
    row: int  # 1-based, as an editor numbers a file's lines
    text: str
    reason: str
    detail: str
    part: int | None = None  # which prompt of a list on one line

    @property
    def where(self) -> str:
        return f"{self.row}" if self.part is None else f"{self.row}, part {self.part}"


def reference_index(reference: Iterable[str]) -> RepeatIndex:
    """An index of the prompts new ones must not repeat."""
    index = RepeatIndex()
    for number, text in enumerate(reference, start=1):
        index.add(text, f"existing prompt {number}")
    return index


def units(texts: list[str]) -> list[tuple[int, int | None, str]]:
    """(row, part, prompt) for every prompt of ``texts``: a list on one line gives its parts."""
    found: list[tuple[int, int | None, str]] = []
    for row, text in enumerate(texts, start=1):
        pieces = split_list(text)
        parts = [None] if len(pieces) == 1 else range(1, len(pieces) + 1)
        found += [(row, part, piece) for part, piece in zip(parts, pieces, strict=True)]
    return found


def find_problems(texts: list[str], gates: PromptGates, reference: Iterable[str] = ()) -> list[PromptFinding]:
    """Every row of ``texts`` that fails a gate, in order; a repeat names the first row it repeats
    (or that it repeats a ``reference`` prompt), which may itself be a near repeat of another. A
    list on one line is a finding, and each of its prompts goes through the gates as a row of its own."""
    index = reference_index(reference)
    found = []
    for row, part, text in units(texts):
        if part == 1:
            pieces = len(split_list(texts[row - 1]))
            found.append(PromptFinding(row, texts[row - 1], "list", f"{pieces} prompts on one line"))
        label = f"row {row}" if part is None else f"row {row}, part {part}"
        problem = gates.problem(text)
        if problem is None and (repeat := index.check(text, label)):
            problem = repeat[0], f"{repeat[0]} of {repeat[1]}"
        if problem is not None:
            found.append(PromptFinding(row, text, *problem, part=part))
    return found
