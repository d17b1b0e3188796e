"""The judge: a model asked to answer with one of a few digits, for ``kto suggest`` (is this
answer good: 0 or 1) and ``kto eval`` (which of two answers is better: 1 or 2).

A ``Judge`` owns everything about that: its slot, its template and the fields it fills in (in one
pass, ``kto.placeholders``: a text holding ``{response}`` is never filled in again), the answers
it may give (the embedded model is held to them by a grammar, a server is asked for them in the
prompt), its token limit, how its digit is read from an answer, and its identity.
"""

import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from kto import identities, local_model, placeholders
from kto.config import ModelSlot, ProjectConfig

# The judge answers with one digit; a few tokens leave room for a server's chat formatting.
MAX_NEW_TOKENS = 4
RATING_CHOICES = ("0", "1")
PAIR_CHOICES = ("1", "2")

# English instructions, as multilingual arenas use; eval.judge_prompt replaces them.
PAIR_PROMPT = """You compare two answers to the same request. Both should follow these \
instructions, and be written in {language}:

{instructions}

The request:
{prompt}

Answer 1:
{first}

Answer 2:
{second}

Which answer follows the instructions better, in better {language}? Reply with one digit only: \
1 if answer 1 is better, 2 if answer 2 is better."""


@dataclass(frozen=True)
class Judge:
    slot: ModelSlot
    template: str
    choices: tuple[str, ...]
    fixed: Mapping[str, str] = field(default_factory=dict)  # fields the same for every request
    max_new_tokens: int = MAX_NEW_TOKENS

    def text(self, **fields: str) -> str:
        """The template with ``fixed`` and ``fields`` filled in, in one pass."""
        return placeholders.fill(self.template, {**self.fixed, **fields})

    def choice(self, answer: str | None) -> int | None:
        """The first allowed digit in the answer; None when it gives none."""
        return digit(answer, (int(choice) for choice in self.choices))

    def samples(self, count: int) -> list[ModelSlot]:
        """One slot per judgement of each text, asked in parallel; their ids name the samples in
        the journal, while every request still carries the judge's model name."""
        model = self.slot.served_model or self.slot.id
        return [
            self.slot.model_copy(update={"id": f"{self.slot.id}#{n}", "served_model": model})
            for n in range(1, count + 1)
        ]

    def identity(self) -> str:
        """Changes with anything that changes its verdicts: the slot's identity, the template, the
        fixed fields and the choices."""
        fixed = [f"{name}={value}" for name, value in sorted(self.fixed.items())]
        return identities.of_slot(self.slot, self.max_new_tokens, self.template, *fixed, *self.choices)


def digit(answer: str | None, allowed: Iterable[int]) -> int | None:
    """The first of the ``allowed`` digits in the answer, in any script: judges asked in Persian,
    Hindi or Thai often answer with their own digits (Persian one is U+06F1), or full-width ones."""
    wanted = set(allowed)
    return next(
        (value for char in answer or "" if (value := unicodedata.decimal(char, None)) in wanted), None
    )


def judge_slot(configured: ModelSlot, local: bool) -> ModelSlot:
    """The configured judge, or with ``local`` the embedded model at its temperature."""
    if local:
        return ModelSlot(id=local_model.JUDGE_ID, backend="local", temperature=configured.temperature)
    return configured


def rating_judge(config: ProjectConfig, local: bool) -> Judge:
    """``kto suggest``'s judge: suggest.judge and suggest.prompt ({prompt}, {response})."""
    return Judge(
        judge_slot(config.suggest.judge, local),
        config.suggest.prompt,
        RATING_CHOICES,
        {"instructions": config.task.system_prompt},
    )


def pair_judge(config: ProjectConfig, local: bool) -> Judge:
    """``kto eval``'s judge: eval.judge (else suggest.judge) and eval.judge_prompt (else PAIR_PROMPT;
    {prompt}, {first}, {second})."""
    settings = config.eval
    return Judge(
        judge_slot(settings.judge or config.suggest.judge, local),
        settings.judge_prompt or PAIR_PROMPT,
        PAIR_CHOICES,
        {"language": config.language.name, "instructions": config.task.system_prompt},
    )
