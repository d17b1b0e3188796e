"""Judges' verdicts and what they add up to: the fair pairwise rule, then what the outcomes support.

Every pair of answers is judged twice, once in each order, because judges favour a position
(FastChat's MT-Bench does the same): the tuned model *wins* a prompt only when the judge prefers
its answer in both orders, *loses* when the judge prefers the base's in both, and the prompt is a
*tie* otherwise. A judge that always picks the first answer therefore gives only ties.

Ties say nothing about which model is better, so the verdict rests on the decided prompts: an
exact sign test of wins against losses and the exact interval of the win rate (wins among wins
and losses). A verdict needs both to exclude 1/2, and ``eval.min_prompts`` decided prompts.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass

WIN, TIE, LOSS = "win", "tie", "loss"
OUTCOMES = (WIN, TIE, LOSS)
TUNED, BASE = "tuned", "base"
BETTER, WORSE, NO_DIFFERENCE, TOO_FEW = "better", "worse", "no difference shown", "too few prompts"
METHOD = (
    "exact two-sided sign test of wins against losses, and the Clopper-Pearson 95% interval of the "
    "share of wins among them (ties left out)"
)


@dataclass(frozen=True)
class Conclusion:
    """What the outcomes support: ``verdict`` is one of BETTER, WORSE, NO_DIFFERENCE, TOO_FEW."""

    verdict: str
    win_rate: float | None  # wins / (wins + losses); None: no prompt decided
    ci95: tuple[float, float] | None
    p_value: float
    more_prompts: int  # decided prompts still missing for a verdict (eval.min_prompts)


@dataclass
class Pair:
    """One prompt of ``kto eval``, the record every later step reads: both answers, the language
    gate's findings, the judge's answer in each order, the preference read from each, and the
    outcome. Its fields are the columns of pairs.parquet."""

    prompt: str
    base: str | None
    tuned: str | None
    base_rejected: bool  # by kto check's language gate: the answer loses unjudged
    tuned_rejected: bool
    judge_tuned_first: str | None = None  # the judge's answer with the tuned model's answer first
    judge_base_first: str | None = None
    prefers_tuned_first: str | None = None  # TUNED / BASE; None: no digit, or not asked
    prefers_base_first: str | None = None
    outcome: str | None = None  # WIN / TIE / LOSS for the tuned model; None: not judged yet

    def __post_init__(self) -> None:
        self.outcome = self.outcome or gated(self.base_rejected, self.tuned_rejected)

    @property
    def needs_judge(self) -> bool:
        return gated(self.base_rejected, self.tuned_rejected) is None

    def judged(self, tuned_first: str | None, base_first: str | None, choice: Callable) -> None:
        """The judge's answers in each order, read by ``choice`` (its digit: 1 or 2, or None); the
        outcome stays None while a request failed (the next run asks again)."""
        self.judge_tuned_first, self.judge_base_first = tuned_first, base_first
        self.prefers_tuned_first = preferred(choice(tuned_first), tuned_first=True)
        self.prefers_base_first = preferred(choice(base_first), tuned_first=False)
        if tuned_first is not None and base_first is not None:
            self.outcome = outcome(self.prefers_tuned_first, self.prefers_base_first)


def preferred(choice: int | None, tuned_first: bool) -> str | None:
    """Which model the judge prefers (TUNED or BASE) by its digit in one order; None: no digit."""
    if choice is None:
        return None
    return TUNED if (choice == 1) == tuned_first else BASE


def outcome(tuned_first: str | None, base_first: str | None) -> str:
    """The prompt's outcome for the tuned model, from the judge's preference in each order."""
    if tuned_first == base_first == TUNED:
        return WIN
    if tuned_first == base_first == BASE:
        return LOSS
    return TIE


def gated(base_rejected: bool, tuned_rejected: bool) -> str | None:
    """The outcome when the language gate rejects an answer (it loses unjudged; both: a tie);
    None when both pass and the judge decides."""
    if base_rejected and tuned_rejected:
        return TIE
    if tuned_rejected:
        return LOSS
    if base_rejected:
        return WIN
    return None


def conclude(wins: int, losses: int, *, min_prompts: int, level: float = 0.95) -> Conclusion:
    """What the decided prompts support. Ties are left out: they say nothing about which model is
    better, so the test and the interval are about the share of wins among wins and losses."""
    decided = wins + losses
    rate = wins / decided if decided else None
    interval = clopper_pearson(wins, decided, level) if decided else None
    p_value = sign_test(wins, losses)
    if decided < min_prompts:
        found = TOO_FEW
    elif interval is not None and p_value < 1 - level and not interval[0] <= 0.5 <= interval[1]:
        found = BETTER if wins > losses else WORSE
    else:
        found = NO_DIFFERENCE
    return Conclusion(found, rate, interval, p_value, max(0, min_prompts - decided))


def sign_test(wins: int, losses: int) -> float:
    """The exact two-sided sign test of wins against losses (a binomial test of 1/2): twice the
    smaller tail, in whole numbers until the last division."""
    decided = wins + losses
    tail = sum(math.comb(decided, k) for k in range(min(wins, losses) + 1))
    return min(1.0, 2 * tail / 2**decided)


def clopper_pearson(successes: int, total: int, level: float = 0.95) -> tuple[float, float]:
    """The exact (Clopper-Pearson) interval of a binomial share: never a point, even at 0 or
    ``total`` successes (7 of 7 gives 0.590 to 1), and it excludes 1/2 exactly when the sign test
    gives p < 1 - ``level``. Each bound is where the binomial tail equals half the missing level."""
    if total < 1 or not 0 <= successes <= total:
        raise ValueError(f"{successes} successes of {total}")
    alpha = (1 - level) / 2
    log_comb = [
        math.lgamma(total + 1) - math.lgamma(k + 1) - math.lgamma(total - k + 1) for k in range(total + 1)
    ]

    def lower_tail(last: int, p: float) -> float:
        """P(X <= last) for X ~ Binomial(total, p), 0 < p < 1, summed from logs (no underflow)."""
        log_p, log_q = math.log(p), math.log1p(-p)
        return math.fsum(math.exp(log_comb[k] + k * log_p + (total - k) * log_q) for k in range(last + 1))

    # The lower bound: P(X >= successes) = alpha; the upper: P(X <= successes) = alpha.
    low = 0.0 if successes == 0 else _root(lambda p: 1.0 - lower_tail(successes - 1, p) - alpha)
    high = 1.0 if successes == total else _root(lambda p: alpha - lower_tail(successes, p))
    return (low, high)


def _root(rising: Callable[[float], float]) -> float:
    """Where an increasing function of p in (0, 1) crosses 0, by bisection to 1e-12."""
    low, high = 0.0, 1.0
    while high - low > 1e-12:
        middle = (low + high) / 2
        low, high = (middle, high) if rising(middle) < 0 else (low, middle)
    return (low + high) / 2


def shown(interval: tuple[float, float], verdict: str) -> str:
    """The interval to three decimals, rounded outward (it never looks narrower than it is), with
    more decimals where three would make an interval that excludes 1/2 seem to touch it."""
    low, high = interval
    for decimals in range(3, 10):
        scale = 10**decimals
        low_text, high_text = math.floor(low * scale) / scale, math.ceil(high * scale) / scale
        if verdict not in (BETTER, WORSE) or not low_text <= 0.5 <= high_text:
            break
    return f"{low_text:.{decimals}f} to {high_text:.{decimals}f}"
