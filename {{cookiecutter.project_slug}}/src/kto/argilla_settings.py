"""Whether an Argilla dataset's settings are the ones kto gives it: one signature of what must
match, one comparison, and the texts that may change. ``kto annotate`` refuses a dataset whose
settings differ and updates its texts, ``kto doctor`` reports both, a backup records the signature
and ``kto restore`` checks it, all through here."""


def signature(settings) -> dict:
    """What must match between the configured settings and an existing dataset, as plain JSON
    values (lists, not tuples), so a signature read back from a backup compares equal."""
    return {
        "fields": sorted([field.name, field.use_markdown] for field in settings.fields),
        "questions": sorted(
            [question.name, sorted(getattr(question, "labels", None) or [])]
            for question in settings.questions
        ),
        "metadata": sorted(
            [prop.name, prop.visible_for_annotators is not False] for prop in settings.metadata
        ),
        "min_submitted": settings.distribution.min_submitted,
    }


# What ``kto annotate`` brings to the configured value on an existing dataset, ratings or not.
CHANGEABLE = ("min_submitted",)


def differences(have: dict, want: dict) -> list[str]:
    """The keys of ``want`` on which ``have`` (a dataset's or a backup's signature) cannot be made
    to match: it differs, or lacks them (an older backup). What may change (``CHANGEABLE``) is not a
    difference, and neither are metadata properties a later kto added (the hidden ``gold``): the
    dataset gains them, and a backup's records lack them."""
    return [key for key in want if key not in CHANGEABLE and not _same(key, have.get(key), want[key])]


def _same(key: str, have, want) -> bool:
    if key == "metadata" and have is not None:
        return all(prop in want for prop in have)
    return have == want


def changeable(settings) -> dict[str, object]:
    """What Argilla lets change on a dataset that has ratings, by name: the texts people read
    (guidelines, titles, label texts) and the submitted ratings a record needs."""
    found: dict[str, object] = {
        "guidelines": settings.guidelines,
        "min_submitted": settings.distribution.min_submitted,
    }
    found |= {f"title of {field.name}": field.title for field in settings.fields}
    for question in settings.questions:
        found[f"title of {question.name}"] = question.title
        options = question.serialize()["settings"].get("options") or []
        found |= {f"label {option['value']}": option["text"] for option in options}
    return found
