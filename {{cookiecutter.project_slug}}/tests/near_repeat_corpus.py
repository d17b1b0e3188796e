"""The labelled near-repeat corpus built from tests/near_repeats.yaml, and its figures: in
every language, distinct prompts that share frames, and a variant of each of them of every kind
(a typo or two, punctuation and case, the same words in another order, a polite frame added).

The variants are made here, not by kto: a typo is one edit (a letter added, dropped, changed, or
two swapped) that leaves a word of at least 4 letters at least 4 letters long (5 in Arabic, without
its article), where spaces part words; in Japanese within a run of kana; in Chinese a character an
input method swaps for its homophone (的/地/得); in Thai เเ typed for แ or two
letters typed in the wrong order (a changed Thai letter or mark is taken for another word: ป่า
forest, ปลา fish)."""

import itertools
import random
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

DATA = Path(__file__).with_name("near_repeats.yaml")
KINDS = ("typo", "punctuation and case", "reordered words", "polite frame")
SCRIPTS = {
    "nl": "Latin",
    "en": "Latin",
    "sw": "Latin",
    "ja": "Han and kana",
    "zh": "Han",
    "th": "Thai",
    "ar": "Arabic",
    "hi": "Devanagari",
}
SHORTEST_TYPO_WORD = {"ar": 5}  # letters, without the article (ال, وال, بال, لل ...); 4 in the others
ARTICLE = re.compile("^(?:[وفبكل]?ال|لل)")
HOMOPHONES = {"的": "地得", "在": "再", "做": "作"}
KANA = re.compile(r"[\u3041-\u309f]{4,}|[\u30a0-\u30ff]{4,}")
HAN = re.compile(r"[\u4e00-\u9fff]")
THAI = re.compile(r"[\u0e00-\u0e7f]")


@dataclass(frozen=True)
class Variant:
    language: str
    kind: str
    original: str
    text: str


@cache
def languages() -> dict:
    return yaml.safe_load(DATA.read_text(encoding="utf-8"))


def prompts(language: str, threes: bool = False) -> list[tuple[list[str], str]]:
    """(frame, topic) for every frame and topic, or every three topics joined by "and"."""
    data = languages()[language]
    topics = data["topics"]
    if threes:
        join = data["and"].format
        topics = [join(a=join(a=a, b=b), b=c) for a, b, c in itertools.combinations(topics, 3)]
    return [(frame, topic) for frame in data["frames"] for topic in topics]


def distinct(language: str) -> list[str]:
    return [frame[0].format(t=topic) for frame, topic in prompts(language)]


def variants(language: str, rng: random.Random) -> list[Variant]:
    return [
        variant for frame, topic in prompts(language) for variant in variants_of(language, frame, topic, rng)
    ]


def variants_of(language: str, frame: list[str], topic: str, rng: random.Random) -> list[Variant]:
    """A variant of every kind of the prompt ``frame`` makes of ``topic``."""
    original = frame[0].format(t=topic)
    wrapper = rng.choice(languages()[language]["polite"])
    texts = {
        "typo": typo(original, language, rng, 2 if rng.random() < 1 / 3 else 1),
        "punctuation and case": punctuation_and_case(original, rng),
        "reordered words": frame[1].format(t=topic),
        "polite frame": wrapper.format(p=original if wrapper.startswith("{p}") else lower_first(original)),
    }
    return [Variant(language, kind, original, text) for kind, text in texts.items()]


def lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def typo(text: str, language: str, rng: random.Random, count: int = 1) -> str:
    """``text`` with ``count`` typos (fewer when it has fewer words long enough), each in another
    word (or place, without spaces)."""
    done: set[int] = set()
    for _ in range(min(count, len(_typo_places(text, language)))):
        places = [(at, end) for at, end in _typo_places(text, language) if at not in done]
        at, end = rng.choice(places)
        changed = _edit(text[at:end], language, rng)
        text = text[:at] + changed + text[end:]
        done.add(at)
    return text


def _typo_places(text: str, language: str) -> list[tuple[int, int]]:
    if language == "zh":
        return [(m.start(), m.end()) for m in HAN.finditer(text) if m.group() in HOMOPHONES]
    if language == "th":
        return [(m.start(), m.end() + 1) for m in THAI.finditer(text) if THAI.match(text, m.end())]
    if language == "ja":
        return [(m.start(), m.end()) for m in KANA.finditer(text)]
    shortest = SHORTEST_TYPO_WORD.get(language, 4)
    return [
        (m.start(), m.end())
        for m in re.finditer(r"[^\s\d,.!?:;،؟।\"]+", text)
        if len(ARTICLE.sub("", m.group())) >= shortest
    ]


def _edit(word: str, language: str, rng: random.Random) -> str:
    if language == "zh":
        return rng.choice(HOMOPHONES[word])
    if language == "th":
        return "เเ" + word[1:] if word[0] == "แ" and rng.random() < 0.5 else word[::-1]
    shortest = SHORTEST_TYPO_WORD.get(language, 4)
    while True:
        at = rng.randrange(len(word))
        letter = rng.choice(ARTICLE.sub("", word))
        edit = rng.choice(["insert", "delete", "change", "swap"])
        if edit == "insert":
            changed = word[:at] + letter + word[at:]
        elif edit == "delete":
            changed = word[:at] + word[at + 1 :]
        elif edit == "change":
            changed = word[:at] + letter + word[at + 1 :]
        else:
            at = min(at, len(word) - 2)
            changed = word[:at] + word[at + 1] + word[at] + word[at + 2 :]
        if changed.casefold() != word.casefold() and len(ARTICLE.sub("", changed)) >= shortest:
            return changed


def punctuation_and_case(text: str, rng: random.Random) -> str:
    changes = [
        str.upper,
        str.lower,
        lambda t: t.rstrip(".?!।\u3002\uff1f\uff01"),
        lambda t: t + "!!",
        lambda t: f"«{t}»",
        lambda t: t.replace(" ", "  ").replace(",", " -").replace("\u3001", " ").replace("\uff0c", ","),
        lambda t: t.replace("\u3002", ".").replace("\uff1f", "?") + " ...",
    ]
    for change in rng.sample(changes, 2):
        text = change(text)
    return text


@dataclass
class Figures:
    """Per language: distinct prompts flagged, and variants of each kind flagged as a repeat of
    their own original, as (flagged, total)."""

    distinct: dict[str, list[int]]
    variants: dict[tuple[str, str], list[int]]

    def distinct_rate(self, language: str) -> float:
        flagged, total = self.distinct[language]
        return flagged / total

    def variant_rate(self, language: str, kind: str) -> float:
        flagged, total = self.variants[language, kind]
        return flagged / total


def measure(seed: int = 0) -> Figures:
    """All languages' distinct prompts through one index in a shuffled order, then every variant
    looked up in it."""
    from kto.near_repeats import RepeatIndex

    rng = random.Random(seed)
    every = [(language, text) for language in SCRIPTS for text in distinct(language)]
    rng.shuffle(every)
    index, figures = RepeatIndex(), Figures({}, {})
    for language, text in every:
        counts = figures.distinct.setdefault(language, [0, 0])
        counts[0] += index.check(text, text) is not None
        counts[1] += 1
    for language in SCRIPTS:
        for variant in variants(language, rng):
            counts = figures.variants.setdefault((language, variant.kind), [0, 0])
            counts[0] += (index.find(variant.text) or ("", ""))[1] == variant.original
            counts[1] += 1
    return figures


def mixed(count: int, seed: int = 0) -> list[tuple[str, int]]:
    """``count`` prompts in all eight languages, three topics each, one in ten a variant of
    another (of any kind), shuffled: (text, the number of the prompt it is or is a variant of)."""
    rng = random.Random(seed)
    every = [(language, *prompt) for language in SCRIPTS for prompt in prompts(language, threes=True)]
    chosen = rng.sample(every, count - count // 10)
    texts = [(frame[0].format(t=topic), number) for number, (_, frame, topic) in enumerate(chosen)]
    for number in rng.sample(range(len(chosen)), count // 10):
        language, frame, topic = chosen[number]
        texts.append((rng.choice(variants_of(language, frame, topic, rng)).text, number))
    rng.shuffle(texts)
    return texts
