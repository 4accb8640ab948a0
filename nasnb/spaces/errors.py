"""Errors raised by spaces; ValueError subclasses so callers may catch either."""


class InvalidArchitectureError(ValueError):
    """An architecture or its text form does not belong to the space; the message says why."""

    def __init__(self, message: str = "") -> None:
        super().__init__(shorten(str(message)))


def shorten(text: str, limit: int = 400) -> str:
    """A message that quotes a huge input keeps its head and tail: a 100,000-character echo helps nobody."""
    if len(text) <= limit:
        return text
    return f"{text[: limit - 160]} ... [{len(text) - limit + 20} characters left out] ... {text[-140:]}"
