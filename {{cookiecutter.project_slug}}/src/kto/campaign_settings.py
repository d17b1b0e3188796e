"""The sections of ``project.yaml`` about the campaign and what follows it (the Hub, Argilla, the
volunteers' texts, the quality gates and bounds, training, backups): settings that name no model.
``kto.config`` assembles them with the model slots into the project's config."""

from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, model_validator


class Strict(BaseModel):
    # A misspelt key in project.yaml is an error, not a silently ignored setting.
    model_config = ConfigDict(extra="forbid", frozen=True)


Gate = Literal["drop", "flag", "off"]


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
    test_share: float = Field(default=0.1, ge=0.0, lt=1.0)  # held out for kto eval (kto.splits)


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

    @model_validator(mode="after")
    def _two_labels(self):
        if self.label_up.strip().casefold() == self.label_down.strip().casefold():
            raise ValueError(f"label_up and label_down are both {self.label_up!r}: give two different words")
        return self


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


class Checks(Strict):
    """Quality gates ``kto annotate`` applies before logging (``kto check`` shows their counts):
    drop (never logged), flag (logged, named in the record's flags) or off (not checked). A check
    not named here (``kto.gates.CHECKS`` lists them all) takes its gate as another key, which
    ``kto.gates`` refuses unless it names a check."""

    model_config = ConfigDict(extra="allow", frozen=True)

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

    @model_validator(mode="after")
    def _other_gates(self):
        for name, action in (self.model_extra or {}).items():
            if action not in get_args(Gate):
                raise ValueError(f"checks.{name}: {action!r} is not one of drop, flag, off")
        return self


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


class Quality(Strict):
    """Gold records and the bounds that flag an annotator (kto.rater_quality); ``kto export``
    leaves flagged annotators' ratings out. Each bound is checked against the optimistic end
    (one-sided 95%) of the annotator's figure, so a few unlucky ratings flag nobody."""

    gold: str = "prompts/gold.jsonl"
    # Gold records right, and right where the judge's suggestion is wrong.
    min_gold_accuracy: float = Field(default=0.7, ge=0.0, le=1.0)
    min_gold: int = Field(default=3, ge=1)
    # Balanced accuracy estimated by the gold-anchored Dawid-Skene model (kto.reliability).
    min_reliability: float = Field(default=0.7, ge=0.0, le=1.0)
    max_same_label: float | None = Field(default=None, gt=0.0, le=1.0)  # None: not checked
