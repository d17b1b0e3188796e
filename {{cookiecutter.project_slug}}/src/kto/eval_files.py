"""What ``kto eval`` leaves behind: ``report.json``, ``pairs.parquet`` (each prompt's
``judging.Pair``) and a chart of wins, ties and losses, in ``eval.output``; and what the model
card takes from the report."""

import json
from dataclasses import asdict, fields
from pathlib import Path

import pyarrow as pa

from kto import identities, judging
from kto.files import write_parquet

ANSWERS, JUDGEMENTS = "answers.parquet", "judgements.parquet"  # the seed's generations format
IDENTITIES = "identities.json"  # which model gave the kept answers (kto.reuse)
REPORT, PAIRS, CHART = "report.json", "pairs.parquet", "wins.png"
PAIRS_SCHEMA = pa.schema(
    [
        (column.name, pa.bool_() if column.name.endswith("_rejected") else pa.string())
        for column in fields(judging.Pair)
    ]
)


def as_json(report) -> dict:
    """``report`` (an ``evaluation.EvalReport``) for report.json: the conclusion's figures beside the
    counts, and the method that gave them."""
    found = asdict(report)
    conclusion = found.pop("conclusion")
    found["folder"] = str(report.folder)
    found |= {
        "win_rate": conclusion["win_rate"],
        "ci95": list(conclusion["ci95"]) if conclusion["ci95"] else None,
        "p_value": conclusion["p_value"],
        "verdict": conclusion["verdict"],
        "method": judging.METHOD,
        "more_prompts_needed": conclusion["more_prompts"],
    }
    return found


def write(report, pairs: list[judging.Pair], folder: Path) -> None:
    """The report as JSON, the pairs, and the chart; with no outcome at all, none of them: an
    earlier run's report would be about other answers, an empty one about nothing."""
    from kto.plots import eval_chart

    if not report.prompts:
        for name in (REPORT, PAIRS, CHART):
            (folder / name).unlink(missing_ok=True)
        return
    folder.mkdir(parents=True, exist_ok=True)
    write_parquet(pa.Table.from_pylist([asdict(pair) for pair in pairs], schema=PAIRS_SCHEMA), folder / PAIRS)
    found = as_json(report)
    (folder / REPORT).write_text(json.dumps(found, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    conclusion = report.conclusion
    figures = ""
    if conclusion.ci95:
        interval = judging.shown(conclusion.ci95, conclusion.verdict)
        figures = (
            f"\nwin rate {conclusion.win_rate:.3f}, 95% interval {interval}, p = {conclusion.p_value:.2g}"
        )
    eval_chart(report.wins, report.ties, report.losses, conclusion.verdict + figures, folder / CHART)


def card_context(config, trained: Path) -> dict | None:
    """The eval report for the model card, when there is one about the model in ``trained``."""
    path = config.path(config.eval.output) / REPORT
    if not path.is_file():
        return None
    found = json.loads(path.read_text(encoding="utf-8"))
    if found.get("models", {}).get("tuned") != f"tuned-{identities.of_folder(trained)}" or not found.get(
        "verdict"
    ):
        return None  # about another model (trained again since), or from an earlier kto version
    interval = judging.shown(tuple(found["ci95"]), found["verdict"]) if found["ci95"] else None
    return found | {"interval": interval}
