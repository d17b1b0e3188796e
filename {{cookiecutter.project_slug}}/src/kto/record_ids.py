"""How a record is named on Argilla: the same answer to the same prompt always gets the same id,
so logging it again updates it and never adds a copy (``kto annotate``, gold records, restore)."""

import hashlib


def record_id(prompt: str, model: str, completion: str) -> str:
    return hashlib.sha256("\x1f".join((prompt, model, completion)).encode()).hexdigest()[:32]


def prompt_id(prompt: str) -> str:
    return hashlib.sha256(prompt.encode()).hexdigest()[:12]
