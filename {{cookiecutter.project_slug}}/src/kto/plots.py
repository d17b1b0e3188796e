"""PNG charts of the ratings so far (matplotlib, no display needed)."""

from collections import Counter
from pathlib import Path


def status_chart(approval: dict[str, Counter], annotators: dict[str, Counter], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5), layout="constrained")
    models = list(approval)
    shares = [votes["up"] / max(1, votes["up"] + votes["down"]) for votes in approval.values()]
    bars = left.barh(models, shares, color="#4c9a5b")
    left.bar_label(
        bars, labels=[f"{votes['up']}/{votes['up'] + votes['down']}" for votes in approval.values()]
    )
    left.set_xlim(0, 1.15)
    left.set_xlabel("share of thumbs up (submitted ratings)")
    left.set_title("Approval per model")

    users = list(annotators)
    left_edge = [0] * len(users)
    statuses = (
        ("submitted", "#4c72b0"),
        ("discarded", "#c44e52"),
        ("draft", "#dd8452"),
        ("pending", "#cccccc"),
    )
    for status, colour in statuses:
        counts = [annotators[user][status] for user in users]
        right.barh(users, counts, left=left_edge, color=colour, label=status)
        left_edge = [a + b for a, b in zip(left_edge, counts, strict=True)]
    right.set_xlabel("responses")
    right.set_title("Responses per annotator")
    right.legend(loc="upper center", bbox_to_anchor=(0.5, -0.15), ncols=len(statuses), frameon=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)
