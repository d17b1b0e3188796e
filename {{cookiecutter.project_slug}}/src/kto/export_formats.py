"""The datasets ``kto export`` writes, as entries of one table: each a configuration of the Hub
repository (a folder with a ``train`` and a held-out ``test`` parquet file) with its rows, its
columns and its paragraph of the dataset card; and the styles their text comes in (``--format``).
A new dataset is one entry in ``FORMATS``, a new style one entry in ``STYLES``.
"""

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from itertools import product

# A text column names whose words it holds (the conversational style makes it a chat message);
# any other column names its pyarrow type. pyarrow is imported only to write: the CLI reads this.
USER, ASSISTANT = "user", "assistant"


@dataclass(frozen=True)
class TextStyle:
    messages: bool  # a list of chat messages, else a string
    cell: Callable[[str, str], object]  # (role, text) -> the cell


STYLES = {
    "standard": TextStyle(False, lambda role, text: text),
    # Chat messages: what chat models train on (TRL applies the model's chat template).
    "conversational": TextStyle(True, lambda role, text: [{"role": role, "content": text}]),
}


@dataclass(frozen=True)
class DatasetFormat:
    name: str  # the configuration and its folder
    unit: str  # what one row is, in words: "rows", "pairs"
    columns: dict[str, str]  # a role (USER, ASSISTANT) for text, else its pyarrow type
    # Its rows, from the labelled answers (sorted by prompt, best agreed first) and --max-pairs-per-prompt.
    rows: Callable[[list[dict], int | None], list[dict]]
    about: str  # the card's paragraph: its columns and what it is for (Markdown)

    def schema(self, style: TextStyle):
        import pyarrow as pa

        messages = pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())]))
        text = messages if style.messages else pa.string()
        types = {
            name: text if kind in (USER, ASSISTANT) else getattr(pa, kind)()
            for name, kind in self.columns.items()
        }
        return pa.schema(list(types.items()))

    def build(self, labelled: list[dict], max_pairs: int | None, style: TextStyle) -> list[dict]:
        return [
            {
                name: style.cell(kind, row[name]) if kind in (USER, ASSISTANT) else row[name]
                for name, kind in self.columns.items()
            }
            for row in self.rows(labelled, max_pairs)
        ]


def dpo_pairs(labelled: list[dict], max_pairs: int | None) -> list[dict]:
    """Every (thumbs up, thumbs down) pair of answers to the same prompt, best agreed first."""
    by_prompt: dict[str, dict[bool, list[dict]]] = defaultdict(lambda: {True: [], False: []})
    for item in labelled:
        by_prompt[item["prompt"]][item["label"]].append(item)
    pairs = []
    for prompt, sides in by_prompt.items():
        combos = list(product(sides[True], sides[False]))[:max_pairs]
        pairs += [
            {
                "prompt": prompt,
                "chosen": chosen["completion"],
                "rejected": rejected["completion"],
                "chosen_model": chosen["model"],
                "rejected_model": rejected["model"],
            }
            for chosen, rejected in combos
        ]
    return pairs


FORMATS = (
    DatasetFormat(
        "kto",
        "rows",
        {
            "prompt": USER,
            "completion": ASSISTANT,
            "label": "bool_",
            "model": "string",
            "votes_up": "int64",
            "votes_down": "int64",
            "num_ratings": "int64",
            "agreement": "float64",
        },
        lambda labelled, max_pairs: labelled,
        "`prompt`, `completion`, `label` (true = thumbs up), `model`, `votes_up`, `votes_down`, "
        "`num_ratings`, `agreement` (the share of ratings that agree with the label); ready for TRL's "
        "`KTOTrainer`.",
    ),
    DatasetFormat(
        "dpo",
        "pairs",
        {
            "prompt": USER,
            "chosen": ASSISTANT,
            "rejected": ASSISTANT,
            "chosen_model": "string",
            "rejected_model": "string",
        },
        dpo_pairs,
        "`prompt`, `chosen`, `rejected`, `chosen_model`, `rejected_model`, for every prompt with at "
        "least one answer rated up and one rated down.",
    ),
)
