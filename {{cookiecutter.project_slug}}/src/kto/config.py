"""The project's configuration: ``project.yaml``, rendered by the template, edited by the team."""

import os
from pathlib import Path
from typing import Literal

import yaml
from pydantic import Field, ValidationError, model_validator

from kto.campaign_settings import (
    Argilla,
    Backup,
    Checks,
    Community,
    ExportSettings,
    Hub,
    Quality,
    Strict,
    Training,
)
from kto.errors import KtoError, unknown_key
from kto.local_model import slot_id

CONFIG_FILE = "project.yaml"
HF_ROUTER_URL = "https://router.huggingface.co/v1"
DEFAULT_CONCURRENCY = 32
DEFAULT_TEMPERATURE = 0.7


class LanguageModel(Strict):
    """An open model known to handle the language, as the template's language files list them."""

    id: str = Field(min_length=1)
    # Both may be empty in a project rendered from a language file without them; the template's
    # language checks want them filled.
    license: str = ""  # the model card's licence id
    source: str = ""  # where the claim that it handles the language comes from


class Language(Strict):
    code: str
    name: str
    native_name: str
    direction: Literal["ltr", "rtl"] = "ltr"
    variant: str | None = None  # BCP 47
    reviewed: bool = False
    source: str = ""  # who wrote the texts, as the template's language file says
    # A paragraph for the dataset card, in the language itself.
    card_paragraph: str = ""
    # Read by kto language export only: what the template's languages/<code>.yaml holds beyond
    # the texts the steps use. Optional, so projects rendered before them still load.
    generic_prompt: str | None = None
    models: list[LanguageModel] = Field(default_factory=list)
    small_model: LanguageModel | None = None
    starter_topics: list[str] = Field(default_factory=list)

    @property
    def hub_code(self) -> str | None:
        """The code for Hub metadata: None while the project is on the 'other' placeholder."""
        return None if self.code == "other" else self.code

    def markdown_block(self, text: str) -> str:
        """Markdown in the language, marked right-to-left when it is written so."""
        return f'<div dir="rtl">\n\n{text}\n\n</div>' if self.direction == "rtl" else text


class Task(Strict):
    name: str = Field(min_length=1)
    description: str
    system_prompt: str = Field(min_length=1)


class ModelSlot(Strict):
    """One generating model; its ``id`` names it in the data (``generation_model``). The embedded
    model's slots are named after their temperature unless given an id."""

    # Before id: with a bad backend, the backend is the error to name (a local slot's id is derived).
    backend: Literal["local", "openai", "transformers"]
    id: str = Field(min_length=1)
    temperature: float = Field(default=DEFAULT_TEMPERATURE, ge=0.0, le=2.0)
    base_url: str | None = None
    api_key_env: str | None = None
    # The model card's licence id (llama3.3, gemma, apache-2.0, ...); None: not known. The dataset
    # card lists it, and names the terms some licences put on data and models made from the answers.
    license: str | None = None
    # The model name the server expects, when it differs from ``id``.
    served_model: str | None = None
    # backend transformers: a Hub id or a folder (with a peft adapter: its base, then the adapter).
    model: str | None = None
    # Requests kept in flight at once; a server's default suits a provider or a vLLM server
    # (which wants 64-256 to fill a GPU). The embedded model answers one at a time.
    concurrency: int = Field(default=DEFAULT_CONCURRENCY, ge=1, le=1024)
    timeout: float = Field(default=120.0, gt=0)  # seconds for one attempt
    # 429 and 5xx answers are retried with backoff that honours Retry-After, up to max_retries
    # times and retry_budget seconds for one request in all.
    max_retries: int = Field(default=5, ge=0)
    retry_budget: float = Field(default=600.0, gt=0)

    @model_validator(mode="before")
    @classmethod
    def _local_defaults(cls, data):
        if isinstance(data, dict) and data.get("backend") in ("local", "transformers"):
            if (data.get("concurrency") or 1) > 1:
                raise ValueError("a model run here answers one request at a time: remove concurrency")
            data = {**data, "concurrency": 1}
            if data["backend"] == "local" and not data.get("id"):
                data["id"] = slot_id(data.get("temperature", DEFAULT_TEMPERATURE))
        return data

    @model_validator(mode="after")
    def _backend_settings(self):
        if self.backend == "openai" and not self.base_url:
            raise ValueError("an 'openai' backend needs a base_url")
        if self.backend == "transformers" and not self.model:
            raise ValueError("a 'transformers' backend needs a model (a Hub id or a folder)")
        return self

    @property
    def server(self) -> str:
        """Where its requests go, as an error line names it: the server's address, else the local
        model's folder or Hub id, else the backend."""
        return self.base_url or self.model or self.backend

    def api_key(self) -> str:
        """The key from the environment; HF_TOKEN also falls back to ``hf auth login``."""
        if not self.api_key_env:
            return "none"  # local OpenAI-compatible servers accept any key
        key = os.environ.get(self.api_key_env)
        if not key and self.api_key_env == "HF_TOKEN":
            from huggingface_hub import get_token

            key = get_token()
        if not key:
            login = " or run `hf auth login`" if self.api_key_env == "HF_TOKEN" else ""
            raise KtoError(
                f"generation.models[{self.id}].api_key_env",
                f"set the environment variable {self.api_key_env} (or put it in .env){login}",
            )
        return key


class Prompts(Strict):
    source: str = Field(min_length=1)
    column: str = "prompt"
    # kto prompts generate and check. The writer: a slot like those of generation.models
    # (default: the first of them). topics: a file of the team's own topics, one per line.
    writer: ModelSlot | None = None
    topics: str | None = None
    # Length bounds of a prompt, in characters; max_chars by default: 300 for haiku, 2000 otherwise.
    min_chars: int = Field(default=8, ge=1)
    max_chars: int | None = Field(default=None, ge=1)
    # The writer's request, in the language ({instructions}: the task's system prompt; {n},
    # {topic}, {examples}); None in projects rendered before kto prompts generate.
    writer_prompt: str | None = None

    def length_limit(self, task: str) -> int:
        return self.max_chars or (300 if task == "haiku" else 2000)


class LocalModel(Strict):
    """The embedded tiny model used by ``kto generate --local``."""

    n_ctx: int = Field(default=1024, ge=256)
    n_threads: int = Field(default=1, ge=1)
    repeat_penalty: float = Field(default=1.3, ge=1.0)
    temperatures: list[float] = Field(default=[0.5, 0.8, 1.1, 1.4], min_length=1)


class Generation(Strict):
    output: str = "data/generations.parquet"
    max_new_tokens: int = Field(default=128, ge=1)
    # A run in which no request ends for this long stops, naming the slot that is stuck.
    stall_timeout: float = Field(default=300.0, gt=0)
    models: list[ModelSlot] = Field(min_length=1)
    local: LocalModel = LocalModel()

    @property
    def dry_run_output(self) -> str:
        """Where ``--local`` writes: never the campaign's generations, which people rate."""
        path = Path(self.output)
        return str(path.parent / "dry-run" / path.name)

    def local_slots(self) -> list[ModelSlot]:
        """``--local``: the embedded model in every configured slot, each at its own temperature."""
        count, temperatures = len(self.models), self.local.temperatures
        if len(temperatures) < count:
            raise KtoError(
                "generation.local.temperatures",
                f"give one temperature per model slot at least ({count} slots, {len(temperatures)} given)",
            )
        return [
            ModelSlot(id=slot_id(temperature), backend="local", temperature=temperature)
            for temperature in temperatures[:count]
        ]

    @model_validator(mode="after")
    def _unique_ids(self):
        ids = [slot.id for slot in self.models]
        if len(ids) != len(set(ids)):
            raise ValueError("each model id may appear only once")
        return self


class Suggest(Strict):
    """``kto suggest``: a judge model pre-fills each record's rating for annotators."""

    judge: ModelSlot
    # Each record is judged this many times: the suggestion is the majority, its score the share
    # of judgements that agree.
    samples: int = Field(default=3, ge=1, le=9)
    # {instructions}: the task's system prompt; {prompt}, {response}: the record.
    prompt: str

    @model_validator(mode="after")
    def _prompt_has_the_record(self):
        missing = [name for name in ("{prompt}", "{response}") if name not in self.prompt]
        if missing:
            raise ValueError(f"the judge prompt must contain {' and '.join(missing)}")
        return self


class EvalSettings(Strict):
    """``kto eval``: the trained model against its base on held-out prompts, judged pairwise."""

    base: ModelSlot | None = None  # None: the project's own models, training.output_dir and its base
    tuned: ModelSlot | None = None
    judge: ModelSlot | None = None  # None: suggest.judge
    judge_prompt: str | None = None  # None: kto.judge.PAIR_PROMPT, in English
    output: str = "data/eval"
    # Fewer decided prompts (wins and losses) give no verdict. 30 gives a tuned model that wins 3
    # of 4 decided prompts an 80 % chance of "better" (exact sign test, p < 0.05); 6 of 6 is the
    # least that can reach p < 0.05 at all, with a chance of 18 % at that rate.
    min_prompts: int = Field(default=30, ge=6)

    @model_validator(mode="after")
    def _prompt_has_the_pair(self):
        needed = ("{prompt}", "{first}", "{second}")
        if self.judge_prompt is not None and (missing := [n for n in needed if n not in self.judge_prompt]):
            raise ValueError(f"the judge prompt must contain {' and '.join(missing)}")
        return self


class ProjectConfig(Strict):
    language: Language
    task: Task
    prompts: Prompts
    generation: Generation
    hub: Hub
    argilla: Argilla
    suggest: Suggest
    export: ExportSettings = ExportSettings()
    community: Community
    # Projects rendered before the gates existed get the defaults.
    checks: Checks = Checks()
    training: Training | None = None
    backup: Backup = Backup()  # a default, so project.yaml files from before it still load
    eval: EvalSettings = EvalSettings()
    quality: Quality = Quality()  # likewise
    # The folder holding project.yaml: relative paths in the config start there.
    root: Path = Field(default=Path("."), exclude=True)

    def path(self, relative: str | Path) -> Path:
        return self.root / relative

    def model_dir(self, *, dry_run: bool) -> Path:
        """``training.output_dir``; a dry run's tiny model goes beside it, never over a trained one."""
        folder = self.path(self.training_settings().output_dir)
        return folder.with_name(f"{folder.name}-dry-run") if dry_run else folder

    def training_settings(self) -> Training:
        """The training section; a project rendered without training has none (nor kto/train.py)."""
        if self.training is None:
            raise KtoError(
                "training", "project.yaml has no training section (the template's include_training)"
            )
        return self.training

    @property
    def space_repo(self) -> str:
        """The annotation Space ``kto space create`` makes by default."""
        return f"{self.hub.namespace}/{self.argilla.dataset}-argilla"

    @property
    def space_url(self) -> str:
        return self.community.space_url or f"https://huggingface.co/spaces/{self.space_repo}"


def find_config(start: Path | None = None) -> Path:
    """project.yaml in ``start`` (default: the working directory) or the nearest parent folder."""
    start = (start or Path.cwd()).resolve()
    for folder in (start, *start.parents):
        if (folder / CONFIG_FILE).is_file():
            return folder / CONFIG_FILE
    raise KtoError("config", f"no {CONFIG_FILE} in {start} or its parents: run kto inside your project")


def load_config(path: Path | None = None) -> ProjectConfig:
    path = path or find_config()
    if not path.is_file():
        raise KtoError("config", f"{path} does not exist")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise KtoError("config", f"{path} is not valid YAML: {' '.join(str(error).split())}") from error
    if not isinstance(data, dict):
        raise KtoError("config", f"{path} must hold a mapping of settings")
    try:
        return ProjectConfig(**data, root=path.parent.resolve())
    except ValidationError as error:
        # A misspelt key also makes its real key "missing": name the misspelling, which is the cause.
        errors = error.errors()
        first = next((found for found in errors if found["type"] == "extra_forbidden"), errors[0])
        field = ".".join(str(part) for part in first["loc"])
        message = first["msg"]
        if first["type"] == "extra_forbidden":
            message = unknown_key(ProjectConfig, first["loc"])
        raise KtoError(f"{path.name}: {field}", message) from error
