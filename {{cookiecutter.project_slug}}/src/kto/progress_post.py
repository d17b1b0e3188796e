"""``kto status --markdown`` / ``--post``: a progress post for the campaign's chat channel.

Public: records done, ratings in the last 24 hours, a Hall of Fame of annotators by submitted
ratings and the Space's link, in the project's language. Never a model id or a per-model
approval: the post would unblind the rating. Flagged annotators (kto.rater_quality) are left out
of the counts and the Hall of Fame without a word: the post names no flag.
"""

import re
from collections import Counter
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from kto.campaign_settings import Community, Quality
from kto.config import ProjectConfig

# One Discord message, counted in Python str characters (Discord counts the same way).
MAX_CHARACTERS = 2000
HALL_OF_FAME = 10
MAX_NAME = 40
BAR_WIDTH = 20
# Characters Discord reads as Markdown inside a line; escaped so a username shows as typed.
MARKDOWN = re.compile(r"([\\*_~`|\[\]<>])")


@dataclass(frozen=True)
class PostTally:
    total: int  # records
    done: int  # records with their min_submitted ratings (Argilla's "completed")
    submitted: Counter  # submitted ratings per username
    last_day: int  # submitted ratings updated in the 24 hours before the tally


@dataclass(frozen=True)
class ProgressPostReport:
    text: str
    chart: Path | None
    sent_attempts: int = 0  # requests the webhook took (more than one: rate-limit waits); 0 when not sent


def tally(client, dataset, quality: Quality, now: datetime | None = None) -> PostTally:
    """One pass over the records, with the responses' update times (the count of the last 24
    hours needs them); flagged annotators' ratings are not counted."""
    from kto.rater_quality import assess, flagged
    from kto.ratings import fetch

    since = (now or datetime.now(UTC)) - timedelta(hours=24)
    rows = fetch(client, dataset)
    left_out = flagged(assess(rows, quality))
    submitted: Counter = Counter()
    last_day = 0
    for row in rows:
        for response in row["responses"]:
            if response["status"] == "submitted" and response["user"] not in left_out:
                submitted[response["user"]] += 1
                last_day += response["updated_at"] >= since
    return PostTally(len(rows), sum(row["status"] == "completed" for row in rows), submitted, last_day)


def hall_of_fame(counts: Counter, community: Community) -> list[tuple[str, int]]:
    """The annotators with the most submitted ratings (ties by name), leaving out the hidden."""
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0].casefold()))
    return [(name, count) for name, count in ranked if count and not community.hidden(name)][:HALL_OF_FAME]


def bar(done: int, total: int) -> str:
    filled = round(BAR_WIDTH * done / total) if total else 0
    return f"`{'█' * filled}{'░' * (BAR_WIDTH - filled)}` {done / total if total else 0:.0%}"


def shown(name: str) -> str:
    name = name if len(name) <= MAX_NAME else name[: MAX_NAME - 1] + "…"
    return MARKDOWN.sub(r"\\\1", name)


def build(counts: PostTally, community: Community, space_url: str) -> str:
    """The post, as long as one message allows: the Hall of Fame loses its last places first."""
    leaders = hall_of_fame(counts.submitted, community)
    head = [
        f"## {community.post_title}",
        bar(counts.done, counts.total),
        f"**{counts.done} / {counts.total}** {community.post_records}",
        f"**{counts.last_day}** {community.post_last_day}",
    ]
    foot = ["", f"**{community.post_join}:** <{space_url}>"]
    for places in range(len(leaders), -1, -1):
        fame = [f"{rank}. {shown(name)}: {count}" for rank, (name, count) in enumerate(leaders[:places], 1)]
        text = "\n".join(head + (["", f"### {community.post_hall_of_fame}", *fame] if fame else []) + foot)
        if len(text) <= MAX_CHARACTERS:
            return text
    return text[: MAX_CHARACTERS - 1] + "…"  # texts in project.yaml too long for any post


def make(config: ProjectConfig, chart: Path | None = None) -> ProgressPostReport:
    """The post for the configured dataset, and the public chart when ``chart`` is given."""
    from kto import argilla_client

    client, dataset = argilla_client.open_dataset(config)
    counts = tally(client, dataset, config.quality)
    if chart:
        from kto.plots import progress_chart

        progress_chart(
            counts.done, counts.total, dict(hall_of_fame(counts.submitted, config.community)), chart
        )
    return ProgressPostReport(build(counts, config.community, config.space_url), chart)


def publish(config: ProjectConfig, chart: Path | None = None, *, send: bool = False) -> ProgressPostReport:
    """``kto status --markdown / --post``: the post, sent to ``DISCORD_WEBHOOK_URL`` with ``send``
    (a missing URL fails before any work)."""
    from kto import webhook

    url = webhook.url_from_env() if send else None
    post = make(config, chart)
    if url:
        post = replace(post, sent_attempts=webhook.send(url, post.text, post.chart))
    return post
