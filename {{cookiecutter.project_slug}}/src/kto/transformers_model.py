"""A model slot run in this process with transformers: ``kto eval``'s base and trained models.

The slot's ``model`` is a Hub id or a folder; a folder holding a peft adapter (what ``kto train``
saves with LoRA) loads the base the adapter names, then the adapter. It runs on the GPU when there
is one. One request at a time: ``generate`` already uses the whole device.
"""

import asyncio
import json
import threading
from pathlib import Path
from typing import Any

from kto.config import ModelSlot
from kto.errors import KtoError, short


def adapter_base(folder: str | Path) -> str | None:
    """The base model a peft adapter folder names (None: not an adapter folder)."""
    config = Path(folder) / "adapter_config.json"
    if not config.is_file():
        return None
    return json.loads(config.read_text(encoding="utf-8")).get("base_model_name_or_path")


class TransformersModel:
    """``ChatModel`` for a transformers causal LM: ``load()``, ``await ask(messages)``, ``close()``."""

    def __init__(self, slot: ModelSlot, max_new_tokens: int):
        self.slot = slot
        self.max_new_tokens = max_new_tokens
        self._model: Any = None
        self._tokenizer: Any = None
        self._lock = threading.Lock()

    def load(self) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        name = str(self.slot.model)
        try:
            tokenizer = AutoTokenizer.from_pretrained(name)
            if adapter_base(name) is not None:
                from peft import AutoPeftModelForCausalLM

                model = AutoPeftModelForCausalLM.from_pretrained(name)
            else:
                model = AutoModelForCausalLM.from_pretrained(name)
        except (OSError, ValueError) as error:  # not cached and offline, no such model, a bad folder
            raise KtoError(
                f"model {self.slot.id}",
                f"cannot load {name!r}: {short(error)} (offline, a model must be in the Hugging "
                "Face cache or a local folder)",
            ) from error
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        device = "cuda" if torch.cuda.is_available() else "cpu"
        self._model, self._tokenizer = model.to(device).eval(), tokenizer

    async def ask(self, messages: list[dict]) -> str | None:
        return await asyncio.to_thread(self._generate, messages)

    async def aclose(self) -> None:
        """Nothing to close: no connections."""

    def close(self) -> None:
        self._model = self._tokenizer = None

    def encode(self, messages: list[dict]):
        """The tokens the model is given for ``messages``, as kto train presents its rows
        (``kto.train.training_rows``): the chat template, else the prompt's plain text."""
        tokenizer = self._tokenizer
        if tokenizer.chat_template:
            text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        else:
            text = messages[-1]["content"]
        special = not tokenizer.chat_template  # a chat template writes its own BOS; plain text gets TRL's
        return tokenizer(text, return_tensors="pt", add_special_tokens=special)

    def _generate(self, messages: list[dict]) -> str:
        import torch

        if self._model is None or self._tokenizer is None:
            raise RuntimeError(f"{self.slot.id} was asked before it was loaded")
        tokenizer = self._tokenizer
        inputs = self.encode(messages).to(self._model.device)
        sampling = {"do_sample": True, "temperature": self.slot.temperature} if self.slot.temperature else {}
        with self._lock, torch.no_grad():
            output = self._model.generate(
                **inputs,
                max_new_tokens=self.max_new_tokens,
                pad_token_id=tokenizer.pad_token_id,
                **({"do_sample": False} | sampling),
            )
        return tokenizer.decode(output[0][inputs["input_ids"].shape[1] :], skip_special_tokens=True)
