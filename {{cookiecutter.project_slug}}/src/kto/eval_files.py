"""What ``kto eval`` leaves behind: ``report.json``, ``pairs.parquet`` (each prompt, both answers
and both verdicts) and a chart of wins, ties and losses, in ``eval.output``."""

import hashlib
import json
from dataclasses import asdict
from pathlib import Path

import pyarrow as pa

from kto import judging
from kto.files import write_parquet
from kto.responses import Response, Table

ANSWERS, JUDGEMENTS = "answers.parquet", "judgements.parquet"  # the seed's generations format
REPORT, PAIRS, CHART = "report.json", "pairs.parquet", "wins.png"
PAIRS_SCHEMA = pa.schema(
    [
        ("prompt", pa.string()),
        ("base", pa.string()),
        ("tuned", pa.string()),
        ("base_rejected", pa.bool_()),  # by kto check's language gate: loses unjudged
        ("tuned_rejected", pa.bool_()),
        ("judge_tuned_first", pa.string()),  # the judge's answer with the tuned model's answer first
        ("judge_base_first", pa.string()),
        ("prefers_tuned_first", pa.string()),  # tuned / base / null (no digit, or not asked)
        ("prefers_base_first", pa.string()),
        ("outcome", pa.string()),  # win / tie / loss for the tuned model; null: not judged yet
    ]
)


def fingerprint(folder: Path) -> str:
    """Short and stable for the same weights: a retrained model is a new slot, never mixed up with
    the answers of the model before it."""
    digest = hashlib.sha256()
    for path in sorted(folder.glob("*.safetensors")) + sorted(folder.glob("*.bin")):
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()[:10]


def pairs_table(texts: dict, gate: dict, keys: dict, judged: Table, judge_id: str) -> list[dict]:
    """One row per prompt both models answered: the gate's or the judge's outcome."""
    rows = []
    for prompt, (base, tuned) in texts.items():
        row = {
            "prompt": prompt,
            "base": base,
            "tuned": tuned,
            "base_rejected": gate[prompt][0],
            "tuned_rejected": gate[prompt][1],
            "judge_tuned_first": None,
            "judge_base_first": None,
            "prefers_tuned_first": None,
            "prefers_base_first": None,
            "outcome": judging.gated(*gate[prompt]),
        }
        if prompt in keys:
            first, second = (
                judged.get(key, {}).get(judge_id, Response(None, None)).raw for key in keys[prompt]
            )
            row |= {
                "judge_tuned_first": first,
                "judge_base_first": second,
                "prefers_tuned_first": judging.preferred(first, tuned_first=True),
                "prefers_base_first": judging.preferred(second, tuned_first=False),
            }
            asked = first is not None and second is not None  # a failed request: the next run asks again
            row["outcome"] = (
                judging.outcome(row["prefers_tuned_first"], row["prefers_base_first"]) if asked else None
            )
        rows.append(row)
    return rows


def as_json(report) -> dict:
    found = asdict(report)
    found["folder"] = str(report.folder)
    found["ci95"] = list(report.ci95) if report.ci95 else None
    return found


def write(report, pairs: list[dict], folder: Path) -> None:
    """``report`` (an ``evaluation.EvalReport``) as JSON, the pairs, and the chart."""
    from kto.plots import eval_chart

    folder.mkdir(parents=True, exist_ok=True)
    write_parquet(pa.Table.from_pylist(pairs, schema=PAIRS_SCHEMA), folder / PAIRS)
    found = as_json(report)
    (folder / REPORT).write_text(json.dumps(found, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    if report.prompts:
        eval_chart(report.wins, report.ties, report.losses, report.win_rate, report.ci95, folder / CHART)


def card_context(config, trained: Path) -> dict | None:
    """The eval report for the model card, when there is one about the model in ``trained``."""
    path = config.path(config.eval.output) / REPORT
    if not path.is_file():
        return None
    found = json.loads(path.read_text(encoding="utf-8"))
    if (
        found.get("models", {}).get("tuned") != f"tuned-{fingerprint(trained)}"
        or found.get("win_rate") is None
    ):
        return None  # about another model (trained again since), or no outcome yet
    low, high = found["ci95"]
    return found | {"conclusive": not low <= 0.5 <= high}
