"""Writing an export: parquet for KTO and DPO (a ``train`` and a held-out ``test`` split each), the
reconciliation and statistics as JSON, the charts, and the dataset card. All of it goes to a
temporary folder first and then replaces the previous export at once, so a failure never leaves a
half-written export behind."""

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from kto import dataset_card, splits
from kto.config import ProjectConfig
from kto.export import ExportReport, Policy
from kto.files import partial_folder, replace_folder
from kto.plots import export_charts

MESSAGES = pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())]))


def schemas(conversational: bool) -> tuple[pa.Schema, pa.Schema]:
    text = MESSAGES if conversational else pa.string()
    kto = pa.schema(
        [
            ("prompt", text),
            ("completion", text),
            ("label", pa.bool_()),
            ("model", pa.string()),
            ("votes_up", pa.int64()),
            ("votes_down", pa.int64()),
            ("num_ratings", pa.int64()),
            ("agreement", pa.float64()),
        ]
    )
    dpo = pa.schema(
        [
            ("prompt", text),
            ("chosen", text),
            ("rejected", text),
            ("chosen_model", pa.string()),
            ("rejected_model", pa.string()),
        ]
    )
    return kto, dpo


def write(
    export: ExportReport, config: ProjectConfig, policy: Policy, folder: Path, *, conversational: bool
) -> None:
    partial = partial_folder(folder)
    kto_schema, dpo_schema = schemas(conversational)
    export.statistics["splits"] = {"test_share": config.export.test_share}
    for name, rows, schema in (("kto", export.kto, kto_schema), ("dpo", export.dpo, dpo_schema)):
        (partial / name).mkdir()
        sides = dict(zip(("train", "test"), splits.split(rows, config.export.test_share), strict=True))
        for side, kept in sides.items():
            if kept or side == "train":  # datasets cannot read a parquet file without rows
                pq.write_table(pa.Table.from_pylist(kept, schema=schema), partial / name / f"{side}.parquet")
        export.statistics["splits"][name] = {side: len(kept) for side, kept in sides.items()}
    (partial / "reconciliation.json").write_text(json.dumps(export.reconciliation, indent=2) + "\n")
    (partial / "statistics.json").write_text(
        json.dumps(export.statistics, indent=2, ensure_ascii=False) + "\n"
    )
    export_charts(export.statistics, partial)
    dataset_card.build(config, export, policy).save(partial / "README.md")
    replace_folder(partial, folder)


def run(
    config: ProjectConfig,
    policy: Policy,
    folder: Path,
    *,
    source: Path | None,
    conversational: bool,
    max_pairs: int | None,
    push: bool = False,
    keep_flagged: bool = False,
) -> ExportReport:
    """The export of the ratings on the server, or in a backup file (``source``), written to ``folder``."""
    from kto import gates, ratings
    from kto.export import aggregate

    if source:
        rows = ratings.load(source)
    else:
        from kto.argilla_client import open_dataset

        rows = ratings.fetch(*open_dataset(config))
    result = aggregate(
        rows,
        policy,
        conversational=conversational,
        max_pairs=max_pairs,
        quality=config.quality,
        keep_flagged=keep_flagged,
    )
    result.statistics["checks"] = gates.statistics(config)
    write(result, config, policy, folder, conversational=conversational)
    if push:
        from kto.hub import push_folder

        result.pushed = push_folder(folder, config.hub.export_repo, private=config.hub.private)
    return result
