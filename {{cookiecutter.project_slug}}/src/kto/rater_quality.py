"""Per-annotator quality, from the ratings alone: who rates with care, and who does not.

An open campaign lets anyone rate; a few click the same button on everything, rate without
reading, rate against the truth on purpose, or accept whatever the judge suggested. For each
annotator: their submitted ratings; the gold records (kto.gold) they rated and the share right;
the same on the gold records where the judge's suggestion is wrong (there, accepting the
suggestion is the wrong answer); the share of their ratings equal to the judge's suggestion; and
their reliability, estimated by a gold-anchored Dawid-Skene model (kto.reliability) that weighs
every annotator by their own skill, so careless company cannot drag a careful rater down.

The bounds in project.yaml (``quality:``) flag an annotator, with the reasons; ``kto export``
leaves flagged annotators' ratings out. Every bound is checked against the optimistic end of its
figure (one-sided 95%), so a few unlucky ratings flag nobody. Pure functions over the rows
``kto.ratings`` gives.
"""

from collections import Counter
from dataclasses import dataclass

from kto import reliability
from kto.campaign_settings import Quality
from kto.gold import label_of
from kto.labels import DOWN, UP

# One label on nearly everything says little in a handful of ratings: judged from this many.
MIN_RATINGS_FOR_SAME_LABEL = 20


@dataclass(frozen=True)
class RaterReport:
    """One annotator's figures, and why they are flagged (no reason: not flagged)."""

    submitted: int  # submitted ratings with a value
    gold_rated: int
    gold_right: int
    traps_rated: int  # gold records whose suggestion (kto suggest) is wrong
    traps_right: int  # ... rated right, against the suggestion
    suggested: int  # their ratings of records with a suggestion
    followed: int  # ... equal to it
    reliability: float | None  # estimated balanced accuracy (kto.reliability)
    reliability_upper: float | None  # its optimistic end
    top_label_share: float | None  # the share of their most frequent label
    reasons: tuple[str, ...] = ()

    @property
    def gold_accuracy(self) -> float | None:
        return self.gold_right / self.gold_rated if self.gold_rated else None

    @property
    def trap_accuracy(self) -> float | None:
        return self.traps_right / self.traps_rated if self.traps_rated else None

    @property
    def follows_judge(self) -> float | None:
        return self.followed / self.suggested if self.suggested else None

    @property
    def flagged(self) -> bool:
        return bool(self.reasons)

    def as_dict(self) -> dict:
        return {
            "submitted": self.submitted,
            "gold_rated": self.gold_rated,
            "gold_accuracy": self.gold_accuracy,
            "traps_rated": self.traps_rated,
            "trap_accuracy": self.trap_accuracy,
            "follows_judge": self.follows_judge,
            "reliability": self.reliability,
            "top_label_share": self.top_label_share,
            "flagged": self.flagged,
            "reasons": list(self.reasons),
        }


def values(row: dict) -> dict[str, str]:
    """Each annotator's submitted rating of a record (up or down)."""
    return {
        response["user"]: response["value"]
        for response in row["responses"]
        if response["status"] == "submitted" and response["value"] in (UP, DOWN)
    }


def suggested(row: dict) -> str | None:
    """The judge's suggestion on a record (up or down), if kto suggest made one."""
    value = (row.get("suggestion") or {}).get("value")
    return value if value in (UP, DOWN) else None


def counts(rows: list[dict]) -> dict[str, Counter]:
    """Per annotator: ups, downs, gold and trap records rated and right, suggestions followed."""
    found: dict[str, Counter] = {}
    for row in rows:
        gold, suggestion = label_of(row), suggested(row)
        trap = gold is not None and suggestion is not None and suggestion != gold
        for user, value in values(row).items():
            mine = found.setdefault(user, Counter())
            mine[value] += 1
            mine["gold_rated"] += gold is not None
            mine["gold_right"] += gold == value
            mine["traps_rated"] += trap
            mine["traps_right"] += trap and gold == value
            mine["suggested"] += suggestion is not None
            mine["followed"] += suggestion == value
    return found


def estimate(rows: list[dict]) -> reliability.Estimate:
    """The reliability model over every submitted rating, gold records anchoring it."""
    ratings = [(row["id"], user, value == UP) for row in rows for user, value in values(row).items()]
    gold = {row["id"]: label == UP for row in rows if (label := label_of(row)) is not None}
    return reliability.estimate(ratings, gold)


def assess(rows: list[dict], quality: Quality) -> dict[str, RaterReport]:
    """Every annotator with a submitted rating, by username."""
    skills = estimate(rows)
    reports = {}
    for user, mine in sorted(counts(rows).items()):
        total = mine[UP] + mine[DOWN]
        skill = skills.skills.get(user)
        figures = RaterReport(
            submitted=total,
            gold_rated=mine["gold_rated"],
            gold_right=mine["gold_right"],
            traps_rated=mine["traps_rated"],
            traps_right=mine["traps_right"],
            suggested=mine["suggested"],
            followed=mine["followed"],
            reliability=skill.reliability if skill else None,
            reliability_upper=skill.upper if skill and skills.anchored else None,
            top_label_share=max(mine[UP], mine[DOWN]) / total,
        )
        reports[user] = RaterReport(**{**vars(figures), "reasons": reasons(figures, quality)})
    return reports


def reasons(figures: RaterReport, quality: Quality) -> tuple[str, ...]:
    """Why the figures flag an annotator, each ending in the bound it broke (quality.<bound> in
    project.yaml); no reason: not flagged."""
    found = []
    bound = quality.min_gold_accuracy
    if (
        figures.gold_rated >= quality.min_gold
        and reliability.upper_bound(figures.gold_right, figures.gold_rated) < bound
    ):
        found.append(f"gold {figures.gold_accuracy:.0%} right of {figures.gold_rated} < min_gold_accuracy")
    if (
        figures.traps_rated >= quality.min_gold
        and reliability.upper_bound(figures.traps_right, figures.traps_rated) < bound
    ):
        found.append(
            f"follows the judge where it is wrong: {figures.trap_accuracy:.0%} right of "
            f"{figures.traps_rated} < min_gold_accuracy"
        )
    # Gold vouches: the model flags only an annotator who got a gold record wrong, so no company,
    # however careless, can flag one whose every gold answer was right.
    upper, missed_gold = figures.reliability_upper, figures.gold_right < figures.gold_rated
    if upper is not None and missed_gold and upper < quality.min_reliability:
        found.append(f"reliability {figures.reliability:.0%} (at most {upper:.0%}) < min_reliability")
    share, most = figures.top_label_share or 0.0, quality.max_same_label
    if most is not None and figures.submitted >= MIN_RATINGS_FOR_SAME_LABEL and share > most:
        found.append(f"one label on {share:.0%} of {figures.submitted} > max_same_label")
    return tuple(found)


def flagged(reports: dict[str, RaterReport]) -> set[str]:
    return {user for user, report in reports.items() if report.flagged}


def without(rows: list[dict], users: set[str]) -> list[dict]:
    """The rows with every response of ``users`` left out."""
    return [
        {**row, "responses": [response for response in row["responses"] if response["user"] not in users]}
        for row in rows
    ]
