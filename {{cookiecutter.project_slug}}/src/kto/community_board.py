"""The community board: every campaign by language, as Markdown that fits one Discord message
(the longest lists cut with "and N more"), and a chart of rows per language."""

from collections import defaultdict
from pathlib import Path

from kto.community import Board, Campaign
from kto.dataset_card import TEMPLATE_TAG

DISCORD_LIMIT = 2000  # characters in one Discord message
SKIPPED = "\0skipped"  # the key of the skipped list beside the languages


def by_language(campaigns: list[Campaign]) -> dict[str, list[Campaign]]:
    groups: dict[str, list[Campaign]] = defaultdict(list)
    for campaign in campaigns:
        groups[campaign.language].append(campaign)
    return dict(sorted(groups.items()))


def entry(campaign: Campaign) -> str:
    fields = campaign.fields
    alpha = f", alpha {fields.agreement:.2f}" if fields.agreement is not None else ""
    return (
        f"[{campaign.repo}](<{campaign.link}>) {fields.task}, {campaign.rows:,} rows, "
        f"{fields.annotators} annotators{alpha}, {fields.license or 'no licence'}, {campaign.last_update}"
    )


def cut(items: list[str], shown: int) -> str:
    rest = len(items) - shown
    return "; ".join(items[:shown] + ([f"and {rest} more"] if rest else []))


def render(lists: dict[str, list[str]], shown: dict[str, int], board: Board, languages: int) -> str:
    """The board with ``shown[key]`` items of each list and the first ``languages`` languages."""
    groups = by_language(board.campaigns)
    rows = sum(campaign.rows for campaign in board.campaigns)
    head = f"**kto-template community**: {len(board.campaigns)} campaigns in {len(groups)} languages"
    lines = [f"{head}, {rows:,} rows"]
    for language, campaigns in list(groups.items())[:languages]:
        total = sum(campaign.rows for campaign in campaigns)
        lines.append(
            f"- **{language}** ({len(campaigns)}, {total:,} rows): {cut(lists[language], shown[language])}"
        )
    if hidden := len(groups) - languages:
        lines.append(f"- and {hidden} more languages")
    if board.skipped:
        lines.append(f"Skipped: {cut(lists[SKIPPED], shown[SKIPPED])}")
    lines.append(f"Join: push your export with the `{TEMPLATE_TAG}` tag (`kto export --push` adds it).")
    return "\n".join(lines)


def markdown(board: Board, limit: int = DISCORD_LIMIT) -> str:
    """The board in at most ``limit`` characters: the longest list is cut first, one item at a
    time; languages are cut last, from the end."""
    lists = {
        language: [entry(c) for c in campaigns]
        for language, campaigns in by_language(board.campaigns).items()
    }
    lists[SKIPPED] = [f"{skipped.repo} ({skipped.reason})" for skipped in board.skipped]
    # No list can show more items than fit in the limit (each is longer than 20 characters).
    shown = {key: min(len(items), limit // 20) for key, items in lists.items()}
    languages = len(lists) - 1
    text = render(lists, shown, board, languages)
    while len(text) > limit:
        longest = max(shown, key=lambda key: (shown[key], key))
        if shown[longest]:
            shown[longest] -= 1
        elif languages:
            languages -= 1
        else:  # only the fixed lines are left; never more than one message
            return text[: limit - 1] + "…"
        text = render(lists, shown, board, languages)
    return text


def plot(board: Board, path: Path) -> None:
    """A bar chart of labelled rows per language (PNG, or any format matplotlib writes by suffix)."""
    from kto.plots import _pyplot

    plt = _pyplot()
    groups = by_language(board.campaigns)
    totals = [sum(campaign.rows for campaign in campaigns) for campaigns in groups.values()]
    figure, axes = plt.subplots(figsize=(8, 0.4 * len(groups) + 1.5), layout="constrained")
    axes.barh(list(groups), totals, color="#4c9a5b")
    axes.invert_yaxis()  # the first language at the top, as in the table
    axes.set_xlabel("KTO rows (train and test)")
    axes.set_title(f"Rows per language, {len(board.campaigns)} campaigns")
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)
