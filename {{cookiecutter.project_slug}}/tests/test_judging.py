"""The fair pairwise rule, the verdict's statistics (against scipy) and the judge's template, over
every case hypothesis can think of."""

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kto import judging
from kto.config import ModelSlot
from kto.judge import PAIR_CHOICES, Judge
from kto.judging import BASE, BETTER, LOSS, NO_DIFFERENCE, TIE, TOO_FEW, TUNED, WIN, WORSE

PREFERENCES = st.sampled_from([TUNED, BASE, None])
SLOT = ModelSlot(id="judge", backend="openai", base_url="http://127.0.0.1:1/v1")
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
    choice = Judge(SLOT, "{prompt}", PAIR_CHOICES).choice(f"{noise}{answer}{noise}")
    first, second = judging.preferred(choice, tuned_first=True), judging.preferred(choice, tuned_first=False)
    assert first != second and None not in (first, second)
    assert judging.outcome(first, second) == TIE


def test_the_judges_digit_decides_the_preferred_model():
    assert judging.preferred(1, tuned_first=True) == TUNED
    assert judging.preferred(2, tuned_first=True) == BASE
    assert judging.preferred(2, tuned_first=False) == TUNED
    assert judging.preferred(None, tuned_first=True) is None


@pytest.mark.parametrize(
    ("base_rejected", "tuned_rejected", "expected"),
    [(False, False, None), (False, True, LOSS), (True, False, WIN), (True, True, TIE)],
)
def test_an_answer_the_language_gate_rejects_loses_unjudged(base_rejected, tuned_rejected, expected):
    assert judging.gated(base_rejected, tuned_rejected) == expected


DECIDED = st.integers(min_value=0, max_value=400)


@settings(max_examples=150, deadline=None)  # the first example imports scipy
@given(DECIDED, DECIDED)
def test_the_sign_test_and_the_interval_match_scipy(wins, losses):
    """Against an independent implementation: scipy's exact binomial test and its Clopper-Pearson
    interval (the beta quantiles)."""
    stats = pytest.importorskip("scipy.stats")
    decided = wins + losses
    if not decided:
        assert judging.sign_test(0, 0) == 1.0
        return
    assert judging.sign_test(wins, losses) == pytest.approx(stats.binomtest(wins, decided).pvalue, rel=1e-9)
    low, high = judging.clopper_pearson(wins, decided)
    expected_low = stats.beta.ppf(0.025, wins, decided - wins + 1) if wins else 0.0
    expected_high = stats.beta.ppf(0.975, wins + 1, decided - wins) if losses else 1.0
    assert low == pytest.approx(expected_low, abs=1e-9) and high == pytest.approx(expected_high, abs=1e-9)


@settings(deadline=None)
@given(DECIDED, DECIDED, st.integers(min_value=6, max_value=60))
def test_a_verdict_needs_the_interval_and_the_test_and_enough_decided_prompts(wins, losses, least):
    found = judging.conclude(wins, losses, min_prompts=least)
    decided = wins + losses
    assert found.more_prompts == max(0, least - decided)
    if decided < least:
        assert found.verdict == TOO_FEW
    if found.verdict in (BETTER, WORSE):
        low, high = found.ci95
        assert found.p_value < 0.05 and not low <= 0.5 <= high
        assert (found.verdict == BETTER) == (wins > losses) == (low > 0.5)
    if decided:
        low, high = found.ci95
        assert 0.0 <= low <= found.win_rate <= high <= 1.0 and low < high  # never a point
        assert found.win_rate == wins / decided
    # Swapping the models swaps the verdict and mirrors the interval.
    mirrored = judging.conclude(losses, wins, min_prompts=least)
    assert mirrored.verdict == {BETTER: WORSE, WORSE: BETTER}.get(found.verdict, found.verdict)
    assert mirrored.p_value == found.p_value


@given(DECIDED, DECIDED)
def test_the_printed_interval_never_contradicts_the_verdict(wins, losses):
    found = judging.conclude(wins, losses, min_prompts=6)
    if found.ci95 is None:
        return
    low_text, high_text = (float(bound) for bound in judging.shown(found.ci95, found.verdict).split(" to "))
    assert low_text <= found.ci95[0] and found.ci95[1] <= high_text  # rounded outward
    if found.verdict == BETTER:
        assert low_text > 0.5
    if found.verdict == WORSE:
        assert high_text < 0.5


def test_seven_of_seven_is_too_few_and_forty_of_forty_is_better():
    seven = judging.conclude(7, 0, min_prompts=30)
    assert (seven.verdict, seven.more_prompts, seven.p_value) == (TOO_FEW, 23, 1 / 64)
    assert judging.shown(seven.ci95, seven.verdict) == "0.590 to 1.000"  # 0.025 ** (1 / 7), not a point
    forty = judging.conclude(40, 0, min_prompts=30)
    assert forty.verdict == BETTER and forty.p_value < 1e-11
    assert judging.shown(forty.ci95, forty.verdict) == "0.911 to 1.000"
    # The case: 9 wins and 20 losses (69 ties) is no verdict, and is not printed as 0.50.
    close = judging.conclude(9, 20, min_prompts=6)
    assert close.verdict == NO_DIFFERENCE and judging.shown(close.ci95, close.verdict) == "0.152 to 0.509"
    assert judging.shown((0.5004, 0.7), BETTER) == "0.5004 to 0.7000"  # more decimals, never "0.500"


FIELD_TEXT = st.text(alphabet=st.characters(exclude_characters="<>"))  # the markers stay unique


@given(
    FIELD_TEXT, FIELD_TEXT, FIELD_TEXT, st.sampled_from(["{prompt}", "{response}", "{first}", "{second}", ""])
)
def test_the_judge_fills_any_text_in_verbatim_exactly_once(prompt, answer, task, field_name):
    """Whatever a field holds (another field's name, braces), it comes back as it is, once: the
    template is filled in one pass, and its own other braces stay."""
    prompt, answer, task = (f"<{n}>{text}{field_name}</{n}>" for n, text in enumerate((prompt, answer, task)))
    template = "Task {instructions}. Request: {prompt} | 1: {first} | 2: {second} | own {braces}"
    found = Judge(SLOT, template, PAIR_CHOICES, {"instructions": task}).text(
        prompt=prompt, first=answer, second=field_name
    )
    assert found == f"Task {task}. Request: {prompt} | 1: {answer} | 2: {field_name} | own {{braces}}"
    assert found.count(prompt) == found.count(answer) == found.count(task) == 1


def test_the_judges_digit_is_one_of_its_choices_in_any_script():
    pairs = Judge(SLOT, "{prompt}", PAIR_CHOICES)
    assert pairs.choice("Answer 2.") == 2 and pairs.choice("0 or 3") is None and pairs.choice(None) is None
    assert pairs.choice("\N{EXTENDED ARABIC-INDIC DIGIT TWO}") == 2
    assert Judge(SLOT, "{prompt}", ("0", "1")).choice("2, no: 0") == 0
