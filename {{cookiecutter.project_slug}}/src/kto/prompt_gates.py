"""The gates a prompt passes before anyone answers it: not empty, not too long, in the language,
and not a repeat or a near repeat of another prompt.

``kto prompts generate`` runs every candidate through them, ``kto prompts check`` (:mod:`kto.prompt_checks`)
lists a team's own prompts that fail them, and ``kto generate`` warns in one line when its prompts would.
Repeats are found on the text with case, punctuation and spacing left out (``gates.normalise``);
near repeats, prompts that ask for the same thing in other words' order, with a typo or a polite
frame, by ``kto.near_repeats``.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from kto.config import ProjectConfig
from kto.gates import SAME_LANGUAGE, Gates, detect_language, detector, lingua_language
from kto.near_repeats import RepeatIndex

REASONS = ("empty", "too short", "too long", "wrong language", "repeat", "near repeat")
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
    found = detect_language(text, expected)
    if not found or found in {expected, *SAME_LANGUAGE.get(expected, ())}:
        return None
    chance = detector(expected).compute_language_confidence(text, lingua_language(expected))
    return found if chance < MIN_CONFIDENCE else None


@dataclass(frozen=True)
class PromptFinding:
    row: int  # 1-based, as an editor numbers a file's lines
    text: str
    reason: str
    detail: str


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
