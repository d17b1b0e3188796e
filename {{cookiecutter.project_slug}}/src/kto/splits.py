"""Held-out prompts: which side of the train / test split a prompt falls on.

The side is decided by a stable hash of the prompt's normalised text (sha256, not Python's
``hash``, which changes from one process to the next), so a prompt falls on the same side in every
export and every project, and no prompt has answers on both sides: ``kto train`` never sees the
prompts ``kto eval`` asks about.
"""

import hashlib
import unicodedata


def prompt_text(prompt: str | list[dict]) -> str:
    """The text of a prompt, as a string or as the conversational format's messages."""
    if isinstance(prompt, str):
        return prompt
    return "\n".join(message["content"] for message in prompt if message["role"] == "user")


def normalised(prompt: str | list[dict]) -> str:
    """The prompt's text as the split sees it: NFC, runs of white space as one space."""
    return " ".join(unicodedata.normalize("NFC", prompt_text(prompt)).split())


def is_held_out(prompt: str | list[dict], share: float) -> bool:
    """Whether ``prompt`` belongs to the test side; about ``share`` of all prompts do."""
    text = normalised(prompt)
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < share


def split(rows: list[dict], share: float) -> tuple[list[dict], list[dict]]:
    """``rows`` (each with a ``prompt``) as (train, test), in their order."""
    train: list[dict] = []
    test: list[dict] = []
    for row in rows:
        (test if is_held_out(row["prompt"], share) else train).append(row)
    return train, test
