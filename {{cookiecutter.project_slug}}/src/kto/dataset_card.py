"""The dataset card of an export: Hub metadata through ``huggingface_hub``'s ``DatasetCardData``,
a description in English, and a section in the project's own language."""

from huggingface_hub import DatasetCard, DatasetCardData

from kto import licences
from kto.config import ProjectConfig

TAGS = ["kto", "dpo", "preference", "synthetic", "argilla", "distilabel"]


def quoted_in_language(config: ProjectConfig, text: str) -> str:
    return config.language.markdown_block("\n".join(f"> {line}" for line in text.splitlines()))


def size_category(count: int) -> str:
    for limit, name in (
        (1_000, "n<1K"),
        (10_000, "1K<n<10K"),
        (100_000, "10K<n<100K"),
        (1_000_000, "100K<n<1M"),
    ):
        if count < limit:
            return name
    return "1M<n<10M"


def licence_section(config: ProjectConfig, model_ids: list[str]) -> str:
    """A table of the generator models and their licences, then the terms some of them put on
    this data and on models trained on it."""
    known = {slot.id: slot.license for slot in config.generation.models}
    rows = "\n".join(f"| {model} | {licences.named(known.get(model))} |" for model in model_ids)
    notes = "\n".join(
        f"- {model}: {text}." for model in model_ids if (text := licences.terms(known.get(model)))
    )
    if notes:
        notes = (
            "\nSome of these licences put terms on this data and on models trained on it (a summary: "
            f"read the licences themselves):\n\n{notes}\n"
        )
    unknown = [model for model in model_ids if not known.get(model)]
    if unknown:
        notes += "\nCheck the licence of the models marked unknown on their model cards.\n"
    return f"| model | licence |\n| --- | --- |\n{rows}\n{notes}"


def gates_section(checked: dict | None) -> str:
    """What the quality gates (kto.checks) let through, per model."""
    if not checked:
        return "No quality gates were recorded for this export."
    gates = ", ".join(f"{name}: {action}" for name, action in checked["gates"].items())
    language = checked["expected_language"]
    lines = [
        "Before people rated, `kto annotate` checked every response. Gates: "
        f"{gates} (`drop`: never shown to annotators; `flag`: shown, with the finding in the record's "
        f"`flags` metadata). Expected language: {language or 'not checked'} (lingua-language-detector); "
        f"longer than {checked['max_chars']} characters: `length`"
        + (f"; form: {checked['form']}" if checked["form"] else "")
        + ". Answers of kto's embedded test model are flagged, never dropped.",
        "",
    ]
    models = checked["models"]
    if models is None:
        lines.append("The generations file was not at hand for this export: no counts per gate.")
        return "\n".join(lines)
    names = list(next(iter(models.values()))["checks"]) if models else []
    lines += [
        "Responses per model, and how many each check found (counted over the generations file with "
        "the gates above):",
        "",
        "| model | responses | dropped | flagged | " + " | ".join(names) + " |",
        "| --- " * (4 + len(names)) + "|",
    ]
    for model, counts in models.items():
        total = counts["responses"]
        cells = [counts["dropped"], counts["flagged"], *(counts["checks"][name] for name in names)]
        shares = " | ".join(f"{n} ({n / total:.0%})" if n else "0" for n in cells)
        lines.append(f"| {model} | {total} | {shares} |")
    return "\n".join(lines)


def split_files(name: str, counts: dict | None) -> list[dict]:
    """The configuration's files: ``test`` when it has rows (kto export writes no empty one)."""
    sides = ["train"] + (["test"] if counts and counts[name]["test"] else [])
    return [{"split": side, "path": f"{name}/{side}.parquet"} for side in sides]


def splits_text(found: dict | None) -> str:
    """How many rows each split holds (an export from before the split has none)."""
    if not found:
        return ""
    return (
        f"\nEach has a `train` and a `test` split: {found['test_share']:.0%} of the prompts, chosen by a "
        f"stable hash of their text, are held out with all their answers (`kto`: {found['kto']['train']} "
        f"train, {found['kto']['test']} test rows; `dpo`: {found['dpo']['train']} train, "
        f"{found['dpo']['test']} test pairs), so a model trained on `train` never saw a `test` prompt.\n"
    )


def left_out_text(left: dict) -> str:
    """Who was left out of the data, in numbers and reasons, never by name."""
    gold = (
        "Gold records (known answers mixed among the records) measured each annotator's care; "
        "they are not in the data."
    )
    if not left["annotators"]:
        return f"{gold} No annotator's ratings were left out."
    bounds = ", ".join(f"{rule} ({count})" for rule, count in left["reasons"].items())
    return (
        f"{gold} {left['ratings']} ratings of {left['annotators']} annotators were left out, flagged by "
        f"the project's quality bounds (annotators per bound): {bounds}."
    )


def build(config: ProjectConfig, export, policy, annotators: int) -> DatasetCard:
    stats = export.statistics
    data = DatasetCardData(
        language=[config.language.hub_code] if config.language.hub_code else None,
        license=config.hub.license,
        task_categories=["text-generation"],
        size_categories=[size_category(len(export.kto))],
        tags=TAGS,
        pretty_name=f"{config.task.name.capitalize()} KTO, {config.language.name}",
        configs=[
            {"config_name": "kto", "data_files": split_files("kto", stats.get("splits")), "default": True},
            {"config_name": "dpo", "data_files": split_files("dpo", stats.get("splits"))},
        ],
    )
    repo = config.hub.export_repo
    reconciliation = "\n".join(f"| {name} | {count} |" for name, count in export.reconciliation.items())
    models = "\n".join(
        f"| {model} | {m['up']} | {m['down']} | {m['rate']:.0%} | {m['ci95'][0]:.0%} to {m['ci95'][1]:.0%} |"
        for model, m in stats["models"].items()
    )
    alpha = stats["krippendorff_alpha"]
    alpha_text = f"{alpha:.3f}" if alpha is not None else "undefined (too little overlap or no variation)"
    judge = stats["judge"]
    judge_text = (
        f"Judge-human agreement: {judge['rate']:.0%} ({judge['agreed']} of {judge['compared']} labelled "
        f"answers) for the judge {', '.join(judge['agents'])}, whose suggestions annotators saw on "
        "Argilla; suggestions are never counted as ratings."
        if judge
        else "No judge suggestions were shown to annotators."
    )
    weights = stats["weights"]
    generators = sorted(stats["models"]) or [slot.id for slot in config.generation.models]
    native = config.language.markdown_block(config.language.card_paragraph.strip())
    system_prompt = quoted_in_language(config, config.task.system_prompt)
    guidelines = quoted_in_language(config, config.argilla.guidelines)
    content = f"""---
{data.to_yaml()}
---

# {data.pretty_name}

A preference dataset for **{config.task.name}** in **{config.language.name}** ({config.language.native_name}):
open models answered prompts, and people rated each answer with a thumbs up or a thumbs down on
Argilla. Two configurations:

- `kto` ({len(export.kto)} rows): `prompt`, `completion`, `label` (true = thumbs up), `model`,
  `votes_up`, `votes_down`, `num_ratings`, `agreement` (the share of ratings that agree with the
  label); ready for TRL's `KTOTrainer`.
- `dpo` ({len(export.dpo)} pairs): `prompt`, `chosen`, `rejected`, `chosen_model`, `rejected_model`,
  for every prompt with at least one answer rated up and one rated down.
{splits_text(stats.get("splits"))}
## {config.language.native_name}

{native}

## How it was made

Models: {", ".join(sorted(stats["models"])) or "none labelled yet"}. Their system prompt:

{system_prompt}

The answers come from these models, under their own licences:

{licence_section(config, generators)}
Annotation: {annotators} annotators, {config.argilla.min_submitted} ratings asked per answer, labels
decided by the policy **{policy}**. {left_out_text(stats["left_out"])} The guidelines:

{guidelines}

## Quality gates

{gates_section(stats.get("checks"))}

## Figures

Every rated record, in exactly one row:

| outcome | records |
| --- | --- |
{reconciliation}

| model | thumbs up | thumbs down | share up | 95% interval (Wilson) |
| --- | --- | --- | --- | --- |
{models}

Inter-annotator agreement, Krippendorff's alpha (nominal): {alpha_text}.
{judge_text}
Desirable : undesirable = {stats["desirable"]} : {stats["undesirable"]}; the weights TRL's KTO advice
suggests for that balance: `desirable_weight={weights["desirable_weight"]}`,
`undesirable_weight={weights["undesirable_weight"]}`.

![Approval per model](approval.png)
![Ratings per annotator](annotators.png)

## Use it

```python
from datasets import load_dataset

kto = load_dataset("{repo}", "kto", split="train")  # split="test": the held-out prompts
dpo = load_dataset("{repo}", "dpo", split="train")
```

```python
from trl import KTOConfig, KTOTrainer

args = KTOConfig(
    output_dir="kto-model",
    desirable_weight={weights["desirable_weight"]},
    undesirable_weight={weights["undesirable_weight"]},
    per_device_train_batch_size=4,
    learning_rate=5e-6,
)
trainer = KTOTrainer(model=model, args=args, train_dataset=kto, processing_class=tokenizer)
```

Made with kto-template (distilabel for the answers, Argilla for the ratings).
"""
    return DatasetCard(content)
