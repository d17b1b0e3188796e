"""``kto community merge``: one multilingual dataset from chosen campaigns.

KTO and DPO configurations with a ``language`` column: one per language (``kto-nl``) and ``all``.
Each row keeps the split its source gave it, and a prompt held out by any source is held out
everywhere (its train rows move to test), so no test prompt is in a train split. Exact repeats
across sources are kept once; every row names its source dataset and revision. Licences are
checked (kto.community_licences) before anything is downloaded or written.
"""

import json
import tempfile
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kto import community_licences
from kto.community import WORKERS, Board, Campaign, patiently
from kto.errors import KtoError
from kto.files import partial_folder, replace_folder
from kto.hub import cause
from kto.splits import normalised

CONFIGS = ("kto", "dpo")
SIDES = ("train", "test")
MERGED_TAG = "kto-template-merged"  # not the campaigns' tag: a merge is not a campaign of the board
MERGE_KEY = "kto_template_merge"
TEMPLATE = Path(__file__).parent / "templates" / "community_card.md.j2"


@dataclass(frozen=True)
class Plan:
    sources: list[Campaign]
    license: str
    conflicts: list[str]  # one line each; a plan with any is refused


@dataclass
class Merged:
    """The merged rows by (configuration, language, split), and what the merge changed."""

    rows: dict[tuple[str, str, str], list[dict]] = field(default_factory=lambda: defaultdict(list))
    moved_to_test: int = 0  # train rows of a prompt that another source holds out
    repeats: int = 0  # exact repeats left out

    def count(self, config: str, side: str, language: str | None = None) -> int:
        return sum(
            len(rows)
            for (c, lang, s), rows in self.rows.items()
            if (c, s) == (config, side) and language in (None, lang)
        )


def plan(
    board: Board, *, languages: list[str], task: str | None, drop: list[str], licence: str | None
) -> Plan:
    """The sources the options choose (all, by default; "pt" also chooses "pt-BR"), and whether
    their licences combine."""
    known = {campaign.repo for campaign in board.campaigns}
    if unknown := [repo for repo in drop if repo not in known]:
        raise KtoError("drop", f"{unknown[0]} is not a campaign on the board (kto community lists them)")
    sources = [
        campaign
        for campaign in board.campaigns
        if (not languages or {campaign.language, campaign.language.split("-")[0]} & set(languages))
        and (not task or campaign.fields.task == task)
        and campaign.repo not in drop
    ]
    if not sources:
        wanted = ", ".join(filter(None, [",".join(languages), task])) or "any"
        raise KtoError(
            "community merge", f"no campaign on the board matches ({wanted}) once dropped ones are left out"
        )
    return Plan(
        sources, community_licences.merged(sources, licence), community_licences.conflicts(sources, licence)
    )


def download(sources: list[Campaign], advance: Callable[[int], None] | None = None) -> list[tuple]:
    """Every parquet file of the sources' kto and dpo configurations, at the revision listed:
    (source, configuration, split, rows), in the sources' order."""
    import pyarrow.parquet as pq
    from huggingface_hub import hf_hub_download

    jobs = [
        (source, config, side, path)
        for source in sources
        for config in CONFIGS
        for side, paths in source.files.get(config, {}).items()
        for path in paths
    ]
    if advance:
        advance(len(jobs))
    with tempfile.TemporaryDirectory() as cache:  # a revision's files, read once: no shared cache

        def fetch(job: tuple) -> tuple:
            source, config, side, path = job
            try:
                local = patiently(
                    lambda: hf_hub_download(
                        source.repo, path, repo_type="dataset", revision=source.revision, cache_dir=cache
                    )
                )
            except Exception as error:
                raise KtoError(
                    "community merge",
                    f"could not read {path} of {source.repo}@{source.revision[:8]}: {cause(error)}",
                ) from error
            if advance:
                advance(0)
            return source, config, side, pq.read_table(local).to_pylist()

        with ThreadPoolExecutor(max_workers=WORKERS) as pool:
            return list(pool.map(fetch, jobs))


def combine(tables: list[tuple]) -> Merged:
    """The rows with their language, source and revision; held-out prompts kept out of train,
    exact repeats left out (the first source keeps its row)."""
    formats = {(config, isinstance(row["prompt"], str)) for _, config, _, rows in tables for row in rows}
    if len(formats) > len({config for config, _ in formats}):
        raise KtoError(
            "community merge", "the sources mix text and conversational exports: merge one format (--drop)"
        )
    held_out = {normalised(row["prompt"]) for _, _, side, rows in tables if side == "test" for row in rows}
    merged, seen = Merged(), set()
    for source, config, side, rows in tables:
        for row in rows:
            kept = "test" if side == "test" or normalised(row["prompt"]) in held_out else "train"
            identity = (config, json.dumps(row, sort_keys=True, ensure_ascii=False, default=str))
            if identity in seen:
                merged.repeats += 1
                continue
            seen.add(identity)
            merged.moved_to_test += kept != side
            provenance = {"language": source.language, "source": source.repo, "revision": source.revision}
            merged.rows[(config, source.language, kept)].append(row | provenance)
    return merged


def configurations(merged: Merged) -> list[dict]:
    """The card's configurations: one per configuration and language, then ``<config>-all``."""
    found: list[dict[str, Any]] = []
    for config in CONFIGS:
        languages = sorted({lang for (c, lang, _) in merged.rows if c == config})
        every: dict[str, list[str]] = defaultdict(list)
        for language in languages:
            files = []
            for side in SIDES:
                if merged.rows.get((config, language, side)):
                    files.append({"split": side, "path": f"{config}/{language}/{side}.parquet"})
                    every[side].append(files[-1]["path"])
            found.append({"config_name": f"{config}-{language}", "data_files": files})
        if every:
            data_files = [{"split": side, "path": paths} for side, paths in every.items()]
            found.append(
                {"config_name": f"{config}-all", "data_files": data_files}
                | ({"default": True} if config == "kto" else {})
            )
    return found


def write(plan: Plan, merged: Merged, folder: Path, repo: str | None) -> None:
    """The parquet files and the card, replacing ``folder`` at once."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if plan.conflicts:
        raise KtoError("license", plan.conflicts[0])
    partial = partial_folder(folder)
    for (config, language, side), rows in merged.rows.items():
        columns = list(dict.fromkeys(key for row in rows for key in row))  # older exports lack some
        path = partial / config / language / f"{side}.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.Table.from_pylist([{key: row.get(key) for key in columns} for row in rows]), path)
    card(plan, merged, repo).save(partial / "README.md")
    replace_folder(partial, folder)


def sources_table(plan: Plan) -> list[dict]:
    return [
        {
            "dataset": source.repo,
            "revision": source.revision,
            "language": source.language,
            "license": source.fields.license,
            "rows": source.rows,
            "agreement": source.fields.agreement,
            "models": source.fields.models,
        }
        for source in plan.sources
    ]


def without_models(source: dict) -> dict:
    return {key: value for key, value in source.items() if key != "models"}


def card(plan: Plan, merged: Merged, repo: str | None):
    """The merged dataset's card: every source with its revision, licence, language, rows, agreement."""
    from huggingface_hub import DatasetCard, DatasetCardData

    from kto import licences

    sources = sources_table(plan)
    models = {model["id"]: model.get("license") for source in sources for model in source["models"]}
    configs = configurations(merged)
    listed: dict[str, Any] = {MERGE_KEY: {"sources": [without_models(source) for source in sources]}}
    data = DatasetCardData(
        language=sorted({source.language.split("-")[0] for source in plan.sources}),
        license=plan.license,
        task_categories=["text-generation"],
        tags=["kto", "dpo", "preference", "multilingual", MERGED_TAG],
        configs=configs,
        **listed,
    )
    values: dict[str, Any] = {
        "sources": sources,
        "models": [
            {"id": model, "licence": licences.named(licence), "terms": licences.terms(licence)}
            for model, licence in sorted(models.items())
        ],
        "merged": merged,
        "configs": [config["config_name"] for config in configs],
        "licence": plan.license,
        "repo": repo or "<this folder>",
    }
    return DatasetCard.from_template(data, template_path=str(TEMPLATE), **values)
