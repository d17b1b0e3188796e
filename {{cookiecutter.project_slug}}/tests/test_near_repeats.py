"""Near repeats: the rule on the cases that matter, on the labelled corpus of eight languages
(tests/near_repeats.yaml), and the index against comparing every pair under the same rule."""

import random
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from near_repeat_corpus import KINDS, SCRIPTS, measure

from kto.gates import normalise
from kto.near_repeats import RepeatIndex, near
from kto.prompt_gates import PromptGates, find_problems

DISTINCT_ON_ONE_FRAME = [
    ("雨について俳句を書いてください。", "蝶について俳句を書いてください。"),
    ("为孩子们写一首关于雨的俳句。", "为孩子们写一首关于雪的俳句。"),
    ("Schrijf een haiku over de zee voor kinderen.", "Schrijf een haiku over de wind voor kinderen."),
    ("اكتب قصيدة هايكو عن البحر للأطفال.", "اكتب قصيدة هايكو عن المطر للأطفال."),
    ("اكتب هايكو عن الجبل.", "اكتب هايكو عن الجمل."),  # mountain, camel: one letter in an abjad
    ("เขียนไฮกุเกี่ยวกับป่า", "เขียนไฮกุเกี่ยวกับปลา"),  # forest, fish
    ("Write a haiku about a cat at night.", "Write a haiku about a bat at night."),
    ("Write a haiku about the sea.", "Write a haiku about the sea for children."),
    ("Andika haiku kuhusu bahari.", "Andika haiku kuhusu bahari na mvua."),
]
SAME_ASK = [
    ("Write a haiku about the lighthouse.", "Write a haiku about the lighthuose."),  # typo
    ("Write a haiku about the lighthouse.", "write a HAIKU about the lighthouse!!!"),  # punctuation, case
    ("Write a haiku about the sea at night.", "At night, write a haiku about the sea."),  # order
    ("Write a haiku about the sea.", "Could you please write a haiku about the sea? Thanks!"),
    ("Schreibe ein Haiku über das Meer.", "Bitte schreibe ein Haiku über das Meer."),
    ("雨について俳句を書いてください。", "すみません、俳句を雨について書いてください。お願いします。"),
    ("写一首关于雨的俳句。", "请写一首关于雨地俳句，谢谢！"),  # noqa: RUF001 (的 typed as 地, a polite frame)
    ("แต่งกลอนเกี่ยวกับแม่น้ำ", "ช่วยแต่งกลอนเกี่ยวกับเเม่น้ำหน่อยครับ"),  # เเ for แ, polite frame
    ("बच्चों के लिए समुद्र पर एक हाइकु लिखिए।", "कृपया समुद्र पर एक हाइकु लिखिए, बच्चों के लिए।"),
]


@pytest.mark.parametrize(("a", "b"), DISTINCT_ON_ONE_FRAME)
def test_prompts_that_ask_about_other_things_are_distinct_on_any_frame(a, b):
    assert not near(a, b) and not near(b, a)
    index = RepeatIndex()
    index.add(a, "a")
    assert index.find(b) is None


@pytest.mark.parametrize(("a", "b"), SAME_ASK)
def test_prompts_that_ask_for_the_same_thing_are_near_repeats(a, b):
    assert near(a, b) and near(b, a)
    index = RepeatIndex()
    index.add(a, "a")
    assert index.find(b) in {("near repeat", "a"), ("repeat", "a")}


def test_the_corpus_meets_the_goals_in_every_language_and_kind():
    """At least 95 % of the variants of every kind flagged as repeating their own original, at
    most 1 % of the distinct prompts flagged, in each of the eight languages, so in each of their
    six scripts (Latin, Han and kana, Han, Thai, Arabic, Devanagari)."""
    figures = measure()
    assert set(figures.distinct) == set(SCRIPTS)
    for language in SCRIPTS:
        assert figures.distinct_rate(language) <= 0.01, (language, figures.distinct[language])
        for kind in KINDS:
            assert figures.variant_rate(language, kind) >= 0.95, (
                language,
                kind,
                figures.variants[language, kind],
            )


def test_a_text_without_letters_repeats_nothing():
    index = RepeatIndex()
    index.add("🌸🌸🌸", "emoji")
    assert index.find("!!!!!!!!!!!!") is None and index.find("🌸🌸🌸") is None


def test_a_copy_of_a_dropped_near_repeat_is_dropped_too():
    """Row 3 is two typos in one word from row 1 (not near it) but one from row 2, itself dropped as
    a near repeat of row 1: row 3 is reported as a near repeat of row 2."""
    rows = [
        "Write a haiku about the lighthouse at dawn.",
        "Write a haiku about the lighthuose at dawn.",
        "Write a haiku about the lighthuost at dawn.",
    ]
    assert not near(rows[0], rows[2])
    found = [(f.row, f.reason, f.detail) for f in find_problems(rows, PromptGates(1, 300, None))]
    assert found == [(2, "near repeat", "near repeat of row 1"), (3, "near repeat", "near repeat of row 2")]


def test_an_unspaced_japanese_near_repeat_is_found():
    texts = [
        "古い池に蛙が飛び込む音について俳句を書いてください。",
        "古い池に蛙が飛び込む音について俳句を書いてくださいね。",
    ]
    [finding] = find_problems(texts, PromptGates(1, 300, "ja"))
    assert (finding.row, finding.reason) == (2, "near repeat")


# Words of several scripts, some one typo from another, polite frames, and one-letter words:
# prompts among which near repeats abound.
VOCABULARY = [
    *("write", "haiku", "hiaku", "haikus", "about", "the", "sea", "wind", "wnid", "lighthouse"),
    *("lighthuose", "cat", "bat", "please", "thanks", "zee", "zeeën", "schrijf", "een", "over", "de"),
    *("bitte", "雨", "蝶", "海", "について", "につい", "俳句", "を", "ください", "ทะเล", "ลม", "ป่า", "ปลา"),
    *("แม่", "เเม่", "البحر", "المطر", "الجبل", "الجمل", "हवा", "हव़ा", "बारिश", "बरिश"),
]
words = st.lists(st.sampled_from(VOCABULARY), min_size=1, max_size=7)
# Without the polite frames, which count only at a prompt's start or end.
FRAMELESS = [word for word in VOCABULARY if word not in {"please", "thanks", "bitte"}]
joined = st.builds(lambda parts, glue: glue.join(parts), words, st.sampled_from([" ", "", ", "]))
LETTERS = string.ascii_letters + "éüабвгαβあいう海山川雨กขคง" + " "
prompts = st.one_of(joined, st.text(alphabet=LETTERS, min_size=1, max_size=40))


def swapped(text: str, rng: random.Random) -> str:
    at = rng.randrange(max(1, len(text) - 1))
    return text[:at] + text[at + 1 : at + 2] + text[at : at + 1] + text[at + 2 :]


def changed(text: str, rng: random.Random) -> str:
    at = rng.randrange(len(text))
    return text[:at] + rng.choice(LETTERS) + text[at + 1 :]


# What people do to a prompt they send again: near repeats, or not (a letter changed in a short word).
EDITS = [
    lambda text, rng: " ".join(rng.sample(text.split(), len(text.split()))) or text,
    lambda text, rng: f"Please {text}, thanks!",
    lambda text, rng: text.upper() + "?",
    swapped,
    changed,
]


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.data())
def test_the_index_finds_what_comparing_every_pair_finds(data):
    """For each prompt in turn, the index gives what comparing it with every earlier one under the
    same rule gives: a repeat of the first with the same normalised text, else a near repeat of
    the first it is near, else nothing. Half the prompts are an earlier one edited."""
    index, seen = RepeatIndex(), []
    for number in range(data.draw(st.integers(2, 30))):
        if seen and data.draw(st.booleans()):
            edit, (_, earlier) = data.draw(st.sampled_from(EDITS)), data.draw(st.sampled_from(seen))
            text = edit(earlier, data.draw(st.randoms(use_true_random=False)))
        else:
            text = data.draw(prompts)
        same = [label for label, earlier in seen if normalise(earlier) == normalise(text)]
        close = [label for label, earlier in seen if near(text, earlier)]
        expected = ("repeat", same[0]) if same else ("near repeat", close[0]) if close else None
        assert index.check(text, str(number)) == expected, (text, seen)
        seen.append((str(number), text))


LONG_WORDS = st.text(alphabet=string.ascii_lowercase + "éüабвгдαβγ", min_size=4, max_size=10)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.lists(LONG_WORDS, min_size=3, max_size=12), st.data())
def test_one_typo_in_a_word_of_four_letters_or_more_is_always_caught(words, data):
    """In any word but the first and last (where a polite frame may stand), in any spaced script."""
    at = data.draw(st.integers(1, len(words) - 2))
    word, place = words[at], data.draw(st.integers(0, len(words[at]) - 1))
    letter = data.draw(st.sampled_from("abcdéжшλ"))
    edit = data.draw(st.sampled_from(["insert", "delete", "change", "swap"]))
    if edit == "delete" and len(word) == 4:
        edit = "insert"
    changed = {
        "insert": word[:place] + letter + word[place:],
        "delete": word[:place] + word[place + 1 :],
        "change": word[:place] + letter + word[place + 1 :],
        "swap": word[:place] + word[place + 1 : place + 2] + word[place] + word[place + 2 :],
    }[edit]
    typed = [*words[:at], changed, *words[at + 1 :]]
    assert near(" ".join(words), " ".join(typed))


@settings(max_examples=100, deadline=None, derandomize=True)
@given(st.lists(st.sampled_from(FRAMELESS), min_size=1, max_size=7), words, st.randoms(use_true_random=False))
def test_the_rule_is_symmetric_and_blind_to_word_order(a, b, rng: random.Random):
    first, second = " ".join(a), " ".join(b)
    assert near(first, second) == near(second, first)
    shuffled = a[:]
    rng.shuffle(shuffled)
    assert near(first, " ".join(shuffled))
