"""The model card ``kto train`` writes beside the weights: Hub metadata through ``huggingface_hub``'s
``ModelCardData``, and a Markdown template (``templates/model_card.md.j2``) filled with the training
settings, the dataset and the run's figures (kto eval's report too, when it is about this model)."""

from pathlib import Path
from typing import Protocol

from kto import licences
from kto.config import ProjectConfig
from kto.eval_files import card_context

MODEL_CARD = Path(__file__).parent / "templates" / "model_card.md.j2"


class TrainedModel(Protocol):
    """What the card reads of a training run (``kto.train.TrainReport``)."""

    @property
    def output_dir(self) -> Path: ...
    @property
    def steps(self) -> int: ...
    @property
    def loss(self) -> float: ...
    @property
    def weights(self) -> dict[str, float]: ...
    @property
    def evaluation(self) -> dict[str, float] | None: ...


def model_card_context(config: ProjectConfig, result: TrainedModel, *, dry_run: bool) -> dict:
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
        # TRL's figures on the test split, and kto eval's report when it is about this very model.
        "held_out": result.evaluation,
        "judged": card_context(config, result.output_dir),
    }


def write_model_card(config: ProjectConfig, result: TrainedModel, *, dry_run: bool) -> Path:
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


def judged(config: ProjectConfig, trained: Path) -> bool:
    """Whether kto eval's report is about the model in ``trained`` (its card then carries it)."""
    return card_context(config, trained) is not None
