"""``kto community``: every campaign made with this template, found on the Hub by the tag its
export carries (``dataset_card.TEMPLATE_TAG``), with where each stands, read from its card.

One listing request, then one info request per dataset (its card's metadata, its files and its
revision), many at once; a 429 is waited out as its Retry-After says. A dataset that cannot be read
as a campaign is one line in the skipped list and the others go on.
"""

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from kto.dataset_card import CAMPAIGN_KEY, TEMPLATE_TAG
from kto.errors import KtoError, short
from kto.hub import cause, status_of

WORKERS = 16  # info requests in flight at once
RETRIES = 8  # 429 answers waited out for one request
MAX_WAIT = 60.0  # seconds: the longest Retry-After honoured as given
HUB = "https://huggingface.co/datasets"


class SplitCounts(BaseModel):
    rows: int = Field(ge=0)
    prompts: int = Field(ge=0)


class CampaignFields(BaseModel):
    """The card's CAMPAIGN_KEY metadata, as ``dataset_card.campaign`` writes it."""

    model_config = ConfigDict(extra="ignore")
    language: str = Field(min_length=1)
    task: str = Field(min_length=1)
    template_version: str = "unknown"
    splits: dict[str, dict[str, SplitCounts]]
    annotators: int = Field(ge=0)
    ratings: int = Field(ge=0)
    agreement: float | None = None
    policy: str = ""
    license: str | None = None
    models: list[dict] = Field(default_factory=list)


@dataclass(frozen=True)
class Campaign:
    """One team's published dataset, at the revision it was read at."""

    repo: str
    revision: str
    last_update: str  # ISO date of the last commit
    fields: CampaignFields
    files: dict[str, dict[str, list[str]]]  # configuration -> split -> parquet paths in the repo

    @property
    def language(self) -> str:
        return self.fields.language

    @property
    def rows(self) -> int:
        return sum(side.rows for side in self.fields.splits.get("kto", {}).values())

    @property
    def link(self) -> str:
        return f"{HUB}/{self.repo}"

    def row(self) -> dict:
        """The campaign as a row of the table (``--json``)."""
        fields = self.fields
        return {
            "language": fields.language,
            "task": fields.task,
            "dataset": self.repo,
            "rows": self.rows,
            "annotators": fields.annotators,
            "ratings": fields.ratings,
            "agreement": fields.agreement,
            "last_update": self.last_update,
            "license": fields.license,
            "revision": self.revision,
            "link": self.link,
        }


@dataclass(frozen=True)
class Skipped:
    repo: str
    reason: str


@dataclass(frozen=True)
class Board:
    campaigns: list[Campaign]  # sorted by language, then dataset
    skipped: list[Skipped]


def patiently(call: Callable, retries: int = RETRIES):
    """``call()``, waiting out each 429 for as long as the Hub's Retry-After asks."""
    for attempt in range(retries + 1):
        try:
            return call()
        except Exception as error:
            if status_of(error) != 429 or attempt == retries:
                raise
            time.sleep(retry_after(error, attempt))
    raise AssertionError("unreachable")


def retry_after(error: BaseException, attempt: int) -> float:
    """Seconds to wait: the answer's Retry-After (seconds), else a doubling backoff."""
    response = getattr(error, "response", None)
    header = getattr(response, "headers", {}).get("Retry-After") if response is not None else None
    try:
        return min(float(header), MAX_WAIT) if header else min(2.0**attempt, MAX_WAIT)
    except ValueError:  # an HTTP date instead of seconds
        return min(2.0**attempt, MAX_WAIT)


def find(api=None, workers: int = WORKERS, advance: Callable[[int], None] | None = None) -> Board:
    """Every dataset on the Hub tagged TEMPLATE_TAG, read concurrently (``advance(total)`` once the
    listing is in, then ``advance(0)`` per dataset read)."""
    from huggingface_hub import HfApi

    api = api or HfApi()
    try:
        listed = patiently(lambda: list(api.list_datasets(filter=TEMPLATE_TAG)))
    except Exception as error:
        raise KtoError(
            "community", f"could not list the datasets tagged {TEMPLATE_TAG}: {cause(error)}"
        ) from error
    if advance:
        advance(len(listed))

    def read_one(item) -> Campaign | Skipped:
        found = read(api, item)
        if advance:
            advance(0)
        return found

    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(read_one, listed))
    campaigns = sorted(
        (found for found in results if isinstance(found, Campaign)), key=lambda c: (c.language, c.repo)
    )
    skipped = sorted((found for found in results if isinstance(found, Skipped)), key=lambda s: s.repo)
    return Board(campaigns, skipped)


def read(api, item) -> Campaign | Skipped:
    """One listed dataset as a campaign, or the reason it is not one."""
    if item.private:
        return Skipped(item.id, "private: the board lists public datasets only")
    try:
        info = patiently(lambda: api.dataset_info(item.id, revision=item.sha))
    except Exception as error:  # taken down, gated, deleted since the listing, or unreachable
        status = status_of(error)
        return Skipped(
            item.id, f"no access (HTTP {status})" if status else f"no access: {short(cause(error), 160)}"
        )
    card = info.card_data.to_dict() if info.card_data else None
    paths = {sibling.rfilename for sibling in info.siblings or []}
    if card is None:
        broken = "README.md" in paths
        return Skipped(
            item.id, "broken card: its metadata is not valid YAML" if broken else "no card (README.md)"
        )
    if not isinstance(card.get(CAMPAIGN_KEY), dict):
        return Skipped(
            item.id, f"broken card: no {CAMPAIGN_KEY} metadata (push again with kto export --push)"
        )
    try:
        fields = CampaignFields.model_validate(card[CAMPAIGN_KEY])
    except ValidationError as error:
        problem = error.errors()[0]
        where = ".".join(str(part) for part in problem["loc"])
        return Skipped(item.id, f"broken card: {CAMPAIGN_KEY}.{where}: {problem['msg']}")
    files = data_files(card.get("configs") or [], paths)
    if not files.get("kto", {}).get("train"):
        return Skipped(item.id, "no splits: the card's kto configuration names no file that is there")
    last = info.last_modified or item.last_modified
    return Campaign(item.id, info.sha or item.sha, last.date().isoformat() if last else "", fields, files)


def data_files(configs: list[dict], paths: set[str]) -> dict[str, dict[str, list[str]]]:
    """Each configuration's splits and their files, keeping only files the repository holds."""
    found: dict[str, dict[str, list[str]]] = {}
    for config in configs:
        entries = config.get("data_files") or []
        if isinstance(entries, str):
            entries = [{"split": "train", "path": entries}]
        for entry in entries:
            listed = entry["path"] if isinstance(entry["path"], list) else [entry["path"]]
            if kept := [path for path in listed if path in paths]:
                found.setdefault(config["config_name"], {})[entry.get("split", "train")] = kept
    return found
