"""The project's configuration: ``project.yaml``, rendered by the template, edited by the team."""

import os
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from kto.errors import KtoError
from kto.local_model import slot_id

CONFIG_FILE = "project.yaml"
HF_ROUTER_URL = "https://router.huggingface.co/v1"
DEFAULT_CONCURRENCY = 32
DEFAULT_TEMPERATURE = 0.7


class Strict(BaseModel):
    # A misspelt key in project.yaml is an error, not a silently ignored setting.
    model_config = ConfigDict(extra="forbid", frozen=True)


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
    # A paragraph for the dataset card, in the language itself.
    card_paragraph: str = ""
    # Read by kto language export only: what the template's languages/<code>.yaml holds beyond
    # the texts the steps use. Optional, so projects rendered before them still load.
    generic_prompt: str | None = None
    models: list[LanguageModel] = []
    small_model: LanguageModel | None = None
    starter_topics: list[str] = []

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


class Prompts(Strict):
    source: str = Field(min_length=1)
    column: str = "prompt"


class ModelSlot(Strict):
    """One generating model; its ``id`` names it in the data (``generation_model``). The embedded
    model's slots are named after their temperature unless given an id."""

    # Before id: with a bad backend, the backend is the error to name (a local slot's id is derived).
    backend: Literal["local", "openai"]
    id: str = Field(min_length=1)
    temperature: float = Field(default=DEFAULT_TEMPERATURE, ge=0.0, le=2.0)
    base_url: str | None = None
    api_key_env: str | None = None
    # The model card's licence id (llama3.3, gemma, apache-2.0, ...); None: not known. The dataset
    # card lists it, and names the terms some licences put on data and models made from the answers.
    license: str | None = None
    # The model name the server expects, when it differs from ``id``.
    served_model: str | None = None
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
        if isinstance(data, dict) and data.get("backend") == "local":
            if (data.get("concurrency") or 1) > 1:
                raise ValueError("the embedded model answers one request at a time: remove concurrency")
            data = {**data, "concurrency": 1}
            if not data.get("id"):
                data["id"] = slot_id(data.get("temperature", DEFAULT_TEMPERATURE))
        return data

    @model_validator(mode="after")
    def _backend_settings(self):
        if self.backend == "openai" and not self.base_url:
            raise ValueError("an 'openai' backend needs a base_url")
        return self

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


class Hub(Strict):
    namespace: str
    dataset: str
    private: bool = True
    license: str

    @property
    def generations_repo(self) -> str:
        return f"{self.namespace}/{self.dataset}-generations"

    @property
    def export_repo(self) -> str:
        """The KTO and DPO datasets, two configurations of one repository."""
        return f"{self.namespace}/{self.dataset}"

    @property
    def ratings_backup_repo(self) -> str:
        return f"{self.namespace}/{self.dataset}-ratings-backup"

    @property
    def model_repo(self) -> str:
        """The model ``kto train --push`` uploads."""
        return f"{self.namespace}/{self.dataset}-model"


class ExportSettings(Strict):
    """``kto export``: where the datasets, figures and card go (``kto train`` reads them there)."""

    output: str = "data/export"


class Argilla(Strict):
    dataset: str
    workspace: str = "argilla"
    min_submitted: int = Field(ge=1)
    guidelines: str
    question: str
    label_up: str
    label_down: str
    prompt_title: str = "Prompt"
    response_title: str = "Response"
    comment_title: str = "Comment (optional)"


class Community(Strict):
    """A campaign run on a chat server: the volunteers' guide and the progress post."""

    # The annotation Space volunteers open; empty: the one ``kto space create`` makes.
    space_url: str | None = Field(default=None, pattern=r"^https?://[^\s/]+(/\S*)?$")
    # The progress post names the annotators with the most submitted ratings, but never those in hide.
    hall_of_fame: bool = True
    hide: list[str] = []
    # The volunteers' guide (docs/volunteer-guide.md); {space_url}: the Space's address.
    guide_title: str = Field(min_length=1)
    guide_intro: str = Field(min_length=1)
    sign_in: str = Field(min_length=1)
    record: str = Field(min_length=1)
    draft: str = Field(min_length=1)
    questions: str = Field(min_length=1)
    # The progress post (kto status --markdown / --post).
    post_title: str = Field(min_length=1)
    post_records: str = Field(min_length=1)
    post_last_day: str = Field(min_length=1)
    post_hall_of_fame: str = Field(min_length=1)
    post_join: str = Field(min_length=1)

    def hidden(self, username: str) -> bool:
        return not self.hall_of_fame or username.casefold() in {name.casefold() for name in self.hide}


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

    def judge_text(self, instructions: str, prompt: str, response: str) -> str:
        # Plain replacement: the texts may hold braces of their own.
        text = self.prompt.replace("{instructions}", instructions).replace("{prompt}", prompt)
        return text.replace("{response}", response)


Gate = Literal["drop", "flag", "off"]


class Checks(Strict):
    """Quality gates ``kto annotate`` applies before logging (``kto check`` shows their counts):
    drop (never logged), flag (logged, named in the record's flags) or off (not checked)."""

    # An empty response has nothing to rate: it is never logged.
    empty: Literal["drop"] = "drop"
    language: Gate = "drop"
    echo: Gate = "drop"
    form: Gate = "flag"
    length: Gate = "flag"
    duplicate: Gate = "flag"
    max_chars: int = Field(default=1000, ge=1)
    # The ISO 639-1 code responses should be in; empty: language.code.
    expected_language: str | None = None


class Lora(Strict):
    r: int = Field(default=16, ge=1)
    alpha: int = Field(default=32, ge=1)
    dropout: float = Field(default=0.05, ge=0.0, lt=1.0)
    target_modules: str | list[str] = "all-linear"


class Training(Strict):
    """``kto train``: TRL's KTOTrainer on the export."""

    base_model: str = Field(min_length=1)
    # The base model's licence id, which a trained model inherits; None: not known.
    base_model_license: str | None = None
    output_dir: str = "data/model"
    beta: float = Field(default=0.1, gt=0)
    learning_rate: float = Field(default=5e-6, gt=0)
    epochs: float = Field(default=1.0, gt=0)
    batch_size: int = Field(default=4, ge=2)  # the KL estimate of KTO needs more than one example
    gradient_accumulation_steps: int = Field(default=1, ge=1)
    max_length: int = Field(default=512, ge=16)
    # None: computed from the export's ratio of thumbs up to thumbs down, as TRL advises.
    desirable_weight: float | None = Field(default=None, gt=0)
    undesirable_weight: float | None = Field(default=None, gt=0)
    lora: Lora | None = Lora()


class Backup(Strict):
    """``kto backup`` and ``kto restore``; ``kto status`` warns when the newest backup is older."""

    output: str = "data/backup/ratings.parquet"
    max_age_hours: float = Field(default=24.0, gt=0)


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
    # The folder holding project.yaml: relative paths in the config start there.
    root: Path = Field(default=Path("."), exclude=True)

    def path(self, relative: str | Path) -> Path:
        return self.root / relative

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
        first = error.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        raise KtoError(f"{path.name}: {field}", first["msg"]) from error
