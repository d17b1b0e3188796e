class KtoError(Exception):
    """A problem the user can fix, shown as one line: ``error: <field>: <message>``."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {one_line(message)}")
        self.field = field


def one_line(text: object) -> str:
    """Fold a (possibly multi-line) message from a library into one line."""
    return " ".join(str(text).split())
