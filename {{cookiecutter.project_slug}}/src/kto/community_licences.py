"""Whether campaigns' licences can be combined into one dataset, checked before a merge writes
anything: a summary of the licences' words (see kto.licences), not legal advice.

A non-commercial source (or a model whose non-commercial licence covers its answers) cannot join
sources that allow commercial use unless the merged dataset is itself non-commercial; a
no-derivatives source cannot be merged at all; a source of unknown licence needs the lead's choice.
"""

from kto.community import Campaign

NON_COMMERCIAL = ("-nc", "noncommercial", "non-commercial")
UNKNOWN = ("", "other", "unknown")
EXAMPLE_NC = "cc-by-nc-4.0"


def non_commercial(licence: str | None) -> bool:
    return any(mark in (licence or "").lower() for mark in NON_COMMERCIAL)


def no_derivatives(licence: str | None) -> bool:
    return "-nd" in (licence or "").lower()


def merged(sources: list[Campaign], chosen: str | None) -> str:
    """The merged dataset's licence: the lead's choice, the sources' one licence, else "other"
    (each row keeps its source's licence, which the card lists)."""
    if chosen:
        return chosen
    names = {source.fields.license or "other" for source in sources}
    return names.pop() if len(names) == 1 else "other"


def conflicts(sources: list[Campaign], chosen: str | None) -> list[str]:
    """One line per source that cannot join the others under the merged licence, with its fix."""
    # Non-commercial terms are kept when the lead chose a non-commercial licence, or every source has one.
    kept_nc = non_commercial(chosen) if chosen else all(non_commercial(s.fields.license) for s in sources)
    allows = (
        f"the merged licence {chosen} allows commercial use"
        if chosen
        else "other sources allow commercial use"
    )
    fix_nc = f"or set a non-commercial merged licence (--license {EXAMPLE_NC})"
    lines = []
    for source in sources:
        licence, drop = source.fields.license, f"drop it (--drop {source.repo})"
        if no_derivatives(licence):
            lines.append(
                f"{source.repo}: its licence {licence} forbids derivatives, and a merge is one: {drop}"
            )
        elif (licence or "").lower() in UNKNOWN and not chosen:
            lines.append(
                f"{source.repo}: its licence is unknown ({licence or 'none'}): {drop} or set --license"
            )
        elif non_commercial(licence) and not kept_nc:
            lines.append(
                f"{source.repo}: its licence {licence} is non-commercial, but {allows}: {drop} {fix_nc}"
            )
        for model in source.fields.models:
            if non_commercial(model.get("license")) and not kept_nc:
                lines.append(
                    f"{source.repo}: the licence {model['license']} of {model.get('id')}, whose answers "
                    f"it holds, forbids commercial use, but {allows}: {drop} {fix_nc}"
                )
    return lines
