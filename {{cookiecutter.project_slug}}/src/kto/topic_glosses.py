"""The English gloss of each starter topic: the comment that ends the topic's line.

Starter topics are written in the language, since the prompt writer puts them inside a request in
it. Reviewers who do not read the language see what each is about from its gloss, as in
``- 干拓地の日の出  # polder at sunrise``. YAML drops comments, so they are read from the text here
and written back by ``topic_lines``. This module needs nothing of kto's: the template's Jinja
extension (kto_jinja.py) loads it by path to render project.yaml's list.
"""

import json

import yaml

TOPICS_KEY = "starter_topics"
GLOSS_MARK = "  # "


def _comment(item: str) -> str | None:
    """The comment ending a list item's line (``- value  # comment``), found where cutting the
    line leaves the same value: a ``#`` inside a quoted value is not a comment."""
    value = yaml.safe_load(item)
    start = item.find(" #")
    while start != -1:
        try:
            if yaml.safe_load(item[:start]) == value:
                return item[start + 2 :].strip() or None
        except yaml.YAMLError:
            pass
        start = item.find(" #", start + 1)
    return None


def glosses(text: str, key: str = TOPICS_KEY) -> list[str | None]:
    """The gloss of each item of the block list ``key:`` in a YAML text, None where a line has
    none; an empty list when ``key`` is missing or written as a flow list (``[...]``)."""
    lines = text.splitlines()
    starts = [index for index, line in enumerate(lines) if line.strip() == f"{key}:"]
    found: list[str | None] = []
    for line in lines[starts[0] + 1 :] if starts else []:
        item = line.strip()
        if item.startswith("- "):
            found.append(_comment(item))
        elif item and not item.startswith("#"):
            break
    return found


def _scalar(text: str) -> str:
    """``text`` as a YAML list item's value: plain where YAML reads it back unchanged, else quoted."""
    try:
        plain = "#" not in text and yaml.safe_load(f"- {text}") == [text]
    except yaml.YAMLError:
        plain = False
    return text if plain else json.dumps(text, ensure_ascii=False)


def topic_lines(topics: list[str], topic_glosses: list[str | None], indent: int) -> str:
    """The items of a ``starter_topics:`` block list, each with its gloss as a trailing comment."""
    pad = " " * indent
    return "\n".join(
        f"{pad}- {_scalar(topic)}{GLOSS_MARK + gloss if gloss else ''}"
        for topic, gloss in zip(topics, topic_glosses, strict=True)
    )
