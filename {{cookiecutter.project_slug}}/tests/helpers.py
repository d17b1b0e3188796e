"""Data and assertions several test modules share (test modules never import each other)."""

from pathlib import Path

from kto import ratings

# -- Dutch answers for the quality gates (kto.gates) --------------------------------------------

DUTCH_HAIKU = "Golven rollen aan\nzilver licht op natte zand\nmeeuwen roepen luid"
ENGLISH_HAIKU = "Waves roll onto the shore\nsilver light on the wet sand\nseagulls calling loud"
DUTCH_PROSE = "De zee is heel mooi en ik wandel daar graag met mijn hond in de zomer, als het warm is."
DUTCH_PROMPT = "Schrijf een haiku over de zee."
DUTCH_SYSTEM = "Je bent een dichter die gespecialiseerd is in haiku.\nAntwoord alleen met de haiku."


def write_dutch_generations(project: Path) -> Path:
    from kto.responses import write_rows

    texts = [DUTCH_HAIKU, ENGLISH_HAIKU, "", DUTCH_PROSE, DUTCH_HAIKU.upper()]
    models = [f"team/m{n}" for n in range(len(texts))]
    rows = [
        {
            "input": DUTCH_PROMPT,
            "generation_model": models,
            "generation_prompt": [DUTCH_PROMPT] * len(texts),
            "raw_generation_responses": texts,
            "generations": [text or None for text in texts],
        }
    ]
    path = project / "data" / "generations.parquet"
    write_rows(rows, path)
    return path


# -- The CLI's error contract --------------------------------------------------------------------


def assert_one_error_line(result, field: str, code: int = 1) -> None:
    assert result.returncode == code, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"error: {field}: "), lines[0]


# -- A rating case worked out by hand (kto export) ------------------------------------------------


def response(user: str, value: str, status: str = "submitted") -> dict:
    return {"user": user, "value": value, "status": status}


def record(number: int, prompt: str, model: str, *responses: dict) -> dict:
    return {
        "id": f"r{number}",
        "prompt": prompt,
        "completion": f"answer {number}",
        "model": model,
        "prompt_id": prompt,
        "language": "xx",
        "status": "completed" if len(responses) >= 2 else "pending",
        "responses": list(responses),
    }


# r1 3 up; r2 2 down, 1 up; r3 1 up, 1 down; r4 1 up; r5 discarded; r6 not rated.
CASE = [
    record(1, "P1", "m1", response("a1", "up"), response("a2", "up"), response("a3", "up")),
    record(2, "P1", "m2", response("a1", "down"), response("a2", "down"), response("a3", "up")),
    record(3, "P1", "m3", response("a1", "up"), response("a2", "down")),
    record(4, "P2", "m1", response("a1", "up")),
    record(5, "P2", "m2", response("a2", "down", "discarded")),
    record(6, "P2", "m3"),
]
# Nominal Krippendorff's alpha by hand over r1-r3 (the records rated twice or more): coincidences
# o00=1, o01=o10=2, o11=3, n=8, n0=3, n1=5; D_o = 4/8, D_e = 2*3*5/(8*7); alpha = 1 - D_o/D_e = 1/15.
ALPHA = 1 / 15

EXPECTED = {
    "majority": (
        {"labelled-up": 1, "labelled-down": 1, "tie": 1, "below-threshold": 1, "discarded": 1, "pending": 1},
        [("answer 1", True, 3, 0), ("answer 2", False, 1, 2)],
    ),
    "unanimous": (
        {"labelled-up": 1, "labelled-down": 0, "tie": 2, "below-threshold": 1, "discarded": 1, "pending": 1},
        [("answer 1", True, 3, 0)],
    ),
    "min-votes=1": (
        {"labelled-up": 2, "labelled-down": 1, "tie": 1, "below-threshold": 0, "discarded": 1, "pending": 1},
        [("answer 1", True, 3, 0), ("answer 2", False, 1, 2), ("answer 4", True, 1, 0)],
    ),
}


# -- A ratings backup for export, train and eval ---------------------------------------------------


def rated_backup(path: Path, prompts: list[str], models: tuple[str, ...] = ("team/a", "team/b")) -> Path:
    """A ratings backup in which two annotators rate every model's answer to every prompt: the
    first model's answers up, the others' down (so each prompt has both labels, and DPO pairs)."""
    records = [
        {
            "id": f"r{number}-{index}",
            "prompt": prompt,
            "completion": f"Answer {index} to {prompt}\nsecond line of it\nthird line of it",
            "model": model,
            "prompt_id": prompt,
            "language": "xx",
            "status": "completed",
            "responses": [
                {"user": user, "value": "up" if index == 0 else "down", "status": "submitted"}
                for user in ("a", "b")
            ],
            "suggestion": None,
        }
        for number, prompt in enumerate(prompts)
        for index, model in enumerate(models)
    ]
    ratings.save(records, path)
    return path


def export_rows(folder: Path, config_name: str) -> list[dict]:
    """Every row of an export's configuration, its held-out ``test`` split included (a prompt's
    side is chosen by a hash of its text, so a test about labels reads both)."""
    import pyarrow.parquet as pq

    return [
        row
        for split in ("train", "test")
        if (path := folder / config_name / f"{split}.parquet").exists()
        for row in pq.read_table(path).to_pylist()
    ]
