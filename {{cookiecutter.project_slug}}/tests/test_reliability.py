"""The rater reliability model (kto.reliability) and the flags it feeds (kto.rater_quality):
checked against crowd-kit's Dawid-Skene and hand-computed figures, property-tested over random
pools of annotators, and measured on the campaign the defaults were chosen for."""

import json
import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kto import reliability
from kto.campaign_settings import Quality
from kto.rater_quality import assess

# How each kind of annotator rates an answer, given its truth and the judge's suggestion.
KINDS = {
    "careful": lambda truth, suggestion, rng: truth,
    "noisy": lambda truth, suggestion, rng: truth if rng.random() >= 0.1 else not truth,
    "up": lambda truth, suggestion, rng: True,
    "down": lambda truth, suggestion, rng: False,
    "opposite": lambda truth, suggestion, rng: not truth,
    "coin": lambda truth, suggestion, rng: rng.random() < 0.5,
    "judge": lambda truth, suggestion, rng: suggestion,
}


def campaign(
    kinds: list[str],
    records: int,
    *,
    seed: int = 0,
    share_up: float = 0.6,
    gold_every: int = 20,
    gold_labels: tuple[bool, ...] = (True, False),
    judge_right: float = 0.8,
    coverage: float = 1.0,
) -> list[dict]:
    """Ratings rows (kto.ratings' shape) of a campaign: one gold record per ``gold_every``, their
    labels in turn from ``gold_labels``; annotator n of kind k is named f"{k}{n}"."""
    rng = random.Random(seed)
    rows = []
    for number in range(records):
        gold = number % gold_every == gold_every // 2
        truth = gold_labels[number // gold_every % len(gold_labels)] if gold else rng.random() < share_up
        suggestion = truth if rng.random() < judge_right else not truth
        responses = [
            {"user": f"{kind}{n}", "value": "up" if KINDS[kind](truth, suggestion, rng) else "down"}
            | {"status": "submitted"}
            for n, kind in enumerate(kinds)
            if rng.random() < coverage
        ]
        rows.append(
            {
                "id": f"r{number}",
                "metadata": json.dumps({"gold": "up" if truth else "down"} if gold else {}),
                "responses": responses,
                "suggestion": {"value": "up" if suggestion else "down", "score": 1.0, "agent": "judge"},
            }
        )
    return rows


def flagged(rows: list[dict], quality: Quality | None = None) -> set[str]:
    return {user for user, rater in assess(rows, quality or Quality()).items() if rater.flagged}


def test_the_first_40_records_flag_the_careless_and_not_the_careful():
    """The defaults' target: at one gold record per twenty (2 in 40), an always-up and an
    always-opposite annotator are flagged, two careful ones with 10% noise are not."""
    kinds = ["up", "opposite", "noisy", "noisy"]
    for seed in range(30):
        for share_up in (0.3, 0.6, 0.8):
            rows = campaign(kinds, 40, seed=seed, share_up=share_up)
            assert flagged(rows) == {"up0", "opposite1"}, (seed, share_up)
    # Gold files in most languages start with bad answers only: the same holds.
    assert flagged(campaign(kinds, 40, gold_labels=(False,))) == {"up0", "opposite1"}


def test_the_careless_half_of_a_pool_cannot_swap_the_labels():
    """Two careful and two contrarians: the majority is a tie on every record; gold decides."""
    rows = campaign(["opposite", "careful", "opposite", "careful"], 40, seed=3)
    report = assess(rows, Quality())
    assert {user for user, rater in report.items() if rater.flagged} == {"opposite0", "opposite2"}
    assert report["careful1"].reliability > 0.9 > 0.1 > report["opposite0"].reliability


def test_an_annotator_who_follows_the_judge_where_it_is_wrong_is_flagged():
    rows = campaign(["judge", "noisy", "noisy"], 100, gold_every=10, judge_right=0.5, seed=1)
    report = assess(rows, Quality())
    follower = report["judge0"]
    assert follower.follows_judge == 1.0 and follower.traps_rated >= 3 and follower.traps_right == 0
    assert any("follows the judge where it is wrong" in reason for reason in follower.reasons)
    assert {user for user, rater in report.items() if rater.flagged} == {"judge0"}
    assert (
        0.3 < report["noisy1"].follows_judge < 0.7
    )  # a careful annotator follows a coin-flip judge half the time


@st.composite
def pools(draw) -> tuple[list[dict], set[str]]:
    """1 to 8 annotators, any share of them careless; 1 to 60 records rated by any share of the
    pool (one rating, ties); every truth from all bad to all good; gold or none."""
    kinds = draw(st.lists(st.sampled_from(sorted(KINDS)), min_size=1, max_size=8))
    rows = campaign(
        kinds,
        draw(st.integers(1, 60)),
        seed=draw(st.integers(0, 10**6)),
        share_up=draw(st.sampled_from([0.0, 0.3, 0.6, 1.0])),
        gold_every=draw(st.sampled_from([5, 20, 1000])),
        gold_labels=draw(st.sampled_from([(True, False), (False,), (True,)])),
        judge_right=draw(st.sampled_from([0.0, 0.5, 1.0])),
        coverage=draw(st.sampled_from([1.0, 0.5, 0.2])),
    )
    return rows, {f"careful{n}" for n, kind in enumerate(kinds) if kind == "careful"}


@settings(max_examples=150, deadline=None)
@given(pools(), st.sampled_from([0.5, 0.7, 0.9]), st.integers(1, 4))
def test_a_careful_annotator_is_never_flagged_because_of_the_others(pool, bar, least):
    rows, careful = pool
    quality = Quality(min_reliability=bar, min_gold_accuracy=bar, min_gold=least)
    assert not flagged(rows, quality) & careful


@settings(max_examples=100, deadline=None)
@given(pools())
def test_the_estimate_is_a_probability_everywhere(pool):
    rows, _ = pool
    from kto.rater_quality import estimate

    found = estimate(rows)
    assert all(0.0 <= value <= 1.0 for value in found.good.values())
    for skill in found.skills.values():
        assert 0.0 < skill.sensitivity < 1.0 and 0.0 < skill.specificity < 1.0
        assert skill.reliability <= skill.upper <= 1.0
        assert skill.good_seen >= 0 and skill.bad_seen >= 0


def test_the_figures_by_hand():
    """One annotator and four gold records: the skill is the gold record alone, with a
    Beta(1, 1) prior: sensitivity (2 + 1) / (2 + 2), specificity (1 + 1) / (2 + 2)."""
    ratings = [("g1", "a", True), ("g2", "a", True), ("b1", "a", True), ("b2", "a", False)]
    found = reliability.estimate(ratings, {"g1": True, "g2": True, "b1": False, "b2": False})
    skill = found.skills["a"]
    assert (skill.sensitivity, skill.specificity, skill.good_seen, skill.bad_seen) == (0.75, 0.5, 2, 2)
    assert skill.reliability == 0.625 and found.anchored
    # Nobody else rated the ordinary record: it is no evidence either way.
    alone = reliability.estimate([("r1", "a", False)], {})
    assert alone.skills["a"].bad_seen == alone.skills["a"].good_seen == 0 and not alone.anchored


def test_the_bound_is_the_beta_posterior_by_scipy():
    from scipy.stats import beta

    for right, rated in [(0, 2), (0, 3), (1, 3), (2, 5), (17, 20)]:
        posterior = beta(right + 1, rated - right + 1)
        assert reliability.upper_bound(right, rated) == pytest.approx(
            min(1.0, posterior.mean() + 1.645 * posterior.std()), abs=1e-12
        )


def test_the_fit_equals_crowd_kits_dawid_skene_with_gold(monkeypatch):
    """Without the priors, the model is plain Dawid-Skene with gold labels kept: crowd-kit's
    DawidSkene(true_labels=...) must find the same probabilities."""
    import pandas as pd
    from crowdkit.aggregation import DawidSkene

    rng = random.Random(0)
    truth = {f"r{n}": rng.random() < 0.6 for n in range(30)}
    noise = {"a": 0.15, "b": 0.2, "c": 0.3, "d": 0.25}
    ratings = [
        (record, rater, label if rng.random() >= p else not label)
        for record, label in truth.items()
        for rater, p in noise.items()
    ]
    gold = {record: truth[record] for record in ("r3", "r17")}
    monkeypatch.setattr(reliability, "FIT_PRIOR", (0.0, 0.0))
    monkeypatch.setattr(reliability, "SHARE_PRIOR", 0.0)
    monkeypatch.setattr(reliability, "MAX_ROUNDS", 20_000)
    ours = reliability.estimate(ratings, gold).good

    data = pd.DataFrame(ratings, columns=["task", "worker", "label"])
    # tol -inf: every round (its bound is not monotone with gold labels, so it would stop early).
    model = DawidSkene(n_iter=100, tol=-math.inf).fit(data, true_labels=pd.Series(gold))
    theirs = model.probas_[True]
    assert set(theirs.index) == set(ours)
    assert max(abs(ours[record] - theirs[record]) for record in ours) < 1e-6
