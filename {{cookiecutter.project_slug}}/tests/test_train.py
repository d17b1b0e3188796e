"""kto train: real KTO optimisation steps with TRL on a tiny model built offline."""

import json
import math
import re

import pytest
from helpers import PROJECT, edit_config, needs_extra, rated_backup, run_kto

from kto import export_files, ratings
from kto.config import load_config
from kto.export import Policy, kto_weights

pytestmark = pytest.mark.slow


@pytest.fixture
def training_extra():
    """Real training needs torch, TRL and PEFT: without the extra, these tests skip and say so."""
    needs_extra("train", "torch", "trl", "peft")


def rated(up: int, down: int) -> list[dict]:
    """Records rated by two annotators: ``up`` thumbs up, then ``down`` thumbs down."""
    return [
        {
            "id": f"r{n}",
            "prompt": f"Write a haiku about the river, number {n}.",
            "completion": f"Cold river at dawn\nline {n} of a quiet poem\nmist over the stones",
            "model": "team/model",
            "prompt_id": f"p{n}",
            "language": "xx",
            "status": "completed",
            "responses": [
                {"user": user, "value": "up" if n < up else "down", "status": "submitted"}
                for user in ("a", "b")
            ],
            "suggestion": None,
        }
        for n in range(up + down)
    ]


def exported(project, up: int, down: int, *, style: str = "standard"):
    """An export of ``rated(up, down)``, in a project that asks two ratings per record (its premise)."""
    edit_config(project, lambda config: config["argilla"].update(min_submitted=2))
    backup = project / "ratings.parquet"
    ratings.save(rated(up, down), backup)
    config = load_config(project / "project.yaml")
    policy = Policy.parse("majority", config.argilla.min_submitted)
    folder = config.path(config.export.output)
    export_files.run(config, policy, folder, source=backup, style=style)
    return project


def test_a_dry_run_takes_two_real_steps_and_saves_an_adapter_with_its_card(project, training_extra):
    from kto import train

    exported(project, up=6, down=3)
    config = load_config(project / "project.yaml")
    report = train.run(config, config.path(config.export.output), dry_run=True)
    assert report.steps == 2 and math.isfinite(report.loss)
    assert report.weights == kto_weights(6, 3)  # 0.5 : 1, from the export's balance
    model = report.output_dir
    assert model == project / "data" / "model-dry-run"  # beside training.output_dir: a real model is safe
    assert not (project / "data" / "model").exists()
    assert report.card == model / "README.md" and report.pushed is None
    assert (model / "adapter_model.safetensors").stat().st_size > 0
    assert (model / "adapter_config.json").is_file() and (model / "tokenizer.json").is_file()
    card = (model / "README.md").read_text(encoding="utf-8")
    assert "KTOTrainer" in card and "2 steps" in card and "datasets:" in card


def test_a_conversational_export_trains_too(project, training_extra):
    """--format conversational (messages, for chat models) is what TRL's KTOTrainer takes as well."""
    exported(project, 3, 3, style="conversational")
    result = run_kto(project, "train", "--dry-run")
    assert result.returncode == 0, result.stderr
    match = re.search(r"(\d+) steps, final loss ([-\d.e]+|nan|inf)", result.stderr)
    assert match and int(match.group(1)) == 2 and math.isfinite(float(match.group(2))), result.stderr
    assert (project / "data" / "model-dry-run" / "adapter_model.safetensors").stat().st_size > 0


def test_push_uploads_the_adapter_and_a_card_that_links_the_dataset(project, hub, training_extra):
    double, env = hub
    exported(project, up=3, down=3)
    result = run_kto(project, "train", "--dry-run", "--push", env=env)
    assert result.returncode == 0, result.stderr
    repo = next(name for name in double.repos if name.startswith("model/"))
    assert double.repos[repo]["private"] is True
    uploaded = double.files[repo]
    assert {"adapter_model.safetensors", "adapter_config.json", "README.md"} <= set(uploaded)
    dataset = repo.removeprefix("model/").removesuffix("-model")
    assert f"- {dataset}" in uploaded["README.md"].decode()
    assert "warning: the card has no eval section yet: run kto eval, then kto train" in result.stderr


def test_push_only_pushes_what_was_trained_with_the_eval_verdict_in_its_card(project, hub, training_extra):
    """kto train --push-only: no training, the trained output's own files, its card brought up to date."""
    pytest.importorskip("llama_cpp", reason="needs the local extra (the judge of kto eval --local)")
    from kto import train

    double, env = hub
    edit_config(project, lambda config: config["argilla"].update(min_submitted=2))
    config = load_config(project / "project.yaml")
    backup = rated_backup(project / "ratings.parquet", [f"Prompt number {n}" for n in range(12)])
    policy = Policy.parse("majority", config.argilla.min_submitted)
    export_files.run(config, policy, config.path(config.export.output), source=backup)  # 3 held out
    model = train.run(config, config.path(config.export.output), dry_run=True).output_dir
    evaluated = run_kto(project, "eval", "--local")
    assert evaluated.returncode == 0, evaluated.stderr
    report = json.loads((project / "data/eval/report.json").read_text(encoding="utf-8"))

    result = run_kto(project, "train", "--dry-run", "--push-only", env=env)
    assert result.returncode == 0, result.stderr
    assert "Training" not in result.stderr and "no eval section" not in result.stderr
    trained = {path.name: path.read_bytes() for path in model.iterdir() if path.is_file()}
    [repo] = double.repos
    uploaded = double.files[repo]
    assert {name: uploaded[name] for name in trained} == trained  # the weights, tokenizer and card as saved
    card = " ".join(uploaded["README.md"].decode().split())  # the template wraps its lines
    assert "## Against its base" in card and f"the judge {report['models']['judge']} compared" in card
    assert "2 steps" in card  # the training run's own figures, kept beside the weights


def error(project, *args, **env) -> str:
    """The one line ``kto train *args`` fails with."""
    result = run_kto(project, "train", *args, env=env or None)
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    return line


def test_bad_inputs_are_one_line(project, training_extra):
    assert error(project, "--dry-run").startswith("error: train: no KTO dataset at ")
    assert error(project, "--push-only").startswith("error: train: nothing trained in ")
    exported(project, up=4, down=0)
    assert "all 4 rows are thumbs up: KTO needs both labels" in error(project, "--dry-run")
    exported(project, up=2, down=2)
    offline = error(project, HF_HUB_OFFLINE="1")  # the configured base model is not in the cache
    assert offline.startswith("error: training.base_model: cannot load ")


def test_without_the_training_extra_the_error_says_what_to_install(project, tmp_path):
    exported(project, up=2, down=2)
    hidden = tmp_path / "no-torch"
    (hidden / "torch").mkdir(parents=True)
    (hidden / "torch" / "__init__.py").write_text("raise ImportError('No module named torch')\n")
    missing_extra = error(project, "--dry-run", PYTHONPATH=f"{hidden}:{PROJECT / 'src'}")
    assert missing_extra.startswith("error: train: install the training extra: pip install -e '.[train]'")


@pytest.mark.parametrize(
    ("licence", "says"),
    [
        ("apache-2.0", "under the licence `apache-2.0`, which a model trained from it inherits."),
        ("cc-by-nc-4.0", "inherits: a non-commercial licence"),
        ("gemma", "inherits: the Gemma Terms of Use"),
        (None, "under the licence unknown (see the model card)"),
    ],
)
def test_the_model_card_states_the_base_models_licence(project, tmp_path, licence, says):
    from kto.model_card import write_model_card
    from kto.train import TrainReport

    edit_config(project, lambda config: config["training"].update(base_model_license=licence))
    config = load_config(project / "project.yaml")
    result = TrainReport(
        tmp_path, steps=2, loss=0.5, weights={"desirable_weight": 1.0, "undesirable_weight": 1.0}
    )
    card = write_model_card(config, result, dry_run=False).read_text(encoding="utf-8")
    assert f"The configured base model, {config.training.base_model}, is under the licence" in card
    assert says in card


@pytest.mark.parametrize("lora", [True, False])
def test_the_model_card_is_rendered_from_its_template_with_the_runs_figures(project, tmp_path, lora):
    from huggingface_hub import ModelCard

    from kto.model_card import write_model_card
    from kto.train import TrainReport

    edit_config(
        project, lambda config: config["training"].update(lora={"r": 8, "alpha": 16} if lora else None)
    )
    config = load_config(project / "project.yaml")
    weights = {"desirable_weight": 0.75, "undesirable_weight": 1.0}
    path = write_model_card(
        config, TrainReport(tmp_path, steps=3, loss=0.123456, weights=weights), dry_run=True
    )
    card = ModelCard.load(path)
    assert card.data.datasets == [config.hub.export_repo] and card.data.base_model is None  # dry run
    assert (
        card.data.library_name == ("peft" if lora else "transformers")
        and card.data.license == config.hub.license
    )
    text = card.text
    assert text.startswith(f"\n# {config.task.name.capitalize()} KTO, {config.language.name}\n\n")
    assert "a tiny random model (kto train --dry-run) trained with TRL's `KTOTrainer`" in text
    training = "LoRA (r=8, alpha=16)" if lora else "all weights"
    assert (
        f"- Training: {training}, beta {config.training.beta}, learning rate {config.training.learning_rate},"
        in text
    )
    assert "  3 steps, final loss 0.1235." in text and "- Weights: desirable 0.75, undesirable 1.0" in text
    assert "{{" not in text and text.endswith("Made with kto-template.\n")


@pytest.mark.parametrize("chat", [True, False])
def test_training_and_eval_give_the_model_the_same_prompt(project, tmp_path, training_extra, chat):
    """TRL's prompt tokens for a row are the tokens kto eval gives the trained model for its prompt:
    the chat of generation and eval (system prompt, then prompt) with a chat template, else plain text."""
    import copy

    from datasets import Dataset
    from trl import KTOConfig, KTOTrainer

    from kto import train
    from kto.config import ModelSlot
    from kto.jobs import messages
    from kto.transformers_model import TransformersModel

    config = load_config(project / "project.yaml")
    rows = [
        {key: row[key] for key in ("prompt", "completion")} | {"label": n % 2 == 0}
        for n, row in enumerate(rated(2, 2))
    ]
    model, tokenizer = train.tiny_model(rows)
    if not chat:
        tokenizer.chat_template = None
    trainer = KTOTrainer(
        model=model,
        ref_model=copy.deepcopy(model),
        args=KTOConfig(
            output_dir=str(tmp_path / "out"), report_to="none", use_cpu=True, per_device_train_batch_size=2
        ),
        train_dataset=Dataset.from_list(train.training_rows(config, rows, tokenizer)),
        processing_class=tokenizer,
    )
    model.save_pretrained(tmp_path / "model")
    tokenizer.save_pretrained(tmp_path / "model")
    asked = TransformersModel(ModelSlot(id="tuned", backend="transformers", model=str(tmp_path / "model")), 8)
    asked.load()
    for row, trained in zip(rows, trainer.train_dataset, strict=True):
        given = asked.encode(messages(config.task.system_prompt, row["prompt"]))["input_ids"][0].tolist()
        assert trained["prompt_ids"] == given
        shown = tokenizer.decode(given)
        assert (config.task.system_prompt in shown) is chat and shown.count(row["prompt"]) == 1
