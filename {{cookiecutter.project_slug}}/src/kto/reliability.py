"""How reliable each annotator is, estimated from everyone's ratings at once and anchored by gold.

A two-coin Dawid-Skene model (Dawid and Skene, 1979): every record has a hidden true label, and
each annotator says "up" to a good answer with their own sensitivity and "down" to a bad one with
their own specificity. EM alternates between the records' labels (each annotator's rating weighed
by their estimated skill, so a careless crowd cannot outvote a careful few) and the annotators'
skills (measured against those labels). Gold records keep their known label throughout: they fix
which way round the labels are, so a pool that is half contrarians cannot swap them.

Each skill has a Beta prior (pseudo-ratings right and wrong), which also gives its uncertainty:
few ratings, a wide interval.
EM starts twice, from the majority vote and from its opposite (gold kept), and the start that
explains the ratings better wins. Each annotator is then measured against the gold labels and
what the others say, weighed by how sure they are (judged_by_others).

Pure numpy; tests check the fit against crowd-kit's DawidSkene (with ``true_labels``), which kto
does not use itself: it gives point estimates without their uncertainty, has no prior to orient
the labels, and brings pandas, scikit-learn and nltk for a model of two labels.
"""

import math
from dataclasses import dataclass

import numpy as np

# Every skill's prior while fitting: pseudo-ratings right and wrong, mildly in favour of skill, as
# most people who rate try to rate well: of two ways round the labels, the one that makes most
# annotators careful wins unless the gold records say otherwise.
FIT_PRIOR = (2.0, 1.0)
# ...and when measuring each annotator at the end: neutral, so no figure is lifted by hope.
PRIOR = (1.0, 1.0)
# Pseudo-records each way in the prior of the share of good answers.
SHARE_PRIOR = 1.0
# One-sided 95%: an annotator is flagged only when even this optimistic bound is below the bar.
Z = 1.645
MAX_ROUNDS = 500
TOLERANCE = 1e-9


@dataclass(frozen=True)
class Skill:
    """An annotator's estimated sensitivity (up to good answers), specificity (down to bad ones)
    and the weight of evidence behind each (records the model believes good, and bad)."""

    sensitivity: float
    specificity: float
    good_seen: float
    bad_seen: float

    @property
    def reliability(self) -> float:
        """Balanced accuracy: the mean of both, 0.5 for a rater who ignores the answer (always up,
        coin flips), 0 for one who always says the opposite, 1 for a perfect one."""
        return (self.sensitivity + self.specificity) / 2

    @property
    def upper(self) -> float:
        """The optimistic end of the estimate (one-sided 95%)."""
        spread = beta_variance(self.sensitivity, self.good_seen) + beta_variance(
            self.specificity, self.bad_seen
        )
        return min(1.0, self.reliability + Z * math.sqrt(spread) / 2)


@dataclass(frozen=True)
class Estimate:
    skills: dict[str, Skill]
    good: dict[str, float]  # each record's probability of being a good answer
    anchored: bool  # some gold record was rated: the skills have a known orientation


def beta_variance(mean: float, seen: float) -> float:
    """The variance of the skill's posterior Beta, with ``seen`` (weighted) ratings behind it."""
    return mean * (1 - mean) / (seen + sum(PRIOR) + 1)


def share_right(right, seen, prior: tuple[float, float] = PRIOR):
    """The posterior mean of a skill, ``right`` of ``seen`` (weighted) ratings."""
    return (right + prior[0]) / (seen + sum(prior))


def upper_bound(right: int, rated: int) -> float:
    """The optimistic end (one-sided 95%) of a share right, ``right`` of ``rated``, with the same
    prior as the skills."""
    mean = share_right(right, rated)
    return min(1.0, mean + Z * math.sqrt(beta_variance(mean, rated)))


def estimate(ratings: list[tuple[str, str, bool]], gold: dict[str, bool]) -> Estimate:
    """``ratings``: (record, annotator, said up); ``gold``: the known label of gold records."""
    if not ratings:
        return Estimate({}, {}, anchored=False)
    records = sorted({record for record, _, _ in ratings})
    raters = sorted({rater for _, rater, _ in ratings})
    model = _Model(
        _codes([record for record, _, _ in ratings], records),
        _codes([rater for _, rater, _ in ratings], raters),
        np.array([float(up) for _, _, up in ratings]),
        np.array([float(gold[r]) if r in gold else np.nan for r in records]),
        len(raters),
    )
    good = max((model.fit(start) for start in model.starts()), key=lambda fitted: fitted[1])[0]
    sens, spec, good_seen, bad_seen = model.judged_by_others(*model.skills(good)[:2])
    skills = {
        rater: Skill(float(sens[n]), float(spec[n]), float(good_seen[n]), float(bad_seen[n]))
        for n, rater in enumerate(raters)
    }
    return Estimate(skills, dict(zip(records, map(float, good), strict=True)), bool(model.known.any()))


def _codes(values: list[str], names: list[str]) -> np.ndarray:
    """Each value's place in ``names``."""
    index = {name: n for n, name in enumerate(names)}
    return np.array([index[value] for value in values])


class _Model:
    """The ratings as arrays: record and rater of each, and whether it said up."""

    def __init__(self, record: np.ndarray, rater: np.ndarray, up: np.ndarray, gold: np.ndarray, raters: int):
        self.record, self.rater, self.up, self.raters = record, rater, up, raters
        self.gold = gold  # the known label (1 good, 0 bad), NaN for ordinary records
        self.known = ~np.isnan(gold)

    def clamp(self, good: np.ndarray) -> np.ndarray:
        return np.where(self.known, self.gold, good)

    def starts(self) -> list[np.ndarray]:
        """The majority vote (ties: undecided) and its opposite, gold kept in both."""
        ups = np.bincount(self.record, self.up, len(self.gold))
        votes = np.bincount(self.record, minlength=len(self.gold))
        vote = np.sign(2 * ups - votes) / 2 + 0.5
        return [self.clamp(vote), self.clamp(1 - vote)]

    def skills(self, good: np.ndarray) -> tuple[np.ndarray, ...]:
        """The M step: each rater's sensitivity and specificity, and the evidence behind them."""
        return self.measured(good[self.record], 1 - good[self.record], FIT_PRIOR)

    def measured(self, good: np.ndarray, bad: np.ndarray, prior=PRIOR) -> tuple[np.ndarray, ...]:
        """Each rater's sensitivity and specificity, each rating weighed by the belief (``good``,
        ``bad``) that its record is good or bad; and the weight behind each."""
        good_seen = np.bincount(self.rater, good, self.raters)
        bad_seen = np.bincount(self.rater, bad, self.raters)
        said_up = np.bincount(self.rater, good * self.up, self.raters)
        said_down = np.bincount(self.rater, bad * (1 - self.up), self.raters)
        sens, spec = share_right(said_up, good_seen, prior), share_right(said_down, bad_seen, prior)
        return sens, spec, good_seen, bad_seen

    def judged_by_others(self, sens: np.ndarray, spec: np.ndarray) -> tuple[np.ndarray, ...]:
        """Each rater measured against the gold labels and what the OTHER raters, weighed by their
        skill, say of each record, counted only as far as they are sure: a record the others leave
        in doubt (or nobody else rated) is no evidence, so nobody is judged by careless company or
        by their own ratings."""
        up_says, down_says = np.log(sens / (1 - spec)), np.log((1 - sens) / spec)
        said = np.where(self.up == 1, up_says[self.rater], down_says[self.rater])
        others = np.bincount(self.record, said, len(self.gold))[self.record] - said
        good = 1 / (1 + np.exp(-np.clip(others, -700, 700)))
        good = np.where(self.known[self.record], self.gold[self.record], good)
        sure = np.abs(2 * good - 1)
        return self.measured(sure * (good > 0.5), sure * (good < 0.5))

    def fit(self, good: np.ndarray) -> tuple[np.ndarray, float]:
        """EM from ``good``: the records' probabilities of being good, and the log posterior."""
        score = -math.inf
        for _ in range(MAX_ROUNDS):
            sens, spec, *_ = self.skills(good)
            share = (good.sum() + SHARE_PRIOR) / (len(good) + 2 * SHARE_PRIOR)
            sens_of, spec_of = sens[self.rater], spec[self.rater]
            if_good = math.log(share) + np.bincount(
                self.record, np.log(np.where(self.up == 1, sens_of, 1 - sens_of)), len(good)
            )
            if_bad = math.log(1 - share) + np.bincount(
                self.record, np.log(np.where(self.up == 1, 1 - spec_of, spec_of)), len(good)
            )
            updated = self.clamp(1 / (1 + np.exp(np.clip(if_bad - if_good, -700, 700))))
            evidence = np.where(
                self.known, np.where(self.gold == 1, if_good, if_bad), np.logaddexp(if_good, if_bad)
            )
            skill = np.concatenate([sens, spec])
            right, wrong = FIT_PRIOR
            prior = right * np.log(skill).sum() + wrong * np.log(1 - skill).sum()
            prior += SHARE_PRIOR * math.log(share * (1 - share))
            score = float(evidence.sum() + prior)
            converged = np.max(np.abs(updated - good)) < TOLERANCE
            good = updated
            if converged:
                break
        return good, score
