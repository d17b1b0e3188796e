"""Writing an export: parquet for each format (a ``train`` and a held-out ``test`` split each), the
reconciliation and statistics as JSON, the charts, and the dataset card. All of it goes to a
temporary folder first and then replaces the previous export at once, so a failure never leaves a
half-written export behind."""

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from kto import dataset_card, gates, splits
from kto.config import ProjectConfig
from kto.export import ExportReport, Policy
from kto.export_formats import FORMATS, STYLES
from kto.files import partial_folder, replace_folder
from kto.plots import export_charts


def write(export: ExportReport, config: ProjectConfig, policy: Policy, folder: Path, *, style: str) -> None:
    """Each format's train and test files, and the statistics.json that the card and the charts
    read: the export's statistics, with the gates' counts and the split sizes."""
    partial = partial_folder(folder)
    sizes: dict = {"test_share": config.export.test_share}
    for form in FORMATS:
        (partial / form.name).mkdir()
        rows = export.datasets[form.name]
        sides = dict(zip(("train", "test"), splits.split(rows, config.export.test_share), strict=True))
        for side, kept in sides.items():
            if kept or side == "train":  # datasets cannot read a parquet file without rows
                table = pa.Table.from_pylist(kept, schema=form.schema(STYLES[style]))
                pq.write_table(table, partial / form.name / f"{side}.parquet")
        sizes[form.name] = {side: len(kept) for side, kept in sides.items()}
    statistics = anonymised(export.statistics) | {"checks": gates.statistics(config), "splits": sizes}
    (partial / "reconciliation.json").write_text(json.dumps(export.reconciliation, indent=2) + "\n")
    (partial / "statistics.json").write_text(json.dumps(statistics, indent=2, ensure_ascii=False) + "\n")
    export_charts(statistics, partial)
    dataset_card.build(config, export, policy, statistics).save(partial / "README.md")
    replace_folder(partial, folder)


def anonymised(statistics: dict) -> dict:
    """The statistics as they are published: annotators as "rater 1", "rater 2"... (most ratings
    first), never by name, since the folder goes to the Hub and a flag is the lead's to know
    (kto status shows it), not the world's; the flagged annotators kept are counted, not named."""
    ranked = sorted(statistics["annotators"].items(), key=lambda item: (-item[1]["submitted"], item[0]))
    left_out = statistics["left_out"] | {"kept_flagged": len(statistics["left_out"]["kept_flagged"])}
    return statistics | {
        "annotators": {f"rater {rank}": figures for rank, (_, figures) in enumerate(ranked, start=1)},
        "left_out": left_out,
    }


def run(
    config: ProjectConfig,
    policy: Policy,
    folder: Path,
    *,
    source: Path | None,
    style: str = "standard",
    max_pairs: int | None = None,
    push: bool = False,
    keep_flagged: bool = False,
) -> ExportReport:
    """The export of the ratings on the server, or in a backup file (``source``), written to ``folder``."""
    from kto import ratings
    from kto.export import aggregate

    if source:
        rows = ratings.load(source)
    else:
        from kto.argilla_client import open_dataset

        rows = ratings.fetch(*open_dataset(config))
    result = aggregate(
        rows,
        policy,
        style=style,
        max_pairs=max_pairs,
        quality=config.quality,
        keep_flagged=keep_flagged,
    )
    write(result, config, policy, folder, style=style)
    if push:
        from kto.hub import push_folder

        result.pushed = push_folder(folder, config.hub.export_repo, private=config.hub.private)
    return result
