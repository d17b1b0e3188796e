"""Per-annotator quality, from the ratings alone: who rates with care, and who does not.

An open campaign lets anyone rate; a few click the same button on everything, rate without
reading, or rate against the truth on purpose. For each annotator: their submitted ratings, the
gold records (kto.gold) they rated and the share rated right, their agreement with the other
annotators' majority on the records they shared, and the share of their most frequent label.
The bounds in project.yaml (``quality:``) flag an annotator, with the reasons; ``kto export``
leaves flagged annotators' ratings out. Pure functions over the rows ``kto.ratings`` gives.
"""

from collections import Counter
from dataclasses import dataclass

from kto.campaign_settings import Quality
from kto.gold import label_of
from kto.labels import DOWN, UP

# One label on nearly everything says little in a handful of ratings: judged from this many.
MIN_RATINGS_FOR_SAME_LABEL = 20
# Agreement with the others' majority (quality.min_agreement) is judged over this many records.
MIN_SHARED = 10


@dataclass(frozen=True)
class RaterReport:
    """One annotator's figures, and why they are flagged (no reason: not flagged)."""

    submitted: int  # submitted ratings with a value
    gold_rated: int
    gold_right: int
    shared: int  # their records on which the other annotators have a majority
    agreed: int  # ... and they rated as that majority did
    top_label_share: float | None  # the share of their most frequent label
    reasons: tuple[str, ...] = ()

    @property
    def gold_accuracy(self) -> float | None:
        return self.gold_right / self.gold_rated if self.gold_rated else None

    @property
    def agreement(self) -> float | None:
        return self.agreed / self.shared if self.shared else None

    @property
    def flagged(self) -> bool:
        return bool(self.reasons)

    def as_dict(self) -> dict:
        return {
            "submitted": self.submitted,
            "gold_rated": self.gold_rated,
            "gold_accuracy": self.gold_accuracy,
            "shared": self.shared,
            "agreement": self.agreement,
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


def majority(votes: Counter) -> str | None:
    """The label most votes gave; None on a tie or without votes."""
    if votes[UP] == votes[DOWN]:
        return None
    return UP if votes[UP] > votes[DOWN] else DOWN


def assess(rows: list[dict], quality: Quality) -> dict[str, RaterReport]:
    """Every annotator with a submitted rating, by username."""
    counts: dict[str, Counter] = {}
    for row in rows:
        rated = values(row)
        gold = label_of(row)
        for user, value in rated.items():
            mine = counts.setdefault(user, Counter())
            mine[value] += 1
            mine["gold_rated"] += gold is not None
            mine["gold_right"] += gold == value
            others = majority(Counter(v for u, v in rated.items() if u != user))
            mine["shared"] += others is not None
            mine["agreed"] += others == value
    reports = {}
    for user, mine in sorted(counts.items()):
        total = mine[UP] + mine[DOWN]
        figures = RaterReport(
            total,
            mine["gold_rated"],
            mine["gold_right"],
            mine["shared"],
            mine["agreed"],
            max(mine[UP], mine[DOWN]) / total,
        )
        reports[user] = RaterReport(**{**vars(figures), "reasons": reasons(figures, quality)})
    return reports


def reasons(figures: RaterReport, quality: Quality) -> tuple[str, ...]:
    """Why the figures flag an annotator, each ending in the bound it broke (quality.<bound> in
    project.yaml); no reason: not flagged."""
    found = []
    accuracy, agreement = figures.gold_accuracy, figures.agreement
    if (
        accuracy is not None
        and figures.gold_rated >= quality.min_gold
        and accuracy < quality.min_gold_accuracy
    ):
        found.append(f"gold {accuracy:.0%} right of {figures.gold_rated} < min_gold_accuracy")
    share = figures.top_label_share or 0.0
    if figures.submitted >= MIN_RATINGS_FOR_SAME_LABEL and share > quality.max_same_label:
        found.append(f"one label on {share:.0%} of {figures.submitted} > max_same_label")
    bound = quality.min_agreement
    if bound is not None and agreement is not None and figures.shared >= MIN_SHARED and agreement < bound:
        found.append(f"agrees {agreement:.0%} of {figures.shared} shared < min_agreement")
    return tuple(found)


def without(rows: list[dict], users: set[str]) -> list[dict]:
    """The rows with every response of ``users`` left out."""
    return [
        {**row, "responses": [response for response in row["responses"] if response["user"] not in users]}
        for row in rows
    ]
