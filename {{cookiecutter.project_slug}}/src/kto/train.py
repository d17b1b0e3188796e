"""``kto train``: TRL's KTOTrainer on the exported KTO dataset, with LoRA adapters through peft.

``--dry-run`` swaps the base model for a tiny randomly initialised causal LM built on the spot (a
LlamaConfig and a BPE tokenizer trained on the export's own text), so the whole loop runs offline
on a CPU in seconds. It proves the plumbing; the model learns nothing worth keeping.
"""

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import pyarrow.parquet as pq

from kto import licences
from kto.config import ProjectConfig, Training
from kto.errors import KtoError, one_line
from kto.export import kto_weights

DRY_RUN_STEPS = 2
TINY_VOCABULARY = 300
SPECIAL_TOKENS = ["<unk>", "<s>", "</s>", "<pad>"]
MODEL_CARD = Path(__file__).parent / "templates" / "model_card.md.j2"

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
    rows = read_export(data)
    model, tokenizer = model_and_tokenizer(config, rows, dry_run=dry_run)
    if on_start:
        on_start("a tiny random model" if dry_run else config.training_settings().base_model, len(rows))
    result = fit(config, rows, model, tokenizer, dry_run=dry_run, on_step=on_step)
    result = replace(result, card=write_model_card(config, result, dry_run=dry_run))
    if push:
        from kto.hub import push_folder

        repo = config.hub.model_repo
        url = push_folder(result.output_dir, repo, private=config.hub.private, repo_type="model")
        result = replace(result, pushed=url)
    return result


def read_export(folder: Path) -> list[dict]:
    """The KTO rows, checked: both labels are needed (KTO weighs one side against the other)."""
    path = folder / "kto" / "train.parquet"
    if not path.is_file():
        raise KtoError("train", f"no KTO dataset at {path}: run kto export first")
    rows = pq.read_table(path).to_pylist()
    if not rows:
        raise KtoError("train", f"{path} has no rows: rate more answers, then kto export again")
    if not isinstance(rows[0]["prompt"], str):
        raise KtoError("train", f"{path} is conversational: export it with --format standard")
    ups = sum(1 for row in rows if row["label"])
    if ups in (0, len(rows)):
        side = "thumbs up" if ups else "thumbs down"
        raise KtoError(
            "train", f"all {len(rows)} rows are {side}: KTO needs both labels; rate more, then export again"
        )
    return [{"prompt": row["prompt"], "completion": row["completion"], "label": row["label"]} for row in rows]


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
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    bpe = Tokenizer(models.BPE(unk_token="<unk>"))
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    texts = [text for row in rows for text in (row["prompt"], row["completion"])]
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


def base_model(name: str):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(name)
        model = AutoModelForCausalLM.from_pretrained(name)
    except OSError as error:  # not cached and no network (HF_HUB_OFFLINE), or no such model
        raise KtoError(
            "training.base_model",
            f"cannot load {name!r}: {one_line(error)[:200]} (offline, a model must be in the Hugging "
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
    return tiny_model(rows) if dry_run else base_model(config.training_settings().base_model)


def fit(
    config: ProjectConfig,
    rows: list[dict],
    model,
    tokenizer,
    *,
    dry_run: bool,
    on_step: StepDone | None = None,
) -> TrainReport:
    """Train, save the model (or adapter) and tokenizer to ``training.output_dir``."""
    import torch
    from datasets import Dataset
    from transformers import PrinterCallback, TrainerCallback
    from trl import KTOConfig, KTOTrainer  # stable since TRL 1.16; trl.experimental.kto is deprecated

    settings = config.training_settings()
    chosen = weights(settings, rows)
    output_dir = config.path(settings.output_dir)
    steps_per_epoch = math.ceil(len(rows) / (settings.batch_size * settings.gradient_accumulation_steps))
    total = DRY_RUN_STEPS if dry_run else math.ceil(steps_per_epoch * settings.epochs)
    args = KTOConfig(
        output_dir=str(output_dir),
        beta=settings.beta,
        learning_rate=settings.learning_rate,
        num_train_epochs=settings.epochs,
        max_steps=DRY_RUN_STEPS if dry_run else -1,
        per_device_train_batch_size=settings.batch_size,
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
        processing_class=tokenizer,
        peft_config=peft_config,
        callbacks=[LossCallback()],
    )
    trainer.remove_callback(PrinterCallback)  # it prints every log dict; the progress bar shows the loss
    trainer.train()
    trainer.save_model(str(output_dir))
    tokenizer.save_pretrained(str(output_dir))
    if not losses or not all(math.isfinite(loss) for loss in losses):
        raise KtoError("train", f"the loss is not finite ({losses}): lower training.learning_rate")
    return TrainReport(output_dir, trainer.state.global_step, losses[-1], chosen)


def model_card_context(config: ProjectConfig, result: TrainReport, *, dry_run: bool) -> dict:
    """What the model card shows: the training settings, the dataset and the run's outcome."""
    settings = config.training_settings()
    return {
        "title": f"{config.task.name.capitalize()} KTO, {config.language.name}",
        "base": "a tiny random model (kto train --dry-run)" if dry_run else settings.base_model,
        "base_model": settings.base_model,
        "licence": licences.named(settings.base_model_license),
        "terms": licences.terms(settings.base_model_license),
        "dataset": config.hub.export_repo,
        "task": config.task.name,
        "language": config.language.name,
        "lora": settings.lora,
        "beta": settings.beta,
        "learning_rate": settings.learning_rate,
        "steps": result.steps,
        "loss": result.loss,
        "weights": result.weights,
    }


def write_model_card(config: ProjectConfig, result: TrainReport, *, dry_run: bool) -> Path:
    """A model card linking the dataset, written beside the weights (and pushed with them)."""
    from huggingface_hub import ModelCard, ModelCardData

    settings = config.training_settings()
    data = ModelCardData(
        base_model=None if dry_run else settings.base_model,
        datasets=[config.hub.export_repo],
        language=[config.language.hub_code] if config.language.hub_code else None,
        library_name="peft" if settings.lora else "transformers",
        license=config.hub.license,
        tags=["kto", "trl", "preference"],
    )
    values = model_card_context(config, result, dry_run=dry_run)
    card = ModelCard.from_template(data, template_path=str(MODEL_CARD), **values)
    path = result.output_dir / "README.md"
    card.save(path)
    return path
