"""Quality gates before people rate: checks on each response, and what the project's gates do.

Each check is a pure function of one response: its prompt, the system prompt, the model, the
text and the other models' texts for the same prompt. What a finding leads to is the check's gate
in project.yaml (``checks:``): ``drop`` (never logged), ``flag`` (logged, named in the record's
``flags`` metadata) or ``off`` (not checked). Dropped responses stay in the generations file.
``kto annotate``, ``kto check``, the export's statistics, the prompt checks and eval use them.
"""

import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache, lru_cache

from kto import local_model
from kto.config import ProjectConfig
from kto.errors import KtoError

# The languages kto-template ships: detection chooses among them (and the project's own), which
# keeps near neighbours no project asked for (Malay for Indonesian) out of the answers.
SHIPPED_LANGUAGES = (
    *("ar", "bn", "cs", "de", "el", "en", "es", "fa", "fr", "he", "hi", "id", "it"),
    *("ja", "ko", "nl", "pl", "pt", "ru", "sw", "th", "tr", "uk", "vi", "zh"),
)
# lingua cannot tell these apart on short texts; one counts as the other.
SAME_LANGUAGE = {"id": {"ms"}, "ms": {"id"}}
# Too few letters to tell a language by ("OK", "5 7 5"): no language finding.
MIN_LETTERS = 10
# Languages whose hyphenation points (pyphen's dictionaries) fall on syllable boundaries. English
# dictionaries leave many syllables unsplit (every, ago), French counts its mute e by the verse,
# Thai writes no spaces between words: no estimate there, nor in languages pyphen lacks.
HYPHENATED_SYLLABLES = frozenset({"cs", "de", "el", "es", "id", "it", "nl", "pl", "pt", "ru", "uk"})
# One Han character is one syllable: Chinese is counted exactly. Japanese is not: a kanji's
# reading needs a dictionary, so Japanese gets no estimate.
COUNTED_BY_CHARACTER = frozenset({"zh"})
HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
HAIKU_LINES = 3
# Japanese and Chinese haiku are also written on one line: in three parts split by spaces, or,
# as the tradition prints them, unbroken (古池や蛙飛び込む水の音) and short.
ONE_LINE_HAIKU = frozenset({"ja", "zh"})
MAX_UNBROKEN_HAIKU = 25
# A haiku line longer than this is prose that happens to have line breaks.
MAX_HAIKU_LINE = 60
# A prompt or a line of the system prompt shorter than this (normalised) is too common to call an
# echo: a haiku on "De zee" may well say "de zee".
MIN_ECHO = 15


@dataclass(frozen=True)
class Gates:
    actions: Mapping[str, str]  # check -> drop | flag | off
    max_chars: int
    # The ISO 639-1 code responses should be in (None: unknown to lingua, not checked); the form
    # and syllable rules follow it even when the language gate is off.
    language: str | None
    haiku: bool
    system_prompt: str

    @classmethod
    def from_config(cls, config: ProjectConfig) -> "Gates":
        settings = config.checks
        if unknown := sorted(set(settings.model_extra or {}) - set(CHECKS)):
            raise KtoError(f"checks.{unknown[0]}", f"no such check; the checks are {', '.join(CHECKS)}")
        # A check project.yaml does not name (one added since it was made) flags what it finds.
        actions = {name: getattr(settings, name, "flag") for name in CHECKS}
        code: str | None = settings.expected_language or config.language.code
        if lingua_language(code) is None:
            if settings.expected_language and actions["language"] != "off":
                raise KtoError(
                    "checks.expected_language",
                    f"{code!r} is not an ISO 639-1 code lingua knows: use one, or set checks.language: off",
                )
            code = None  # 'other' before the team names its language: the check is skipped
        return cls(actions, settings.max_chars, code, config.task.name == "haiku", config.task.system_prompt)

    def applied(self) -> dict:
        """The gates as the card and statistics.json describe them."""
        return {
            "gates": dict(self.actions),
            "max_chars": self.max_chars,
            "expected_language": self.language,
            "form": "a haiku in three lines" if self.haiku else None,
        }


@dataclass(frozen=True)
class ResponseVerdict:
    prompt: str
    model: str
    text: str
    language: str | None  # detected
    lines: int
    syllables: str | None  # an estimate per line, "5-7-5"
    findings: dict[str, str]  # check -> what it found
    dropped_by: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()

    def metadata(self) -> dict:
        """What annotators and coordinators can filter on (nothing here names the model)."""
        values = {
            "detected_language": self.language,
            "lines": self.lines,
            "syllables": self.syllables,
            "flags": list(self.flags) or None,
        }
        return {key: value for key, value in values.items() if value is not None}


@cache
def lingua_language(code: str | None):
    from lingua import IsoCode639_1, Language

    iso = getattr(IsoCode639_1, (code or "").upper(), None) if re.fullmatch(r"[a-z]{2}", code or "") else None
    return Language.from_iso_code_639_1(iso) if iso is not None else None


@cache
def detector(expected: str):
    """Built once per process. Its models load on first use, only for the languages a text's
    script allows (a Dutch text never loads Arabic's): seconds, then fast."""
    from lingua import LanguageDetectorBuilder

    languages = {lingua_language(code) for code in (*SHIPPED_LANGUAGES, expected)}
    return LanguageDetectorBuilder.from_languages(*languages).build()


@lru_cache(maxsize=1 << 16)  # the language check and the record's metadata both ask
def detect_language(text: str, expected: str) -> str | None:
    """The ISO 639-1 code of ``text``'s language, None when there is too little text to tell."""
    if sum(character.isalpha() for character in text) < MIN_LETTERS:
        return None
    found = detector(expected).detect_language_of(text)
    return found.iso_code_639_1.name.lower() if found else None


def without_names(text: str) -> str:
    """``text`` without the capitalised words inside its sentences: names ("Wie was Matsuo
    Basho?"), which say nothing of the language a prompt is in, and of which a short prompt may be
    mostly made. Left for the rest to decide, and too little left means no finding; a German noun
    goes too, which leaves German prompts less to be told by, never more to be mistaken for."""
    words = text.split()
    kept = [
        word
        for at, word in enumerate(words)
        if at == 0
        or not next((c for c in word if c.isalpha()), "").isupper()
        or words[at - 1].endswith((".", "!", "?", ":"))
    ]
    return " ".join(kept)


def language_finding(text: str, expected: str) -> tuple[str | None, str | None]:
    """(the detected language, what is wrong with it: None when it is the expected one or when
    there is too little text to tell)."""
    detected = detect_language(text, expected)
    accepted = {expected, *SAME_LANGUAGE.get(expected, ())}
    return detected, (f"{detected}, {expected} expected" if detected and detected not in accepted else None)


@lru_cache(maxsize=1 << 16)  # each answer is compared with the other models' answers to its prompt
def normalise(text: str) -> str:
    """Case, punctuation and spacing left out: what two copies of the same text share."""
    text = unicodedata.normalize("NFKC", text).casefold()
    kept = "".join(ch if unicodedata.category(ch)[0] in "LNM" else " " for ch in text)
    return " ".join(kept.split())


def lines_of(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


@cache
def hyphenator(language: str):
    import pyphen

    # Split as far as the patterns allow: a syllable of one letter (a-gua) is still a syllable.
    return pyphen.Pyphen(lang=language, left=1, right=1)


def syllables(line: str, language: str | None) -> int | None:
    if language in COUNTED_BY_CHARACTER:
        return len(HAN.findall(line))
    if language not in HYPHENATED_SYLLABLES:
        return None
    return sum(word_syllables(word, language) for word in re.findall(r"[^\W\d_]+", line))


@lru_cache(maxsize=1 << 16)
def word_syllables(word: str, language: str) -> int:
    return len(hyphenator(language).positions(word)) + 1


@lru_cache(maxsize=1 << 16)  # the form check and the record's metadata both ask
def haiku_form(text: str, language: str | None) -> tuple[str | None, str | None]:
    """(what is wrong with the form, or None; the syllable estimate per line, or None)."""
    lines = lines_of(text)
    if language in ONE_LINE_HAIKU and len(lines) == 1:
        unbroken = lines[0]
        lines = re.split(r"[\s\u3000]+", unbroken)
        if len(lines) == 1:
            too_long = len(unbroken) > MAX_UNBROKEN_HAIKU
            problem = f"one line of {len(unbroken)} characters" if too_long else None
        else:
            problem = None if len(lines) == HAIKU_LINES else f"one line in {len(lines)} parts, 3 expected"
    elif len(lines) != HAIKU_LINES:
        problem = f"{len(lines)} line{'s' * (len(lines) != 1)}, 3 expected"
    else:
        longest = max(len(line) for line in lines)
        problem = f"a line of {longest} characters" if longest > MAX_HAIKU_LINE else None
    counts = [syllables(line, language) for line in lines]
    estimate = "-".join(map(str, counts)) if problem is None and None not in counts else None
    return problem, estimate


def echo(text: str, prompt: str, system_prompt: str) -> str | None:
    said = normalise(text)
    if len(asked := normalise(prompt)) >= MIN_ECHO and asked in said:
        return "repeats the prompt"
    if any(told in said for told in instructions(system_prompt)):
        return "repeats the system prompt"
    return None


@cache
def instructions(system_prompt: str) -> tuple[str, ...]:
    """The system prompt's lines and sentences, normalised, long enough to tell an echo."""
    parts = (normalise(part) for part in re.split(r"\n|(?<=[.!?\u3002\uff01\uff1f])\s*", system_prompt))
    return tuple(part for part in parts if len(part) >= MIN_ECHO)


@dataclass(frozen=True)
class Answer:
    prompt: str
    model: str
    text: str
    others: tuple[str | None, ...]  # the other models' answers to the prompt


def empty(answer: Answer, gates: Gates) -> str | None:
    return None if answer.text.strip() else "no text"


def wrong_language(answer: Answer, gates: Gates) -> str | None:
    return language_finding(answer.text, gates.language)[1] if gates.language else None


def wrong_form(answer: Answer, gates: Gates) -> str | None:
    return haiku_form(answer.text, gates.language)[0] if gates.haiku else None


def too_long(answer: Answer, gates: Gates) -> str | None:
    over = len(answer.text) > gates.max_chars
    return f"{len(answer.text)} characters, limit {gates.max_chars}" if over else None


def duplicate(answer: Answer, gates: Gates) -> str | None:
    mine = normalise(answer.text)
    same = any(other and normalise(other) == mine for other in answer.others)
    return "the same as another model's answer" if same else None


# Each check, in the order findings are listed, and what it finds in an answer (None: nothing).
# Its gate is checks.<name> in project.yaml; a check added here needs nothing else.
CHECKS: dict[str, Callable[[Answer, Gates], str | None]] = {
    "empty": empty,
    "language": wrong_language,
    "form": wrong_form,
    "length": too_long,
    "echo": lambda answer, gates: echo(answer.text, answer.prompt, gates.system_prompt),
    "duplicate": duplicate,
}


def check_response(
    prompt: str, model: str, text: str | None, others: Iterable[str | None], gates: Gates
) -> ResponseVerdict:
    """One response through every check that is not off, and its gates; an empty response has
    nothing but its emptiness to check."""
    answer = Answer(prompt, model, text or "", tuple(others))
    filled = bool(answer.text.strip())
    active = {name: find for name, find in CHECKS.items() if gates.actions[name] != "off"}
    findings = {
        name: found
        for name, find in active.items()
        if (filled or name == "empty") and (found := find(answer, gates))
    }
    language = gates.language if filled and "language" in active else None
    detected = language_finding(answer.text, language)[0] if language else None
    estimate = haiku_form(answer.text, gates.language)[1] if filled and gates.haiku else None
    # The embedded test model's answers (kto generate --local) are poor by design, and a dry run
    # must still end with records to rate: they are flagged, never dropped. But an empty answer
    # has nothing to rate, whoever wrote it.
    droppable = {"empty"} if local_model.is_local(model) else set(findings)
    dropped = tuple(name for name in findings if gates.actions[name] == "drop" and name in droppable)
    flags = tuple(name for name in findings if name not in dropped)
    lines = len(lines_of(answer.text))
    return ResponseVerdict(prompt, model, answer.text, detected, lines, estimate, findings, dropped, flags)


def check_rows(rows: list[dict], gates: Gates) -> list[ResponseVerdict]:
    """Every response in generations rows (the seed's format); failed calls (gaps) are skipped."""
    verdicts = []
    for row in rows:
        texts = row["generations"]
        raws = row.get("raw_generation_responses") or texts
        for index, (model, text) in enumerate(zip(row["generation_model"], texts, strict=True)):
            if raws[index] is None and text is None:
                continue  # the call failed: kto generate fills it, there is nothing to check
            others = texts[:index] + texts[index + 1 :]
            verdicts.append(check_response(row["input"], model, text, others, gates))
    return verdicts


@dataclass
class GateTally:
    responses: int = 0
    dropped: int = 0
    flagged: int = 0
    checks: Counter = field(default_factory=Counter)  # findings, whatever their gate did
    dropped_by: Counter = field(default_factory=Counter)

    def as_dict(self) -> dict:
        return {
            "responses": self.responses,
            "dropped": self.dropped,
            "flagged": self.flagged,
            "checks": {name: self.checks[name] for name in CHECKS},
            "dropped_by": {name: self.dropped_by[name] for name in CHECKS},
        }


def tally(verdicts: list[ResponseVerdict]) -> dict[str, GateTally]:
    """Per model: responses, how many were dropped and flagged, and the findings of each check."""
    per_model: dict[str, GateTally] = defaultdict(GateTally)
    for verdict in verdicts:
        counts = per_model[verdict.model]
        counts.responses += 1
        counts.dropped += bool(verdict.dropped_by)
        counts.flagged += bool(verdict.flags) and not verdict.dropped_by
        counts.checks.update(verdict.findings.keys())
        counts.dropped_by.update(verdict.dropped_by)
    return dict(sorted(per_model.items()))


@dataclass(frozen=True)
class CheckReport:
    gates: Gates
    verdicts: list[ResponseVerdict]
    per_model: dict[str, GateTally]

    @property
    def dropped(self) -> int:
        return sum(counts.dropped for counts in self.per_model.values())


def run(config: ProjectConfig, rows: list[dict]) -> CheckReport:
    gates = Gates.from_config(config)
    verdicts = check_rows(rows, gates)
    return CheckReport(gates, verdicts, tally(verdicts))


def statistics(config: ProjectConfig) -> dict:
    """The gates in project.yaml and their counts per model over the generations file, where
    dropped responses are kept ("models" is None without it: an export from a backup alone)."""
    from kto.responses import read_generations

    path = config.path(config.generation.output)
    if not path.exists():
        return Gates.from_config(config).applied() | {"models": None}
    report = run(config, read_generations(path))
    return report.gates.applied() | {
        "models": {model: counts.as_dict() for model, counts in report.per_model.items()}
    }
