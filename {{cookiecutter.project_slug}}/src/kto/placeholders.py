"""Filling a prompt template's ``{name}`` fields in one pass.

Texts put into a template (a prompt, an answer, a topic) may hold braces of their own, or even
the name of another field: one pass over the template's own fields means an inserted text is
never filled in again, and ``str.format`` would choke on its braces.
"""

import re
from collections.abc import Mapping


def fill(template: str, values: Mapping[str, str]) -> str:
    """``template`` with each ``{name}`` of ``values`` replaced by its value; other braces stay."""
    if not values:
        return template
    field = re.compile("\\{(" + "|".join(re.escape(name) for name in values) + ")\\}")
    return field.sub(lambda found: values[found.group(1)], template)
