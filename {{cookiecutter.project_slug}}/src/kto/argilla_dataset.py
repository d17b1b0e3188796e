"""The project's Argilla dataset: its settings, made or checked against an existing dataset,
changeable texts brought up to date, and records logged in batches by id. ``kto annotate``,
``kto restore``, ``kto suggest`` and ``kto doctor`` all reach the dataset through here.
"""

from collections.abc import Callable

from kto.argilla_settings import changeable, differences, signature
from kto.config import ProjectConfig
from kto.errors import KtoError, short
from kto.labels import COMMENT, DOWN, QUESTION, UP

Logged = Callable[[int, int], None]  # (records just logged, records to log in all)
BATCH_SIZE = 256  # the server indexes each batch synchronously; 256 is the SDK's own default


def settings(config: ProjectConfig, client):
    """The dataset's settings. Each part gets ``client``: without it the SDK builds a default one
    from the environment."""
    import argilla as rg

    texts = config.argilla
    return rg.Settings(
        guidelines=config.language.markdown_block(texts.guidelines),
        fields=[
            rg.TextField(name="prompt", title=texts.prompt_title, use_markdown=True, client=client),
            rg.TextField(name="completion", title=texts.response_title, use_markdown=True, client=client),
        ],
        questions=[
            rg.LabelQuestion(
                name=QUESTION,
                title=texts.question,
                labels={UP: f"👍 {texts.label_up}", DOWN: f"👎 {texts.label_down}"},
                client=client,
            ),
            rg.TextQuestion(name=COMMENT, title=texts.comment_title, required=False, client=client),
        ],
        metadata=[
            # Coordinators may filter by model; annotators must not see it: ratings are blind.
            rg.TermsMetadataProperty("model", title="Model", visible_for_annotators=False, client=client),
            # A gold record's known label (kto.gold): hidden, or gold records would stand out.
            rg.TermsMetadataProperty("gold", title="Gold label", visible_for_annotators=False, client=client),
            rg.TermsMetadataProperty("prompt_id", title="Prompt id", client=client),
            rg.TermsMetadataProperty("language", title="Language", client=client),
            # What kto's checks found (kto.gates): annotators and coordinators filter on these.
            rg.TermsMetadataProperty("detected_language", title="Detected language", client=client),
            rg.IntegerMetadataProperty("lines", title="Lines", client=client),
            rg.TermsMetadataProperty("syllables", title="Syllables (estimate)", client=client),
            rg.TermsMetadataProperty("flags", title="Flags", client=client),
        ],
        distribution=rg.TaskDistribution(min_submitted=texts.min_submitted),
    )


def ensure_dataset(client, config: ProjectConfig):
    """The configured dataset, created if missing; an existing one with other settings is an error."""
    import argilla as rg

    name, workspace = config.argilla.dataset, config.argilla.workspace
    wanted = settings(config, client)
    if client.workspaces(workspace) is None:
        rg.Workspace(name=workspace, client=client).create()
    dataset = client.datasets(name, workspace=workspace)
    if dataset is None:
        return rg.Dataset(name=name, workspace=workspace, settings=wanted, client=client).create()
    upgrade_metadata(dataset, wanted)
    differ = differences(signature(dataset.settings), signature(wanted))
    if differ:
        raise KtoError(
            "argilla",
            f"dataset {workspace}/{name} already exists with other settings ({', '.join(differ)}), "
            f"which Argilla cannot change on it; it was left untouched: {OTHER_NAME}",
        )
    return dataset


# What to do when a setting cannot change on an existing dataset.
OTHER_NAME = (
    "put the setting back, or set another argilla.dataset name in project.yaml, which starts a new, "
    "EMPTY dataset (the ratings stay on this one; kto export reads one dataset)"
)


def update_changeable(dataset, wanted) -> list[str]:
    """Bring what may change (:func:`changeable`) to the configured settings; returns what
    changed. Ratings stay: they hold the labels' values, not their texts, and Argilla recomputes
    which records are complete for a new min_submitted."""
    have = changeable(dataset.settings)
    changed = [key for key, value in changeable(wanted).items() if have.get(key) != value]
    if not changed:
        return []
    settings = dataset.settings
    settings.guidelines, settings.distribution = wanted.guidelines, wanted.distribution
    for mine, theirs in (
        *named_pairs(settings.fields, wanted.fields),
        *named_pairs(settings.questions, wanted.questions),
    ):
        mine.title = theirs.title
        if hasattr(theirs, "labels"):
            mine.labels = {
                option["value"]: option["text"] for option in theirs.serialize()["settings"]["options"]
            }
    dataset.update()
    return changed


def named_pairs(have, want) -> list[tuple]:
    wanted = {item.name: item for item in want}
    return [(item, wanted[item.name]) for item in have if item.name in wanted]


def upgrade_metadata(dataset, wanted) -> None:
    """A dataset made by an older kto gets the metadata properties it lacks and hides what
    annotators must not see; nothing is removed. Argilla allows both on a dataset with ratings."""
    from argilla._exceptions import ArgillaError

    have = {prop.name: prop for prop in dataset.settings.metadata}
    try:
        for prop in wanted.metadata:
            if prop.name not in have:
                dataset.settings.metadata.add(prop)
                prop.dataset = dataset
                prop.create()
            elif have[prop.name].visible_for_annotators != prop.visible_for_annotators:
                have[prop.name].visible_for_annotators = prop.visible_for_annotators
                have[prop.name].update()
    except ArgillaError as error:
        raise KtoError(
            "argilla",
            f"cannot update the metadata of dataset {dataset.name} ({short(error)}); "
            "use another argilla.dataset name in project.yaml",
        ) from error


def existing_ids(dataset) -> set[str]:
    return {record.id for record in dataset.records(with_responses=False, with_suggestions=False)}


def log_missing(dataset, wanted: list[dict], on_logged: Logged | None = None) -> int:
    """Log the records the dataset lacks, in batches; returns how many were added."""
    import argilla as rg

    present = existing_ids(dataset)
    missing = [rg.Record(**record) for record in wanted if record["id"] not in present]
    log_in_batches(dataset, missing, on_logged)
    return len(missing)


def log_in_batches(dataset, records: list, on_logged: Logged | None = None) -> None:
    """Log (add or update, by id) ``records`` a batch at a time."""
    for start in range(0, len(records), BATCH_SIZE):
        batch = records[start : start + BATCH_SIZE]
        dataset.records.log(batch, batch_size=BATCH_SIZE)
        if on_logged:
            on_logged(len(batch), len(records))
