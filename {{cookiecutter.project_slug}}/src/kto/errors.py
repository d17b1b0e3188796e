class KtoError(Exception):
    """A problem the user can fix, shown as one line: ``error: <field>: <message>``."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {one_line(message)}")
        self.field = field


class Interrupted(BaseException):
    """Ctrl-C or SIGTERM during a step, after it saved its work; ``kept`` says what it kept. Not a
    KeyboardInterrupt, which typer turns into a silent exit 130 before ``kto.cli.main`` sees it."""

    def __init__(self, kept: str):
        super().__init__(kept)
        self.kept = kept


def one_line(text: object) -> str:
    """Fold a (possibly multi-line) message from a library into one line."""
    return " ".join(str(text).split())


def short(text: object, limit: int = 200) -> str:
    """One line of at most about ``limit`` characters, cut at a word boundary and marked with an
    ellipsis: a cause is never cut in the middle of a word."""
    line = one_line(text)
    if len(line) <= limit:
        return line
    head = line[:limit].rsplit(" ", 1)[0] if " " in line[:limit] else line.split(" ", 1)[0]
    return head.rstrip(" ,;:(") + " …"


def unknown_key(settings, location: tuple) -> str:
    """The words "unknown key", with the key nearest to it that the section at ``location`` of
    ``settings`` (a pydantic model) takes: a misspelt ``min_submited`` is named as such."""
    import difflib

    model = settings
    for part in (part for part in location[:-1] if not isinstance(part, int)):  # no list indices
        field = model.model_fields.get(str(part)) if model else None
        model = _model_in(field.annotation) if field else None
    near = difflib.get_close_matches(str(location[-1]), list(model.model_fields) if model else [], n=1)
    return "unknown key" + (f": did you mean {near[0]}?" if near else "")


def _model_in(annotation):
    """The settings class inside an annotation (``Lora | None``, ``list[ModelSlot]``...)."""
    from typing import get_args

    from pydantic import BaseModel

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return next(filter(None, (_model_in(arg) for arg in get_args(annotation))), None)
