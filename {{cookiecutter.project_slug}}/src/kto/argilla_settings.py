"""Whether an Argilla dataset's settings are the ones kto gives it: one signature of what must
match, one comparison. ``kto annotate`` refuses a dataset whose settings differ, ``kto doctor``
reports it, a backup records the signature and ``kto restore`` checks it, all through here."""


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


def differences(have: dict, want: dict) -> list[str]:
    """The keys of ``want`` where ``have`` differs (or lacks them: an older backup's signature)."""
    return [key for key in want if have.get(key) != want[key]]
