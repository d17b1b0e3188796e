"""What makes a model's answers what they are, as a short hash: answers and verdicts kept from an
earlier run are reused only for the same identity (``kto.reuse``).

A server's model is its address, its model name and the sampling settings; a model run here from
a folder is the hash of the folder's files (a retrained adapter is another model); a judge adds
its template and the fields it fills in.
"""

import hashlib
from pathlib import Path

from kto.config import ModelSlot


def of_folder(folder: Path) -> str:
    """Short and stable for the same weights: a retrained model is never mixed up with the one
    before it. The card and the settings files beside them do not count (their base model is
    the base slot's identity)."""
    digest = hashlib.sha256()
    for path in sorted(folder.glob("*.safetensors")) + sorted(folder.glob("*.bin")):
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()[:10]


def of_slot(slot: ModelSlot, max_new_tokens: int, *more: str) -> str:
    """The slot's identity; ``more``: anything else that shapes its answers (a judge's template)."""
    model = slot.model or ""
    if slot.backend == "transformers" and Path(model).is_dir():
        model = of_folder(Path(model))
    parts = (
        slot.backend,
        slot.base_url or "",
        slot.served_model or slot.id,
        model,
        repr(slot.temperature),
        str(max_new_tokens),
        *more,
    )
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:12]
