"""PNG charts of the ratings so far (matplotlib, no display needed)."""

from collections import Counter
from pathlib import Path

from kto.labels import share_up


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def export_charts(statistics: dict, folder: Path) -> None:
    """approval.png (share of thumbs up per model, 95% interval) and annotators.png."""
    plt = _pyplot()
    models = statistics["models"]
    figure, axes = plt.subplots(figsize=(8, 0.6 * len(models) + 1.5), layout="constrained")
    rates = [m["rate"] for m in models.values()]
    errors = [
        [m["rate"] - m["ci95"][0] for m in models.values()],
        [m["ci95"][1] - m["rate"] for m in models.values()],
    ]
    axes.barh(list(models), rates, xerr=errors, color="#4c9a5b", capsize=4)
    axes.set_xlim(0, 1)
    axes.set_xlabel("share of answers labelled thumbs up, with 95% interval")
    axes.set_title("Approval per model")
    figure.savefig(folder / "approval.png", dpi=100)
    plt.close(figure)

    left_out = statistics["left_out"]  # no annotator, unless kto export --keep-flagged kept them
    counted = sorted(
        (
            (figures.get("up", 0), figures.get("down", 0))
            for figures in statistics["annotators"].values()
            if not (figures["flagged"] and left_out["annotators"])
        ),
        key=sum,
    )
    annotators_chart(counted, left_out, folder / "annotators.png")


def annotators_chart(counted: list[tuple[int, int]], left_out: dict, path: Path) -> None:
    """The ratings kto export counted, per annotator (ups, downs), most at the top: a card on the
    Hub names no annotator, and shows no left-out annotator's ratings as counted."""
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(8, 0.3 * len(counted) + 1.8), layout="constrained")
    places = [str(place) for place in range(len(counted), 0, -1)]
    ups, downs = [up for up, _ in counted], [down for _, down in counted]
    axes.barh(places, ups, color="#4c9a5b", label="thumbs up")
    axes.barh(places, downs, left=ups, color="#c44e52", label="thumbs down")
    axes.set_xlabel("submitted ratings counted")
    axes.set_ylabel("annotators, by ratings")
    left = (
        f" ({left_out['ratings']} ratings of {left_out['annotators']} left out)"
        if left_out["annotators"]
        else ""
    )
    axes.set_title(f"Ratings per annotator{left}")
    axes.legend(loc="lower right")
    figure.savefig(path, dpi=100)
    plt.close(figure)


def status_chart(approval: dict[str, Counter], annotators: dict[str, Counter], path: Path) -> None:
    plt = _pyplot()
    figure, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5), layout="constrained")
    models = list(approval)
    shares = [share_up(votes) or 0.0 for votes in approval.values()]
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


def progress_chart(done: int, total: int, leaders: dict[str, int], path: Path) -> None:
    """The public chart of the progress post: records done and the Hall of Fame, no model and no
    approval. Numbers and usernames only, so no script needs a font matplotlib lacks."""
    plt = _pyplot()
    figure, (top, bottom) = plt.subplots(
        2,
        1,
        figsize=(8, 0.4 * len(leaders) + 2.5),
        height_ratios=[1, max(1, len(leaders))],
        layout="constrained",
    )
    top.barh([""], [total], color="#cccccc")
    top.barh([""], [done], color="#4c9a5b")
    top.set_title(f"{done} / {total}")
    top.set_xlim(0, max(1, total))
    names = list(reversed(leaders))  # the first place on top
    bars = bottom.barh(names, [leaders[name] for name in names], color="#4c72b0")
    bottom.bar_label(bars)
    bottom.axis("on" if leaders else "off")
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)


def eval_chart(wins: int, ties: int, losses: int, verdict: str, path: Path) -> None:
    """kto eval's wins, ties and losses of the trained model against its base, in one bar, under
    its ``verdict`` (the verdict and its figures, as kto eval prints them)."""
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(8, 2.2), layout="constrained")
    left = 0
    for count, colour, label in (
        (wins, "#4c9a5b", "wins"),
        (ties, "#cccccc", "ties"),
        (losses, "#c44e52", "losses"),
    ):
        bars = axes.barh([""], [count], left=left, color=colour, label=f"{label}: {count}")
        axes.bar_label(bars, labels=[str(count) if count else ""], label_type="center")
        left += count
    axes.set_title(f"Trained model against its base: {verdict}")
    axes.set_xlabel("held-out prompts")
    axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.45), ncols=3, frameon=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)
