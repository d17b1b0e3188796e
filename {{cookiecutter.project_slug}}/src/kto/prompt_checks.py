"""The gates a prompt passes before anyone answers it: not empty, words and not only emoji or
digits, valid text, not a list of prompts on one line, not too long, in the language, and not a
repeat or a near repeat of another prompt.

``kto prompts generate`` runs every candidate through them, ``kto prompts check`` lists a team's
own prompts that fail them, and ``kto generate`` warns in one line when its prompts would.
Repeats are found on the text with case, punctuation and spacing left out (``checks.normalise``).
Near repeats are searched with MinHash LSH (datasketch) on character 3-grams, not words, so that
Chinese, Japanese and Thai, written without spaces, work; each candidate the index returns is
then confirmed by counting the edits between the two texts, so that short prompts built on the
same frame ("a haiku about the sea" / "... the wind") are not taken for each other (rapidfuzz).
"""

import hashlib
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path

from kto import checks
from kto.config import ModelSlot, ProjectConfig
from kto.errors import KtoError
from kto.files import write_lines

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
    text = checks.without_names(text)
    found = checks.detect_language(text, expected)
    if not found or found in {expected, *checks.SAME_LANGUAGE.get(expected, ())}:
        return None
    chance = checks.detector(expected).compute_language_confidence(text, checks.lingua_language(expected))
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
        mine = checks.normalise(text)
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
        mine = checks.normalise(text)
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


@dataclass
class PromptCheckReport:
    source: str
    rows: int
    findings: list[PromptFinding]
    fixed: Path | None = None  # the cleaned copy --fix wrote
    kept: int = 0  # the prompts in it
    counts: dict[str, int] = field(default_factory=dict)  # reason -> rows
    read_as: str | None = None  # the encoding, when the file is not UTF-8 and it was guessed
    bad_lines: tuple[int, ...] = ()  # the file's lines with bytes that are not UTF-8

    def summary(self) -> str:
        return ", ".join(f"{count} {reason}" for reason, count in self.counts.items() if count)


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
    (or that it repeats a ``reference`` prompt). A list on one line is a finding, and each of its
    prompts goes through the gates as a row of its own."""
    index = reference_index(reference)
    found = []
    for row, part, text in units(texts):
        if part == 1:
            pieces = len(split_list(texts[row - 1]))
            found.append(PromptFinding(row, texts[row - 1], "list", f"{pieces} prompts on one line"))
        label = f"row {row}" if part is None else f"row {row}, part {part}"
        problem = gates.problem(text)
        if problem is None and (repeat := index.find(text)):
            problem = repeat[0], f"{repeat[0]} of {repeat[1]}"
        if problem is None:
            index.add(text, label)
        else:
            found.append(PromptFinding(row, text, *problem, part=part))
    return found


def check(config: ProjectConfig, source: str | None = None, *, fix: bool = False) -> PromptCheckReport:
    """``kto prompts check``: the problems of a prompts file (default ``prompts.source``);
    ``fix`` writes its prompts without them next to it, as ``<name>.clean.jsonl``, a list on one
    line split into its prompts."""
    from kto.prompts import decode_file, read_texts, source_file

    source = source or config.prompts.source
    language = config.language.code
    # As kto generate reads them: without the spaces around.
    texts = [text.strip() for text in read_texts(source, config.prompts.column, config.root, language)]
    findings = find_problems(texts, PromptGates.from_config(config, min_chars=1))
    report = PromptCheckReport(source, len(texts), findings, counts=_counts(findings))
    path = source_file(source, config.root)
    if path is not None and path.suffix.lower() != ".parquet":
        decoded = decode_file(path, language)
        report.read_as, report.bad_lines = decoded.guessed, decoded.bad_lines
    if fix:
        path = path or config.path("prompts") / Path(source).name
        bad = {(finding.row, finding.part) for finding in findings if finding.reason != "list"}
        clean = [text for row, part, text in units(texts) if (row, part) not in bad]
        report.fixed, report.kept = path.with_name(f"{path.stem}.clean.jsonl"), len(clean)
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
    write_lines(path, (json.dumps({column: text}, ensure_ascii=False) for text in prompts))


def _counts(findings: list[PromptFinding]) -> dict[str, int]:
    counts = dict.fromkeys(REASONS, 0)
    for finding in findings:
        counts[finding.reason] += 1
    return counts
