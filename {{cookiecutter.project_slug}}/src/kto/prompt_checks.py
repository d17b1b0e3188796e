"""``kto prompts check``: the prompts of a file that fail the prompt gates (:mod:`kto.prompt_gates`),
and ``kto generate``'s one-line warning when its prompts would.
"""

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from kto.config import ModelSlot, ProjectConfig
from kto.errors import KtoError
from kto.prompt_gates import REASONS, PromptFinding, PromptGates, find_problems, units
from kto.prompts import write_prompts

# The embedded model counts at least this many characters per token in no language we ship:
# a prompt longer than its context times this can never fit. Servers: a 128k-token context.
MAX_CHARS_PER_TOKEN = 8
SERVER_CONTEXT_TOKENS = 131_072


@dataclass
class PromptCheckReport:
    source: str
    rows: int
    findings: list[PromptFinding]
    fixed: Path | None = None  # the cleaned copy --fix wrote
    kept: int = 0  # the prompts in it
    counts: dict[str, int] = field(default_factory=dict)  # reason -> rows
    read_as: str | None = None  # the encoding, when the file is not UTF-8 and it was guessed
    bad_lines: tuple[int, ...] = ()  # the file's lines with bytes that are not UTF-8

    def summary(self) -> str:
        return ", ".join(f"{count} {reason}" for reason, count in self.counts.items() if count)


def check(config: ProjectConfig, source: str | None = None, *, fix: bool = False) -> PromptCheckReport:
    """``kto prompts check``: the problems of a prompts file (default ``prompts.source``);
    ``fix`` writes its prompts without them next to it, as ``<name>.clean.jsonl``, a list on one
    line split into its prompts."""
    from kto.prompts import decode_file, read_texts, source_file

    source = source or config.prompts.source
    language = config.language.code
    # As kto generate reads them: without the spaces around.
    texts = [text.strip() for text in read_texts(source, config.prompts.column, config.root, language)]
    findings = find_problems(texts, PromptGates.from_config(config, min_chars=1))
    report = PromptCheckReport(source, len(texts), findings, counts=_counts(findings))
    path = source_file(source, config.root)
    if path is not None and path.suffix.lower() != ".parquet":
        decoded = decode_file(path, language)
        report.read_as, report.bad_lines = decoded.guessed, decoded.bad_lines
    if fix:
        path = path or config.path("prompts") / Path(source).name
        bad = {(finding.row, finding.part) for finding in findings if finding.reason != "list"}
        clean = [text for row, part, text in units(texts) if (row, part) not in bad]
        report.fixed, report.kept = path.with_name(f"{path.stem}.clean.jsonl"), len(clean)
        write_prompts(clean, report.fixed, config.prompts.column)
    return report


def screen(
    config: ProjectConfig, texts: list[str], slots: list[ModelSlot], warn: Callable[[str], None]
) -> None:
    """For ``kto generate``: refuse a prompt no model's context could hold, and warn in one line
    when the prompts have what ``kto prompts check`` lists."""
    longest = max(texts, key=len, default="")
    for slot in slots:
        limit = context_chars(config, slot)
        if len(longest) > limit:
            row = texts.index(longest) + 1
            raise KtoError(
                "prompts",
                f"prompt {row} has {len(longest):,} characters, more than {slot.id}'s context can hold "
                f"(about {limit:,}): shorten it or leave it out (kto prompts check lists the long ones)",
            )
    counts = screened_counts(config, texts)
    if problems := sum(counts.values()):
        listed = ", ".join(f"{count} {reason}" for reason, count in counts.items() if count)
        warn(f"{problems} of {len(texts)} prompts have problems ({listed}): kto prompts check lists them")


def screened_counts(config: ProjectConfig, texts: list[str]) -> dict[str, int]:
    """The problems of ``texts`` by reason, remembered for the same prompts and gates: the language
    gate loads lingua's models (seconds), which a re-run of kto generate need not wait for again."""
    gates = PromptGates.from_config(config, min_chars=1)
    key = hashlib.sha256(json.dumps([repr(gates), texts], ensure_ascii=False).encode()).hexdigest()
    memo = config.path(".cache/kto/prompt-checks.json")
    try:
        remembered = json.loads(memo.read_text(encoding="utf-8"))
        if remembered["key"] == key:
            return remembered["counts"]
    except (OSError, ValueError, KeyError, TypeError):
        pass
    counts = _counts(find_problems(texts, gates))
    memo.parent.mkdir(parents=True, exist_ok=True)
    memo.write_text(json.dumps({"key": key, "counts": counts}), encoding="utf-8")
    return counts


def context_chars(config: ProjectConfig, slot: ModelSlot) -> int:
    """The most characters a prompt may have and still fit in ``slot``'s context, at best."""
    tokens = config.generation.local.n_ctx if slot.backend == "local" else SERVER_CONTEXT_TOKENS
    return max(0, tokens - config.generation.max_new_tokens) * MAX_CHARS_PER_TOKEN


def _counts(findings: list[PromptFinding]) -> dict[str, int]:
    counts = dict.fromkeys(REASONS, 0)
    for finding in findings:
        counts[finding.reason] += 1
    return counts
