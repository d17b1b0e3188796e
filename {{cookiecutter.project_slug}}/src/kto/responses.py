"""The generations file in the seed's format, and the bookkeeping that makes re-runs safe.

One row per prompt: ``input``, and lists aligned by model: ``generation_model``,
``generation_prompt`` (the full prompt that model saw), ``raw_generation_responses``
and ``generations`` (cleaned). A model whose call failed has ``None`` in the last two,
which is a gap the next run fills.
"""

import re
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from kto.errors import KtoError
from kto.files import write_parquet

TEXT_LIST = pa.list_(pa.string())
SCHEMA = pa.schema(
    [
        ("input", pa.string()),
        ("generation_model", TEXT_LIST),
        ("generation_prompt", TEXT_LIST),
        ("raw_generation_responses", TEXT_LIST),
        ("generations", TEXT_LIST),
    ]
)
# Chat-template tokens that small or misconfigured models sometimes echo into their answer.
SPECIAL_TOKENS = re.compile(
    r"<(?:end_of_turn|start_of_turn|eos|bos|\|im_end\||\|im_start\||\|eot_id\|)>|</s>"
)
# A reasoning model's thoughts; an unclosed block is one cut off by max_new_tokens.
THINK_BLOCK = re.compile(r"<think>.*?(?:</think>|\Z)", re.DOTALL)
CODE_FENCE = re.compile(r"\A```[\w-]*\n(.*?)\n?```\Z", re.DOTALL)


@dataclass(frozen=True)
class Response:
    prompt_seen: str | None
    raw: str | None

    @property
    def text(self) -> str | None:
        return clean_response(self.raw)


# prompt -> model id -> response; dicts keep the order rows and models were first seen in.
Table = dict[str, dict[str, Response]]


def clean_response(raw: str | None) -> str | None:
    """The answer without template tokens, a reasoning model's <think> block, code fences or
    trailing blanks; None if nothing is left (the raw text keeps all of it)."""
    if raw is None:
        return None
    text = THINK_BLOCK.sub("", raw)
    # Some chat templates open the block in the prompt: the answer then holds only its end.
    text = text.rpartition("</think>")[2]
    text = SPECIAL_TOKENS.sub("", text).strip()
    if fenced := CODE_FENCE.match(text):
        text = fenced.group(1)
    text = "\n".join(line.rstrip() for line in text.strip().splitlines())
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text or None


def read_table(path: Path, field: str = "output") -> Table:
    """The generations in ``path`` (none if it does not exist yet); ``field`` names the option or
    setting the path came from, for the error line."""
    if not path.exists():
        return {}
    try:
        rows = pq.read_table(path).to_pylist()
    except (pa.ArrowInvalid, OSError) as error:
        raise KtoError(field, f"{path} is not a readable parquet file ({error})") from error
    missing = [name for name in SCHEMA.names if rows and name not in rows[0]]
    if missing:
        raise KtoError(field, f"{path} is not a generations file: it lacks {', '.join(missing)}")
    table: Table = {}
    for row in rows:
        table[row["input"]] = {
            model: Response(prompt_seen, raw)
            for model, prompt_seen, raw in zip(
                row["generation_model"],
                row["generation_prompt"],
                row["raw_generation_responses"],
                strict=True,
            )
        }
    return table


def read_generations(path: Path) -> list[dict]:
    """The rows of a generations file, to check or annotate; one line when there are none."""
    table = read_table(path, field="input")
    if not table:
        raise KtoError("input", f"{path} has no generations: run kto generate first")
    return to_rows(table, [], [])


def gaps(table: Table, prompts: list[str], model_ids: list[str]) -> dict[str, list[str]]:
    """For each model, the prompts it has no response to yet (never answered, or failed)."""
    return {
        model: [
            prompt for prompt in prompts if table.get(prompt, {}).get(model, Response(None, None)).raw is None
        ]
        for model in model_ids
    }


def merge(table: Table, new: Table) -> Table:
    """``table`` with ``new`` responses filling its gaps; nothing already answered is replaced."""
    merged = {prompt: dict(responses) for prompt, responses in table.items()}
    for prompt, responses in new.items():
        row = merged.setdefault(prompt, {})
        for model, response in responses.items():
            if row.get(model) is None or row[model].raw is None:
                row[model] = response
    return merged


def to_rows(table: Table, prompts: list[str], model_ids: list[str]) -> list[dict]:
    """Rows in the seed's format: the given prompts and models first, anything older after them."""
    current = set(prompts)
    rows = []
    for prompt in dict.fromkeys([*prompts, *table]):
        responses = table.get(prompt, {})
        models = list(dict.fromkeys([*model_ids, *responses])) if prompt in current else list(responses)
        slots = [responses.get(model, Response(None, None)) for model in models]
        rows.append(
            {
                "input": prompt,
                "generation_model": models,
                "generation_prompt": [slot.prompt_seen for slot in slots],
                "raw_generation_responses": [slot.raw for slot in slots],
                "generations": [slot.text for slot in slots],
            }
        )
    return rows


def write_rows(rows: list[dict], path: Path) -> None:
    write_parquet(pa.Table.from_pylist(rows, schema=SCHEMA), path)
