"""The rating question and its two answers: the vocabulary every step shares."""

from collections.abc import Mapping

QUESTION = "rating"
UP, DOWN = "up", "down"
COMMENT = "comment"  # the optional free-text question beside the rating


def share_up(votes: Mapping[str, int]) -> float | None:
    """The share of ups among the up and down votes; None when there are none."""
    total = votes.get(UP, 0) + votes.get(DOWN, 0)
    return votes.get(UP, 0) / total if total else None
