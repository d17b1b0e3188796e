"""The gates a prompt passes before anyone answers it: not empty, not too long, in the language,
and not a repeat or a near repeat of another prompt.

``kto prompts generate`` runs every candidate through them, ``kto prompts check`` (:mod:`kto.prompt_checks`)
lists a team's own prompts that fail them, and ``kto generate`` warns in one line when its prompts would.
Repeats are found on the text with case, punctuation and spacing left out (``gates.normalise``).
Near repeats are searched with MinHash LSH (datasketch) on character 3-grams, not words, so that
Chinese, Japanese and Thai, written without spaces, work; each candidate the index returns is
then confirmed by counting the edits between the two texts, so that short prompts built on the
same frame ("a haiku about the sea" / "... the wind") are not taken for each other (rapidfuzz).
"""

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache, lru_cache

from kto.config import ProjectConfig
from kto.gates import SAME_LANGUAGE, Gates, detect_language, detector, lingua_language, normalise

REASONS = ("empty", "too short", "too long", "wrong language", "repeat", "near repeat")
SHINGLE = 3
NUM_PERM = 128
SCHEME = "affine32"  # datasketch 2's default hashing scheme, named as it asks when reusing permutations
# Low, for recall: a one-character change in a 15-character text leaves a 3-gram Jaccard of about
# 0.6, which this threshold finds with a probability above 0.9999; the edit count then decides.
LSH_THRESHOLD = 0.3
# A near repeat differs by at most one edit (a character added, removed or changed) per this many
# characters: below it, only exact repeats count (a one-character topic is a topic in Japanese).
CHARS_PER_EDIT = 15
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


def shingles(normalised: str) -> list[bytes]:
    """Character 3-grams; a text shorter than that is its own one shingle, never an empty set
    (an empty set gives every short text the same signature)."""
    if len(normalised) <= SHINGLE:
        return [normalised.encode()]
    return [normalised[i : i + SHINGLE].encode() for i in range(len(normalised) - SHINGLE + 1)]


def allowed_edits(text: str) -> int:
    return len(text) // CHARS_PER_EDIT


def near(a: str, b: str) -> bool:
    """Whether two normalised texts are near repeats: few edits (Levenshtein) for the longer's length."""
    from rapidfuzz.distance import Levenshtein

    limit = allowed_edits(max(a, b, key=len))
    return bool(limit) and Levenshtein.distance(a, b, score_cutoff=limit) <= limit


class RepeatIndex:
    """The prompts seen so far, to tell whether another repeats one of them, exactly or nearly."""

    def __init__(self) -> None:
        from datasketch import MinHashLSH

        self._exact: dict[str, str] = {}  # normalised -> the label of its first prompt
        self._normalised: dict[str, str] = {}  # label -> normalised
        self._lsh = MinHashLSH(threshold=LSH_THRESHOLD, num_perm=NUM_PERM)

    def find(self, text: str) -> tuple[str, str] | None:
        """("repeat" or "near repeat", the label of the prompt it repeats), or None."""
        mine = normalise(text)
        if mine in self._exact:
            return "repeat", self._exact[mine]
        # No text more than this many edits away can be near: a longer one allows a little more.
        cutoff = (len(mine) + len(mine) // (CHARS_PER_EDIT - 1)) // CHARS_PER_EDIT
        if not cutoff:
            return None
        from rapidfuzz import process
        from rapidfuzz.distance import Levenshtein

        labels = self._lsh.query(_minhash(mine))
        candidates = [self._normalised[label] for label in labels]
        for _, _, at in process.extract(
            mine, candidates, scorer=Levenshtein.distance, score_cutoff=cutoff, limit=None
        ):
            if near(mine, candidates[at]):
                return "near repeat", labels[at]
        return None

    def add(self, text: str, label: str) -> None:
        """Remember ``text`` under ``label``, which names no other prompt."""
        mine = normalise(text)
        if mine in self._exact:
            return
        self._exact[mine] = label
        self._normalised[label] = mine
        self._lsh.insert(label, _minhash(mine))


@cache
def _permutations():
    """Drawn once: drawing a MinHash's permutations costs more than hashing a prompt."""
    from datasketch import MinHash

    return MinHash(num_perm=NUM_PERM, scheme=SCHEME).permutations


@lru_cache(maxsize=1 << 16)  # kto prompts generate runs every answer through the index each round
def _minhash(normalised: str):
    from datasketch import MinHash

    signature = MinHash(num_perm=NUM_PERM, permutations=_permutations(), scheme=SCHEME)
    signature.update_batch(shingles(normalised))
    return signature


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
    (or that it repeats a ``reference`` prompt)."""
    index = reference_index(reference)
    found = []
    for row, text in enumerate(texts, start=1):
        problem = gates.problem(text)
        if problem is None and (repeat := index.find(text)):
            problem = repeat[0], f"{repeat[0]} of {repeat[1]}"
        if problem is None:
            index.add(text, f"row {row}")
        else:
            found.append(PromptFinding(row, text, *problem))
    return found
