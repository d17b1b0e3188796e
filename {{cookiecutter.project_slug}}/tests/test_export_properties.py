"""The export's statistics and charts against every rating pattern a campaign can produce:
property-based tests over random ratings (hypothesis), and the named patterns besides."""

import json
import math
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kto.campaign_settings import Quality
from kto.errors import KtoError
from kto.export import OUTCOMES, Policy, aggregate, wilson
from kto.labels import DOWN, UP
from kto.plots import export_charts
from kto.rater_quality import assess

USERS = [f"a{n}" for n in range(1, 7)]
POLICIES = [Policy("majority", 2), Policy("unanimous", 2), Policy("min-votes", 1), Policy("majority", 3)]


def row(number: int, responses: list[dict], gold: str | None = None, model: str | None = None) -> dict:
    return {
        "id": f"r{number}",
        "prompt": f"P{number % 4}",
        "completion": f"answer {number}",
        "model": "gold" if gold else model or f"m{number % 3}",
        "prompt_id": f"P{number % 4}",
        "language": "xx",
        "metadata": json.dumps({"gold": gold} if gold else {}),
        "status": "completed" if len(responses) >= 2 else "pending",
        "responses": responses,
        "suggestion": None,
    }


def rated(user: str, value: str, status: str = "submitted") -> dict:
    return {"user": user, "value": value, "status": status, "comment": None, "updated_at": None}


@st.composite
def campaigns(draw) -> list[dict]:
    users = draw(st.lists(st.sampled_from(USERS), min_size=1, max_size=len(USERS), unique=True))
    rows = []
    for number in range(draw(st.integers(1, 40))):
        raters = draw(st.lists(st.sampled_from(users), unique=True, max_size=len(users)))
        responses = [
            rated(
                user,
                draw(st.sampled_from([UP, DOWN])),
                draw(st.sampled_from(["submitted", "submitted", "submitted", "discarded", "draft"])),
            )
            for user in raters
        ]
        rows.append(row(number, responses, draw(st.sampled_from([None, None, None, UP, DOWN]))))
    return rows


qualities = st.builds(
    Quality,
    min_gold_accuracy=st.sampled_from([0.0, 0.7, 1.0]),
    min_gold=st.integers(1, 6),
    max_same_label=st.sampled_from([None, 0.5, 0.95, 1.0]),
    min_reliability=st.sampled_from([0.0, 0.7, 1.0]),
)


def submitted_by(row: dict, users: set[str]) -> int:
    return sum(
        1
        for r in row["responses"]
        if r["status"] == "submitted" and r["value"] in (UP, DOWN) and r["user"] in users
    )


def check_export(rows: list[dict], policy: Policy, quality: Quality, keep_flagged: bool):
    """Every property an export must have; returns it (None: nothing submitted, refused)."""
    if not any(r["status"] == "submitted" for item in rows for r in item["responses"]):
        with pytest.raises(KtoError):
            aggregate(rows, policy, quality=quality)
        return None
    result = aggregate(rows, policy, quality=quality, keep_flagged=keep_flagged)
    counts = result.reconciliation
    assert sum(counts[name] for name in OUTCOMES) == counts["total"] == len(rows)
    golden = {item["completion"] for item in rows if item["model"] == "gold"}
    assert counts["gold"] == len(golden)
    raters = assess(rows, quality)
    flagged = {user for user, rater in raters.items() if rater.flagged}
    counted = set(USERS) if keep_flagged else set(USERS) - flagged
    by_completion = {item["completion"]: item for item in rows}
    for kto_row in result.datasets["kto"]:
        assert kto_row["completion"] not in golden  # gold never reaches the data
        assert kto_row["num_ratings"] == kto_row["votes_up"] + kto_row["votes_down"]
        assert kto_row["num_ratings"] == submitted_by(by_completion[kto_row["completion"]], counted)
        assert kto_row["label"] == (kto_row["votes_up"] > kto_row["votes_down"])
        share = (kto_row["votes_up"] if kto_row["label"] else kto_row["votes_down"]) / kto_row["num_ratings"]
        assert kto_row["agreement"] == share and share > 0.5
    for pair in result.datasets["dpo"]:
        assert not {pair["chosen"], pair["rejected"]} & golden
    stats = result.statistics
    json.dumps(stats, allow_nan=False)
    for model in stats["models"].values():
        low, high = model["ci95"]
        assert 0.0 <= low <= model["rate"] <= high <= 1.0
    left = stats["left_out"]
    assert left["annotators"] == (0 if keep_flagged else len(flagged))
    assert left["ratings"] == (0 if keep_flagged else sum(raters[user].submitted for user in flagged))
    assert set(stats["annotators"]) == set(raters)
    return result


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 5000), st.integers(1, 5000))
def test_the_wilson_interval_holds_the_share_and_stays_in_0_1(successes, total):
    successes = min(successes, total)
    low, high = wilson(successes, total)
    assert 0.0 <= low <= successes / total <= high <= 1.0
    assert math.isfinite(low) and math.isfinite(high)


def test_an_all_up_or_all_down_model_was_the_crash():
    """kto export stopped with "'xerr' must not contain negative values": the upper bound of an
    all-up model (6 of 6) rounded to just below its share of 1.0, the lower bound of an all-down
    one (0 of 11) to just above 0."""
    assert wilson(6, 6)[1] == 1.0 and wilson(0, 11)[0] == 0.0
    assert wilson(1, 1)[1] == 1.0 and wilson(0, 7)[0] == 0.0
    assert all(wilson(n, n)[1] == 1.0 for n in range(1, 500))


@settings(max_examples=150, deadline=None)
@given(campaigns(), st.sampled_from(POLICIES), qualities, st.booleans())
def test_every_export_of_random_ratings_is_consistent(rows, policy, quality, keep_flagged):
    check_export(rows, policy, quality, keep_flagged)


@settings(max_examples=200, deadline=None)
@given(campaigns(), qualities)
def test_the_figures_of_each_annotator_are_consistent(rows, quality):
    for rater in assess(rows, quality).values():
        assert 0 <= rater.gold_right <= rater.gold_rated <= rater.submitted
        assert 0 <= rater.traps_right <= rater.traps_rated <= rater.gold_rated
        assert 0 <= rater.followed <= rater.suggested <= rater.submitted
        assert rater.top_label_share is not None and 0.5 <= rater.top_label_share <= 1.0
        assert rater.reliability is not None and 0.0 <= rater.reliability <= 1.0
        assert rater.flagged == bool(rater.reasons) == bool(rater.as_dict()["reasons"])
        if rater.gold_accuracy == 1.0:  # gold vouches: nothing but max_same_label flags them
            assert all("max_same_label" in reason for reason in rater.reasons)
        if rater.submitted < 20:
            assert not any("max_same_label" in reason for reason in rater.reasons)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(campaigns(), st.sampled_from(POLICIES), st.booleans())
def test_the_charts_draw_whatever_the_ratings(rows, policy, keep_flagged):
    """...and the chart of annotators draws exactly the ratings the export counted, no name."""
    from kto import plots

    result = check_export(rows, policy, Quality(), keep_flagged=keep_flagged)
    if result is not None:
        drawn = []
        real = plots.annotators_chart
        with tempfile.TemporaryDirectory() as folder, pytest.MonkeyPatch.context() as patch:
            patch.setattr(
                plots,
                "annotators_chart",
                lambda counted, *rest: drawn.append(counted) or real(counted, *rest),
            )
            export_charts(result.statistics, Path(folder))
            assert (Path(folder) / "approval.png").read_bytes().startswith(b"\x89PNG")
            assert (Path(folder) / "annotators.png").read_bytes().startswith(b"\x89PNG")
        counted = {
            user
            for user, figures in result.statistics["annotators"].items()
            if keep_flagged or not figures["flagged"]
        }
        (bars,) = drawn
        assert sorted(map(sum, bars)) == sorted(
            sum(
                1
                for row in rows
                for r in row["responses"]
                if r["user"] == user and r["status"] == "submitted" and r["value"] in (UP, DOWN)
            )
            for user in counted
        )


def pattern(votes: list[list[str]], users: list[str] | None = None) -> list[dict]:
    """Records with the given votes, by annotators a1, a2... in turn."""
    users = users or USERS
    return [
        row(number, [rated(users[index % len(users)], value) for index, value in enumerate(values)])
        for number, values in enumerate(votes)
    ]


PATTERNS = {
    "one rating": pattern([[UP]]),
    "all up": pattern([[UP, UP]] * 5),
    "all down": pattern([[DOWN, DOWN, DOWN]] * 4),
    "ties": pattern([[UP, DOWN]] * 6),
    "one annotator": pattern([[UP], [DOWN], [UP]] * 10, users=["a1"]),
    "one model all up": [row(n, [rated("a1", UP), rated("a2", UP)], model="m") for n in range(3)],
    "many": pattern([[UP, DOWN, UP][: 1 + n % 3] for n in range(600)]),
}


@pytest.mark.parametrize("name", list(PATTERNS))
@pytest.mark.parametrize("policy", POLICIES, ids=str)
def test_the_named_patterns_export_and_draw(name, policy, tmp_path):
    result = check_export(PATTERNS[name], policy, Quality(), keep_flagged=False)
    export_charts(result.statistics, tmp_path)
    assert (tmp_path / "approval.png").read_bytes().startswith(b"\x89PNG")
