"""Errors raised by spaces; ValueError subclasses so callers may catch either."""


class InvalidArchitectureError(ValueError):
    """An architecture or its text form does not belong to the space; the message says why."""
