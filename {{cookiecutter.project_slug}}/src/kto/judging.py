"""Judges and their verdicts: the judge's slot and token budget, a judge's digit, the fair pairwise
rule, the win rate.

Every pair of answers is judged twice, once in each order, because judges favour a position
(FastChat's MT-Bench does the same): the tuned model *wins* a prompt only when the judge prefers
its answer in both orders, *loses* when the judge prefers the base's in both, and the prompt is a
*tie* otherwise. A judge that always picks the first answer therefore gives only ties.
"""

import unicodedata
from collections.abc import Iterable, Sequence

from kto import local_model
from kto.config import ModelSlot, ProjectConfig

WIN, TIE, LOSS = "win", "tie", "loss"
OUTCOMES = (WIN, TIE, LOSS)
TUNED, BASE = "tuned", "base"
# 95 % percentile intervals from this many resamples of the prompts, with a fixed seed: the same
# outcomes always give the same interval.
RESAMPLES = 4000
SEED = 22
# The judge answers with one digit; a few tokens leave room for a server's chat formatting.
JUDGE_MAX_NEW_TOKENS = 4
CHOICES = ("0", "1")  # the embedded judge is held to them; a server's is asked in the prompt


def judge_slot(config: ProjectConfig, local: bool) -> ModelSlot:
    """suggest.judge, or with ``local`` the embedded judge at its temperature."""
    judge = config.suggest.judge
    if local:
        return ModelSlot(id=local_model.JUDGE_ID, backend="local", temperature=judge.temperature)
    return judge


def digit(answer: str | None, allowed: Iterable[int]) -> int | None:
    """The first of the ``allowed`` digits in the answer, in any script: judges asked in Persian,
    Hindi or Thai often answer with their own digits (Persian one is U+06F1), or full-width ones."""
    wanted = set(allowed)
    return next(
        (value for char in answer or "" if (value := unicodedata.decimal(char, None)) in wanted), None
    )


def preferred(answer: str | None, tuned_first: bool) -> str | None:
    """Which model the judge prefers (TUNED or BASE) in one order; None: no 1 or 2 in its answer."""
    found = digit(answer, (1, 2))
    if found is None:
        return None
    return TUNED if (found == 1) == tuned_first else BASE


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


def win_rate(outcomes: Sequence[str]) -> float:
    """(wins + ties / 2) / prompts."""
    if not outcomes:
        raise ValueError("no outcomes")
    return (outcomes.count(WIN) + outcomes.count(TIE) / 2) / len(outcomes)


def interval(
    outcomes: Sequence[str], *, resamples: int = RESAMPLES, seed: int = SEED, level: float = 0.95
) -> tuple[float, float]:
    """The percentile bootstrap interval of the win rate, resampling prompts with replacement.

    A resample of n prompts is a multinomial draw of (wins, ties, losses), so the cost does not grow
    with n. The interval always holds the win rate itself (percentiles of a skewed resample
    distribution could, rarely, fall on one side of it).
    """
    import numpy as np

    rate = win_rate(outcomes)
    total = len(outcomes)
    shares = [outcomes.count(name) / total for name in OUTCOMES]
    counts = np.random.default_rng(seed).multinomial(total, shares, size=resamples)
    rates = (counts[:, 0] + counts[:, 1] / 2) / total
    low, high = np.quantile(rates, [(1 - level) / 2, (1 + level) / 2])
    return (float(min(low, rate)), float(max(high, rate)))
