"""The fair pairwise rule and the win rate's interval, over every case hypothesis can think of."""

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kto import judging
from kto.judging import BASE, LOSS, TIE, TUNED, WIN

PREFERENCES = st.sampled_from([TUNED, BASE, None])
OUTCOMES = st.lists(st.sampled_from(judging.OUTCOMES), min_size=1, max_size=300)
SCRIPTS = ["", "EXTENDED ARABIC-INDIC", "ARABIC-INDIC", "DEVANAGARI", "BENGALI", "THAI", "FULLWIDTH"]
DIGITS = [
    unicodedata.lookup(f"{script} DIGIT {name}".strip()) for script in SCRIPTS for name in ("ONE", "TWO")
]
SWAP = {TUNED: BASE, BASE: TUNED, None: None}


@given(PREFERENCES, PREFERENCES)
def test_a_win_needs_both_orders_and_the_rule_is_symmetric(tuned_first, base_first):
    found = judging.outcome(tuned_first, base_first)
    assert (found == WIN) == (tuned_first == base_first == TUNED)
    assert (found == LOSS) == (tuned_first == base_first == BASE)
    swapped = judging.outcome(SWAP[tuned_first], SWAP[base_first])  # the same verdicts, roles exchanged
    assert swapped == {WIN: LOSS, LOSS: WIN, TIE: TIE}[found]


@given(st.sampled_from(DIGITS), st.text(alphabet=st.characters(categories=["L", "Zs", "P"]), max_size=20))
def test_a_judge_that_always_picks_one_position_gives_a_tie(answer, noise):
    """Whatever the script of its digit, and whatever words come around it."""
    said = f"{noise}{answer}{noise}"
    first, second = judging.preferred(said, tuned_first=True), judging.preferred(said, tuned_first=False)
    assert first != second and None not in (first, second)
    assert judging.outcome(first, second) == TIE


def test_the_judges_digit_decides_the_preferred_model():
    assert judging.preferred("1", tuned_first=True) == TUNED
    assert judging.preferred("Answer 2.", tuned_first=True) == BASE
    assert judging.preferred("\N{EXTENDED ARABIC-INDIC DIGIT TWO}", tuned_first=False) == TUNED
    assert judging.preferred("both are fine", tuned_first=True) is None
    assert judging.preferred("0 or 3", tuned_first=True) is None  # only 1 and 2 are answers
    assert judging.digit(None, (1, 2)) is None


@pytest.mark.parametrize(
    ("base_rejected", "tuned_rejected", "expected"),
    [(False, False, None), (False, True, LOSS), (True, False, WIN), (True, True, TIE)],
)
def test_an_answer_the_language_gate_rejects_loses_unjudged(base_rejected, tuned_rejected, expected):
    assert judging.gated(base_rejected, tuned_rejected) == expected


@settings(deadline=None)  # the first example imports numpy; the machine is shared
@given(OUTCOMES)
def test_the_interval_is_within_0_and_1_and_holds_the_win_rate(outcomes):
    rate = judging.win_rate(outcomes)
    low, high = judging.interval(outcomes, resamples=500)
    assert 0.0 <= low <= rate <= high <= 1.0
    assert rate == (outcomes.count(WIN) + outcomes.count(TIE) / 2) / len(outcomes)
    assert judging.interval(outcomes, resamples=500) == (low, high)  # seeded: reproducible


@settings(deadline=None)
@given(st.integers(min_value=1, max_value=500))
def test_all_ties_give_one_half_exactly(prompts):
    ties = [TIE] * prompts
    assert judging.win_rate(ties) == 0.5
    assert judging.interval(ties) == (0.5, 0.5)


@settings(deadline=None)
@given(OUTCOMES)
def test_the_interval_narrows_with_more_of_the_same_prompts(outcomes):
    low, high = judging.interval(outcomes, resamples=2000)
    wide_low, wide_high = judging.interval(outcomes * 16, resamples=2000)
    assert wide_high - wide_low <= high - low + 0.02  # up to resampling noise


def test_a_clear_result_excludes_one_half_and_a_coin_toss_does_not():
    low, _ = judging.interval([WIN] * 40 + [TIE] * 5 + [LOSS] * 5)
    assert low > 0.5
    low, high = judging.interval([WIN, LOSS] * 10)
    assert low < 0.5 < high
