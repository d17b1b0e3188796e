"""``kto train``: TRL's KTOTrainer on the exported KTO dataset, with LoRA adapters through peft.

``--dry-run`` swaps the base model for a tiny randomly initialised causal LM built on the spot (a
LlamaConfig and a BPE tokenizer trained on the export's own text), so the whole loop runs offline
on a CPU in seconds, into ``<training.output_dir>-dry-run`` (never over a real model). It proves the
plumbing; the model learns nothing worth keeping.

Both export formats train. A base with a chat template trains on the chat its answers came from and
kto eval asks it in: the task's system prompt, then the prompt (``kto.jobs.messages``), rendered by
TRL with that template, whichever format the export has. A base without one trains on the plain text
of a standard export (TRL: prompt, then completion and EOS), which is how kto eval prompts it too.
"""

import copy
import json
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import pyarrow.parquet as pq

from kto import model_card
from kto.campaign_settings import Training
from kto.config import ProjectConfig
from kto.errors import KtoError, one_line, short
from kto.export import kto_weights
from kto.jobs import messages

DRY_RUN_STEPS = 2
DRY_RUN_EVAL_ROWS = 8  # the dry run's evaluation on the test split stays a few forward passes
TINY_VOCABULARY = 300
SPECIAL_TOKENS = ["<unk>", "<s>", "</s>", "<pad>"]
# The tiny model's chat template: a rendered prompt is a prefix of the rendered prompt and
# completion, as TRL needs.
TINY_CHAT_TEMPLATE = (
    "{% for message in messages %}<s>{{ message['role'] }}: {{ message['content'] }}</s>{% endfor %}"
    "{% if add_generation_prompt %}<s>assistant: {% endif %}"
)
DRY_RUN_BASE = ".cache/kto/dry-run-base"
# The run's figures, kept beside the weights: kto train --push-only writes the card again from them.
RUN_FIGURES = "training_run.json"

StepDone = Callable[[int, int, float | None], None]
Starting = Callable[[str, int], None]  # (what is trained, KTO rows) once the data is read


@dataclass(frozen=True)
class TrainReport:
    output_dir: Path
    steps: int
    loss: float
    weights: dict[str, float]
    card: Path | None = None
    pushed: str | None = None  # the model's URL on the Hub
    # TRL's evaluation on the export's test split (eval_loss, eval_kl, eval_rewards/...); None: no test rows.
    evaluation: dict[str, float] | None = None
    judged: bool = False  # the card holds kto eval's report on this very model


def run(
    config: ProjectConfig,
    data: Path,
    *,
    dry_run: bool,
    push: bool = False,
    on_start: Starting | None = None,
    on_step: StepDone | None = None,
) -> TrainReport:
    """``kto train``: read the export in ``data``, train, write the model card, and push with ``push``."""
    require_training_extra()
    rows, test = read_export(data), read_test(data)
    model, tokenizer = model_and_tokenizer(config, rows, dry_run=dry_run)
    rows, test = training_rows(config, rows, tokenizer), training_rows(config, test, tokenizer)
    if on_start:
        on_start("a tiny random model" if dry_run else config.training_settings().base_model, len(rows))
    test = test[:DRY_RUN_EVAL_ROWS] if dry_run else test
    figures = config.model_dir(dry_run=dry_run) / RUN_FIGURES
    figures.unlink(missing_ok=True)  # a run that fails leaves nothing that --push-only would take as trained
    result = fit(config, rows, model, tokenizer, dry_run=dry_run, on_step=on_step, test=test)
    kept = {key: asdict(result)[key] for key in ("steps", "loss", "weights", "evaluation")}
    figures.write_text(json.dumps(kept, indent=2) + "\n", encoding="utf-8")
    return carded(config, result, dry_run=dry_run, push=push)


def push_trained(config: ProjectConfig, *, dry_run: bool) -> TrainReport:
    """``kto train --push-only``: push the model trained last, without training again, its card
    written anew so that it holds kto eval's report when that report is about this model."""
    folder = config.model_dir(dry_run=dry_run)
    figures = folder / RUN_FIGURES
    if not figures.is_file():
        again = "kto train --dry-run" if dry_run else "kto train"
        raise KtoError("train", f"nothing trained in {folder} (no {RUN_FIGURES}): run {again} first")
    result = TrainReport(folder, **json.loads(figures.read_text(encoding="utf-8")))
    return carded(config, result, dry_run=dry_run, push=True)


def carded(config: ProjectConfig, result: TrainReport, *, dry_run: bool, push: bool) -> TrainReport:
    """``result`` with its model card written, and pushed with the model when ``push``."""
    card = model_card.write_model_card(config, result, dry_run=dry_run)
    result = replace(result, card=card, judged=model_card.judged(config, result.output_dir))
    if not push:
        return result
    from kto.hub import push_folder

    url = push_folder(result.output_dir, config.hub.model_repo, private=config.hub.private, repo_type="model")
    return replace(result, pushed=url)


def read_export(folder: Path) -> list[dict]:
    """The KTO rows, checked: both labels are needed (KTO weighs one side against the other)."""
    path = folder / "kto" / "train.parquet"
    if not path.is_file():
        raise KtoError("train", f"no KTO dataset at {path}: run kto export first")
    rows = pq.read_table(path).to_pylist()
    if not rows:
        raise KtoError("train", f"{path} has no rows: rate more answers, then kto export again")
    ups = sum(1 for row in rows if row["label"])
    if ups in (0, len(rows)):
        side = "thumbs up" if ups else "thumbs down"
        raise KtoError(
            "train", f"all {len(rows)} rows are {side}: KTO needs both labels; rate more, then export again"
        )
    return [{"prompt": row["prompt"], "completion": row["completion"], "label": row["label"]} for row in rows]


def read_test(folder: Path) -> list[dict]:
    """The KTO test split's rows (none in an export from before it, or with export.test_share 0)."""
    path = folder / "kto" / "test.parquet"
    rows = pq.read_table(path).to_pylist() if path.is_file() else []
    return [{key: row[key] for key in ("prompt", "completion", "label")} for row in rows]


def weights(settings: Training, rows: list[dict]) -> dict[str, float]:
    """The configured weights, else those TRL advises for the export's balance."""
    ups = sum(1 for row in rows if row["label"])
    advised = kto_weights(ups, len(rows) - ups)
    return {
        "desirable_weight": settings.desirable_weight or advised["desirable_weight"],
        "undesirable_weight": settings.undesirable_weight or advised["undesirable_weight"],
    }


def require_training_extra() -> None:
    try:
        import peft  # noqa: F401
        import torch  # noqa: F401
        import trl  # noqa: F401
    except ImportError as error:
        raise KtoError(
            "train", f"install the training extra: pip install -e '.[train]' ({one_line(error)})"
        ) from error


def tiny_model(rows: list[dict]):
    """A randomly initialised Llama of ~40k parameters and a BPE tokenizer trained on ``rows``."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    bpe = Tokenizer(models.BPE(unk_token="<unk>"))
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()  # decoded answers read as text, not as byte symbols
    texts = [text for row in rows for value in (row["prompt"], row["completion"]) for text in texts_of(value)]
    bpe.train_from_iterator(
        texts,
        trainers.BpeTrainer(
            vocab_size=TINY_VOCABULARY,
            special_tokens=SPECIAL_TOKENS,
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        ),
    )
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe, unk_token="<unk>", bos_token="<s>", eos_token="</s>", pad_token="<pad>"
    )
    tokenizer.chat_template = TINY_CHAT_TEMPLATE
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    return LlamaForCausalLM(config), tokenizer


def training_rows(config: ProjectConfig, rows: list[dict], tokenizer) -> list[dict]:
    """The rows as the model is asked at eval: the chat of generation and eval when the tokenizer has
    a chat template, else the standard rows' plain text (kto.transformers_model does the same)."""
    if tokenizer.chat_template:
        return as_chat(rows, config.task.system_prompt)
    if rows and not isinstance(rows[0]["prompt"], str):
        raise KtoError(
            "train",
            f"the export is conversational and {config.training_settings().base_model} has no chat "
            "template: export with --format standard, or pick an instruct base model",
        )
    return rows


def as_chat(rows: list[dict], system_prompt: str) -> list[dict]:
    """KTO rows as the chat generation and eval send (conversational rows for TRL), from either format."""
    return [
        {
            "prompt": messages(system_prompt, texts_of(row["prompt"])[-1]),
            "completion": [{"role": "assistant", "content": texts_of(row["completion"])[-1]}],
            "label": row["label"],
        }
        for row in rows
    ]


def texts_of(value: str | list[dict]) -> list[str]:
    """The text of a standard row's cell, or of each message of a conversational one."""
    return [value] if isinstance(value, str) else [message["content"] for message in value]


def base_model(name: str):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(name)
        model = AutoModelForCausalLM.from_pretrained(name)
    except OSError as error:  # not cached and no network (HF_HUB_OFFLINE), or no such model
        raise KtoError(
            "training.base_model",
            f"cannot load {name!r}: {short(error)} (offline, a model must be in the Hugging "
            "Face cache or a local folder; kto train --dry-run needs none)",
        ) from error
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return model, tokenizer


def lora_config(settings: Training):
    if settings.lora is None:
        return None
    from peft import LoraConfig

    lora = settings.lora
    return LoraConfig(
        r=lora.r,
        lora_alpha=lora.alpha,
        lora_dropout=lora.dropout,
        target_modules=lora.target_modules,
        task_type="CAUSAL_LM",
    )


def model_and_tokenizer(config: ProjectConfig, rows: list[dict], *, dry_run: bool):
    if not dry_run:
        return base_model(config.training_settings().base_model)
    from transformers import set_seed

    set_seed(0)  # the same export gives the same tiny model, and the same trained one
    model, tokenizer = tiny_model(rows)
    # Saved, so that kto eval --local can ask the random base too: the adapter names this folder.
    base = config.path(DRY_RUN_BASE)
    model.save_pretrained(str(base))
    tokenizer.save_pretrained(str(base))
    model.name_or_path = str(base.resolve())  # peft records it as the adapter's base
    return model, tokenizer


def fit(
    config: ProjectConfig,
    rows: list[dict],
    model,
    tokenizer,
    *,
    dry_run: bool,
    on_step: StepDone | None = None,
    test: list[dict] | None = None,
) -> TrainReport:
    """Train, save the model (or adapter) and tokenizer to ``ProjectConfig.model_dir``; then let TRL
    evaluate it on the ``test`` rows, once."""
    import torch
    from datasets import Dataset
    from transformers import PrinterCallback, TrainerCallback
    from trl import KTOConfig, KTOTrainer  # stable since TRL 1.16; trl.experimental.kto is deprecated

    settings = config.training_settings()
    chosen = weights(settings, rows)
    folder = config.model_dir(dry_run=dry_run)
    steps_per_epoch = math.ceil(len(rows) / (settings.batch_size * settings.gradient_accumulation_steps))
    total = DRY_RUN_STEPS if dry_run else math.ceil(steps_per_epoch * settings.epochs)
    args = KTOConfig(
        output_dir=str(folder),
        beta=settings.beta,
        learning_rate=settings.learning_rate,
        num_train_epochs=settings.epochs,
        max_steps=DRY_RUN_STEPS if dry_run else -1,
        per_device_train_batch_size=settings.batch_size,
        per_device_eval_batch_size=settings.batch_size,
        gradient_accumulation_steps=settings.gradient_accumulation_steps,
        max_length=settings.max_length,
        desirable_weight=chosen["desirable_weight"],
        undesirable_weight=chosen["undesirable_weight"],
        logging_steps=1,
        save_strategy="no",  # the final model is saved below, once
        report_to="none",
        use_cpu=not torch.cuda.is_available(),
        disable_tqdm=True,  # kto draws its own progress bar
    )
    peft_config = lora_config(settings)
    losses: list[float] = []

    class LossCallback(TrainerCallback):
        def on_log(self, args, state, control, logs=None, **kwargs):
            if logs and "loss" in logs:
                losses.append(float(logs["loss"]))
                if on_step:
                    on_step(state.global_step, total, losses[-1])

    trainer = KTOTrainer(
        model=model,
        # Without LoRA the frozen reference is a copy; with it, the base model without adapters.
        ref_model=None if peft_config else copy.deepcopy(model),
        args=args,
        train_dataset=Dataset.from_list(rows),
        eval_dataset=Dataset.from_list(test) if test else None,
        processing_class=tokenizer,
        peft_config=peft_config,
        callbacks=[LossCallback()],
    )
    trainer.remove_callback(PrinterCallback)  # it prints every log dict; the progress bar shows the loss
    trainer.train()
    trainer.save_model(str(folder))
    tokenizer.save_pretrained(str(folder))
    if not losses or not all(math.isfinite(loss) for loss in losses):
        raise KtoError("train", f"the loss is not finite ({losses}): lower training.learning_rate")
    evaluation = held_out_metrics(trainer.evaluate()) if test else None
    return TrainReport(folder, trainer.state.global_step, losses[-1], chosen, evaluation=evaluation)


def held_out_metrics(metrics: dict) -> dict[str, float]:
    """TRL's loss, KL and rewards on the test split (its speed figures left out)."""
    wanted = ("eval_loss", "eval_kl", "eval_rewards/")
    return {key: float(value) for key, value in metrics.items() if key.startswith(wanted)}
