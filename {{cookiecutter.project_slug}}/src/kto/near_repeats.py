"""Near repeats: two prompts that ask for the same thing in other characters.

A prompt is read as the multiset of its words, so that what two prompts share (their frame,
"Write a haiku about ... for children") cancels out and only the words that differ are judged:

- case, punctuation and spacing are left out (``gates.normalise``), and so is the order of words;
- greetings, polite requests and thanks at the start or the end (``polite_frames.yaml``) are left out;
- words are spaced words; in scripts written without spaces every Han ideograph is a word (one
  character is one word in Chinese and Japanese), a run of kana is a word, and every Thai (Lao,
  Khmer, Myanmar) letter or mark is its own unit, since without a dictionary no word can be told
  from a typo there (ป่า forest / ปลา fish differ by one letter); Japanese phrases that change
  places carry their particles along, so two prompts with the same letters are the same ask too;
- the words that differ must pair up as typos: one edit (a letter added, dropped, changed, or two
  swapped) within words of at least MIN_TYPO_LETTERS letters, in at most one word in three;
- a text with no letters or digits repeats nothing (its problem is another gate's);
- common typos that leave the letters alone are undone (Thai เเ for แ; Chinese 的/地/得, 在/再
  and 做/作, which an input method swaps); since Thai letters are compared without their order,
  two typed in the wrong order are the same.

Two prompts whose different words are anything else ask for different things: 雨 and 蝶 in the same
Japanese sentence, "zee" and "wind" in the same Dutch one. The search is exact: every word is indexed
under itself and the words one deletion from it, and a candidate must share a key with each word.
"""

import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

from rapidfuzz.distance import OSA

from kto.gates import normalise

FRAMES_FILE = Path(__file__).with_name("polite_frames.yaml")
# A word shorter than this is too often another word one letter away (cat / bat, sea / tea).
MIN_TYPO_LETTERS = 4
# Abjads (Arabic, Hebrew) leave short vowels unwritten: their words are shorter and denser, so a
# changed letter lands on another word more often (جبل / جمل, mountain / camel). Counted without
# the article ال and what is written onto it (والجبل, and the mountain; للأطفال, for the children).
MIN_ABJAD_TYPO_LETTERS = 5
ARABIC_ARTICLE = re.compile("^(?:[\u0648\u0641\u0628\u0643\u0644]?\u0627\u0644|\u0644\u0644)")
# A few typos: at most one word in this many differs (one in any prompt).
WORDS_PER_TYPO = 3
# The index intersects the postings of this many of a prompt's rarest words: more cost more sets
# to build than they save in comparisons.
RAREST_WORDS = 3
# Common typos that leave the letters alone: written as what they stand for.
SAME_LETTERS = str.maketrans({"地": "的", "得": "的", "再": "在", "作": "做"})
THAI_SARA_AE = ("\u0e40\u0e40", "\u0e41")  # เเ typed for แ


HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003ffff\u3005"
HIRAGANA = "\u3041-\u309f"
KATAKANA = "\u30a0-\u30ff\u31f0-\u31ff"
UNSPACED = "\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff"  # Thai, Lao, Myanmar, Khmer
NOT_SPACED = HAN + HIRAGANA + KATAKANA + UNSPACED
# A Han ideograph, a run of hiragana, a run of katakana, a letter of a script without spaces, or a
# spaced word.
WORD = re.compile(f"[{HAN}]|[{HIRAGANA}]+|[{KATAKANA}]+|[{UNSPACED}]|[^ {NOT_SPACED}]+")
ONE_LETTER_WORDS = re.compile(f"[{HAN}{UNSPACED}]")
IN_HIRAGANA = re.compile(f"[{HIRAGANA}]")


@cache
def _frame_patterns() -> tuple[re.Pattern, re.Pattern]:
    """The polite frames of every language, normalised, longest first, as a pattern that matches
    one at the start of a text and one that matches one at the end of the text reversed. A frame
    ending (or starting) in a spaced script's letter must stand as a whole word there."""
    import yaml

    data = yaml.safe_load(FRAMES_FILE.read_text(encoding="utf-8"))
    phrases = sorted({normalise(phrase) for listed in data.values() for phrase in listed} - {""}, key=len)
    phrases.reverse()

    def at_start(frames: list[str]) -> re.Pattern:
        whole = "|".join(re.escape(frame) for frame in frames if not re.match(f"[{NOT_SPACED}]", frame[-1]))
        loose = "|".join(re.escape(frame) for frame in frames if re.match(f"[{NOT_SPACED}]", frame[-1]))
        return re.compile(f"(?:{whole})(?: |$)|(?:{loose}) ?")

    return at_start(phrases), at_start([phrase[::-1] for phrase in phrases])


def strip_frame(text: str) -> str:
    """``text`` (normalised) without the polite frames at its start and end, as many as stand
    there; all of it when it is nothing but frames (then nothing is left to tell it from another)."""
    start, end = _frame_patterns()
    stripped = text
    while (found := start.match(stripped)) and found.end():
        stripped = stripped[found.end() :]
    reverse = stripped[::-1]
    while (found := end.match(reverse)) and found.end():
        reverse = reverse[found.end() :]
    return reverse[::-1] or text


Word = tuple[str, int]  # a word and which of its occurrences in the prompt (1, 2, ...)


@dataclass(frozen=True)
class Form:
    """What a prompt asks for, the frame and the typos of no letters left out: its words, as a
    multiset (a set of each word with its occurrence number); and its letters, the words with every
    hiragana its own (a run of hiragana glues particles to the word before it, and so changes when
    phrases change places), sorted."""

    words: frozenset[Word]
    letters: tuple[str, ...]


@lru_cache(maxsize=1 << 16)  # kto prompts generate runs every answer through the index
def form_of(text: str) -> Form:
    normalised = normalise(text).translate(SAME_LETTERS).replace(*THAI_SARA_AE)
    found = WORD.findall(strip_frame(normalised))
    seen: Counter[str] = Counter()
    words = set()
    for word in found:
        seen[word] += 1
        words.add((word, seen[word]))
    letters = [part for word in found for part in (word if IN_HIRAGANA.match(word) else [word])]
    return Form(frozenset(words), tuple(sorted(letters)))


@lru_cache(maxsize=1 << 16)
def typo_length(word: str) -> int:
    """How many letters count for a typo in ``word``: none in a script without spaces or in a
    single Han character, fewer in an abjad (see MIN_ABJAD_TYPO_LETTERS)."""
    if ONE_LETTER_WORDS.match(word):
        return 0
    if "\u0590" <= word[0] <= "\u06ff":
        return len(ARABIC_ARTICLE.sub("", word)) - (MIN_ABJAD_TYPO_LETTERS - MIN_TYPO_LETTERS)
    return len(word)


def typos(a: str, b: str) -> bool:
    """Whether two different words are one typo apart, both long enough for a typo (a letter
    dropped from a word of four leaves one of three: fog, frog)."""
    if min(typo_length(a), typo_length(b)) < MIN_TYPO_LETTERS:
        return False
    return OSA.distance(a, b, score_cutoff=1) <= 1


def _paired(only_a: list[Word], only_b: list[Word]) -> bool:
    """Whether every word of ``only_a`` can be paired with a word of ``only_b`` it is a typo of."""
    if not only_a:
        return True
    (first, _), rest = only_a[0], only_a[1:]
    return any(
        typos(first, word) and _paired(rest, only_b[:at] + only_b[at + 1 :])
        for at, (word, _) in enumerate(only_b)
    )


def near_forms(a: Form, b: Form) -> bool:
    if a.letters and a.letters == b.letters:
        return True
    if not a.words or len(a.words) != len(b.words):
        return False
    only_a = a.words - b.words
    if len(only_a) > max(1, len(a.words) // WORDS_PER_TYPO):
        return False
    return _paired(list(only_a), list(b.words - a.words))


def near(a: str, b: str) -> bool:
    """Whether two prompts are near repeats (or repeats) of each other: the rule, on two texts."""
    return near_forms(form_of(a), form_of(b))


@lru_cache(maxsize=1 << 16)
def keys(word: str) -> frozenset[str]:
    """The word and, when it is long enough for a typo, every word one deletion from it: two words
    one typo apart share one of these (an added letter is the other's deletion; a changed or
    swapped one leaves a deletion both share)."""
    if typo_length(word) < MIN_TYPO_LETTERS:
        return frozenset((word,))
    return frozenset((word, *(word[:at] + word[at + 1 :] for at in range(len(word)))))


class RepeatIndex:
    """The prompts seen so far, to tell whether another repeats one of them, exactly or nearly."""

    def __init__(self) -> None:
        self._exact: dict[str, str] = {}  # normalised -> the label of its first prompt
        self._forms: list[Form] = []
        self._labels: list[str] = []
        self._by_letters: dict[tuple[str, ...], int] = {}  # letters -> the first prompt with them
        # (number of words, key) -> the prompts (in the order added) that have a word with that key
        self._postings: dict[tuple[int, str], list[int]] = defaultdict(list)

    def find(self, text: str) -> tuple[str, str] | None:
        """("repeat" or "near repeat", the label of the first prompt it repeats), or None."""
        normalised = normalise(text)
        if not normalised:
            return None
        if normalised in self._exact:
            return "repeat", self._exact[normalised]
        form = form_of(text)
        first = self._by_letters.get(form.letters) if form.letters else None
        for entry in self._candidates(form):
            if first is not None and entry > first:
                break
            if near_forms(form, self._forms[entry]):
                return "near repeat", self._labels[entry]
        return None if first is None else ("near repeat", self._labels[first])

    def add(self, text: str, label: str) -> None:
        """Remember ``text`` under ``label``, which names no other prompt."""
        normalised = normalise(text)
        if not normalised or normalised in self._exact:
            return
        self._exact[normalised] = label
        form = form_of(text)
        entry = len(self._forms)
        self._forms.append(form)
        self._labels.append(label)
        self._by_letters.setdefault(form.letters, entry)
        count = len(form.words)
        for key in {key for word, _ in form.words for key in keys(word)}:
            self._postings[count, key].append(entry)

    def check(self, text: str, label: str) -> tuple[str, str] | None:
        """``find``, then ``add`` whatever it found: a prompt dropped as a near repeat is remembered
        too, so that a copy of it is dropped even when it is two typos from the prompt it repeats."""
        found = self.find(text)
        self.add(text, label)
        return found

    def _candidates(self, form: Form) -> list[int]:
        """Every prompt that could be near ``form``, in the order added: each has, for every word
        of ``form``, a word sharing a key with it. The rarest words' postings are intersected."""
        count = len(form.words)
        distinct = {word for word, _ in form.words}
        postings = [[self._postings.get((count, key), ()) for key in keys(word)] for word in distinct]
        postings.sort(key=lambda lists: sum(map(len, lists)))
        found: set[int] = set()
        for number, lists in enumerate(postings[:RAREST_WORDS]):
            entries = {entry for listed in lists for entry in listed}
            found = entries if not number else found & entries
            if not found:
                break
        return sorted(found)
