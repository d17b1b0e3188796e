"""``kto export``: ratings -> the datasets of ``kto.export_formats``, a reconciliation and statistics.

Every record falls in exactly one outcome (``OUTCOMES``); only labelled records become data,
and every other one is counted, never silently dropped.
"""

import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass

from kto.campaign_settings import Quality
from kto.errors import KtoError
from kto.export_formats import FORMATS, STYLES
from kto.gold import label_of
from kto.labels import DOWN, UP, share_up
from kto.rater_quality import assess, values, without
from kto.ratings import submitted

OUTCOMES = ("labelled-up", "labelled-down", "tie", "below-threshold", "discarded", "pending", "gold")
UNLABELLED = ("below-threshold", "discarded", "pending")


@dataclass(frozen=True)
class Policy:
    """How a record's submitted ratings become a label.

    ``majority``: more ups than downs (or the reverse) among at least ``min_votes`` ratings;
    ``unanimous``: every rating the same, at least ``min_votes`` of them; ``min-votes=K``: a
    majority of at least K ratings. An even split, or any disagreement under ``unanimous``, is a tie.
    """

    name: str
    min_votes: int

    @classmethod
    def parse(cls, text: str, overlap: int) -> "Policy":
        if text in ("majority", "unanimous"):
            return cls(text, overlap)
        if match := re.fullmatch(r"min-votes=([1-9]\d*)", text):
            return cls("min-votes", int(match.group(1)))
        raise KtoError("policy", f"{text!r} is not a policy: use majority, unanimous or min-votes=K (K >= 1)")

    def __str__(self) -> str:
        return (
            f"min-votes={self.min_votes}"
            if self.name == "min-votes"
            else f"{self.name} ({self.min_votes}+ votes)"
        )

    def outcome(self, up: int, down: int, discarded: int) -> str:
        if up + down == 0:
            return "discarded" if discarded else "pending"
        if up + down < self.min_votes:
            return "below-threshold"
        if up == down or (self.name == "unanimous" and up and down):
            return "tie"
        return "labelled-up" if up > down else "labelled-down"


@dataclass
class ExportReport:
    datasets: dict[str, list[dict]]  # kto.export_formats: format name -> rows
    reconciliation: dict[str, int]
    statistics: dict
    pushed: str | None = None  # the dataset's URL on the Hub


def votes(row: dict) -> tuple[int, int, int]:
    counts = Counter(
        (response["status"], response["value"])
        for response in row["responses"]
        if response["status"] != "draft"
    )
    discarded = sum(n for (status, _), n in counts.items() if status == "discarded")
    return counts[("submitted", UP)], counts[("submitted", DOWN)], discarded


def screen(rows: list[dict], policy: Policy, quality: Quality, keep_flagged: bool) -> tuple[list[dict], dict]:
    """The rows the labelling policy sees (flagged annotators' ratings left out, unless kept), and
    the statistics of that: every annotator's figures, and what leaving some out changed."""
    raters = assess(rows, quality)
    flagged = set() if keep_flagged else {user for user, rater in raters.items() if rater.flagged}
    kept = without(rows, flagged)
    changed: Counter = Counter()
    for before, after in zip(rows, kept, strict=True):
        was, now = policy.outcome(*votes(before)), policy.outcome(*votes(after))
        if was != now and label_of(before) is None:
            changed["too-few-after-left-out" if now in UNLABELLED else "label-changed-by-left-out"] += 1
    rules = Counter(f"quality.{reason.split()[-1]}" for user in flagged for reason in raters[user].reasons)
    left_out = {
        "annotators": len(flagged),
        "ratings": sum(raters[user].submitted for user in flagged),
        "reasons": dict(sorted(rules.items())),  # the bound broken -> annotators; never their names
        "records": {key: changed[key] for key in ("label-changed-by-left-out", "too-few-after-left-out")},
        "kept_flagged": sorted(user for user, rater in raters.items() if rater.flagged)
        if keep_flagged
        else [],
    }
    annotators = {user: tally(rows, user) | rater.as_dict() for user, rater in raters.items()}
    return kept, {"annotators": annotators, "left_out": left_out}


def tally(rows: list[dict], user: str) -> dict[str, int]:
    """The user's submitted ups and downs (the chart of ratings per annotator)."""
    return dict(Counter(value for row in rows if (value := values(row).get(user))))


def aggregate(
    rows: list[dict],
    policy: Policy,
    *,
    style: str = "standard",
    max_pairs: int | None = None,
    quality: Quality | None = None,
    keep_flagged: bool = False,
) -> ExportReport:
    """The labelled records (gold records never among them) and their pairs; flagged annotators'
    ratings are left out first, unless ``keep_flagged``."""
    if not submitted(rows):
        raise KtoError("ratings", f"no submitted ratings yet among {len(rows)} records: nothing to export")
    kept, screening = screen(rows, policy, quality or Quality(), keep_flagged)
    reconciliation = dict.fromkeys(OUTCOMES, 0)
    labelled = []
    judged = []  # (the judge's suggestion, the people's label): compared, never used as a label
    data = []
    for row in kept:
        if label_of(row) is not None:
            reconciliation["gold"] += 1
            continue
        data.append(row)
        up, down, discarded = votes(row)
        outcome = policy.outcome(up, down, discarded)
        reconciliation[outcome] += 1
        if outcome.startswith("labelled"):
            if row.get("suggestion"):
                judged.append((row["suggestion"], outcome == "labelled-up"))
            labelled.append(
                {
                    "prompt": row["prompt"],
                    "completion": row["completion"],
                    "label": outcome == "labelled-up",
                    "model": row["model"],
                    "votes_up": up,
                    "votes_down": down,
                    "num_ratings": up + down,
                    "agreement": max(up, down) / (up + down),  # the share agreeing with the label
                }
            )
    reconciliation["total"] = len(rows)
    reconciliation |= screening["left_out"]["records"]
    labelled.sort(key=lambda item: (item["prompt"], -item["agreement"], item["model"], item["completion"]))
    statistics = statistics_of(data, labelled) | screening | {"judge": judge_agreement(judged)}
    datasets = {form.name: form.build(labelled, max_pairs, STYLES[style]) for form in FORMATS}
    return ExportReport(datasets, reconciliation, statistics)


def wilson(successes: int, total: int, z: float = 1.96) -> tuple[float, float]:
    """The 95% Wilson score interval of a proportion (sound for small counts, unlike p +- 2 SE)."""
    if total == 0:
        return (0.0, 1.0)
    p = successes / total
    centre = (p + z * z / (2 * total)) / (1 + z * z / total)
    margin = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / (1 + z * z / total)
    # The interval holds p in exact arithmetic, but not always in floats: at p = 0 or 1, centre and
    # margin round apart (6 of 6 gave an upper bound of 0.9999999999999999), and the chart's
    # error bar (p - low, high - p) went negative. Clamp to p itself.
    return (min(p, max(0.0, centre - margin)), max(p, min(1.0, centre + margin)))


def kto_weights(desirable: int, undesirable: int) -> dict[str, float]:
    """TRL's KTO advice: (desirable_weight x desirable) : (undesirable_weight x undesirable) in
    [1:1, 4:3]. Weighting down the larger side brings it to 1:1."""
    if not desirable or not undesirable:
        return {"desirable_weight": 1.0, "undesirable_weight": 1.0}
    if desirable >= undesirable:
        return {"desirable_weight": round(undesirable / desirable, 4), "undesirable_weight": 1.0}
    return {"desirable_weight": 1.0, "undesirable_weight": round(desirable / undesirable, 4)}


def krippendorff_alpha(rows: list[dict]) -> float | None:
    """Nominal Krippendorff's alpha over the submitted ratings (annotators x records); None where
    it is undefined: no record rated by two people, or one value only (no variation to agree on)."""
    import krippendorff
    import numpy as np

    ratings = [
        {r["user"]: 1.0 if r["value"] == UP else 0.0 for r in row["responses"] if r["status"] == "submitted"}
        for row in rows
    ]
    ratings = [rated for rated in ratings if len(rated) >= 2]  # only records rated twice or more are pairable
    users = sorted({user for rated in ratings for user in rated})
    if len(users) < 2 or not ratings:
        return None
    matrix = np.array([[rated.get(user, np.nan) for rated in ratings] for user in users])
    if len(np.unique(matrix[~np.isnan(matrix)])) < 2:
        return None
    return float(krippendorff.alpha(reliability_data=matrix, level_of_measurement="nominal"))


def judge_agreement(judged: list[tuple[dict, bool]]) -> dict | None:
    """How often kto suggest's judge matched the label people gave (None: no suggestions)."""
    if not judged:
        return None
    agreed = sum((suggestion["value"] == UP) == label for suggestion, label in judged)
    return {
        "agents": sorted({suggestion["agent"] for suggestion, _ in judged}),
        "compared": len(judged),
        "agreed": agreed,
        "rate": agreed / len(judged),
    }


def statistics_of(rows: list[dict], labelled: list[dict]) -> dict:
    per_model: dict[str, Counter] = defaultdict(Counter)
    for item in labelled:
        per_model[item["model"]][UP if item["label"] else DOWN] += 1
    models = {}
    for model, counts in sorted(per_model.items()):
        models[model] = {
            "up": counts[UP],
            "down": counts[DOWN],
            "rate": share_up(counts),
            "ci95": list(wilson(counts[UP], counts[UP] + counts[DOWN])),
        }
    desirable = sum(1 for item in labelled if item["label"])
    undesirable = len(labelled) - desirable
    return {
        "models": models,
        "desirable": desirable,
        "undesirable": undesirable,
        "weights": kto_weights(desirable, undesirable),
        "krippendorff_alpha": krippendorff_alpha(rows),
    }
