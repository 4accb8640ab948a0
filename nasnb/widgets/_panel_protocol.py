"""The comm protocol between a kernel and the JupyterLab NAS Explorer panel.

The panel's twin of this schema is ``labextension/src/messages.ts``; both sides check every
message because each end runs code the other does not control: a panel message only ever
selects among a few actions, and a kernel message only ever carries a widget id and text.

Panel to kernel: ``{"type": "request"}`` and ``{"type": "open_run", "path": str}``.
Kernel to panel: ``{"type": "docked", "model_id": str, "title": str}``, ``{"type": "empty"}``
and ``{"type": "error", "message": str}``. Extra or missing fields make a message malformed.
"""

from __future__ import annotations

import re
from typing import Any

COMM_TARGET = "nasnb:explorer"
MAX_TEXT = 2000

_MODEL_ID = re.compile(r"[0-9A-Za-z_-]{1,64}")

PANEL_SCHEMA: dict[str, dict[str, str]] = {"request": {}, "open_run": {"path": "path"}}
KERNEL_SCHEMA: dict[str, dict[str, str]] = {
    "docked": {"model_id": "model_id", "title": "text"},
    "empty": {},
    "error": {"message": "text"},
}


class ProtocolError(ValueError):
    """A message that does not follow the schema; the text says which part and why."""


class PanelMessageWarning(UserWarning):
    """Warned when the kernel ignores a malformed message from the panel."""


def _check_field(kind: str, value: object) -> str | None:
    if not isinstance(value, str):
        return f"expected a string, got {type(value).__name__}"
    if kind == "model_id" and not _MODEL_ID.fullmatch(value):
        return "not a widget model id"
    if kind == "path" and (value == "" or "\0" in value):
        return "not a path"
    if len(value) > MAX_TEXT:
        return f"longer than {MAX_TEXT} characters"
    return None


def _parse(schema: dict[str, dict[str, str]], data: object) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ProtocolError(f"message is not an object (got {type(data).__name__})")
    kind = data.get("type")
    if not isinstance(kind, str) or kind not in schema:
        raise ProtocolError(f"unknown message type {kind!r}")
    fields = schema[kind]
    extra = sorted(str(key) for key in data if key != "type" and key not in fields)
    if extra:
        raise ProtocolError(f"{kind}: unexpected field {extra[0]!r}")
    for name, field_kind in fields.items():
        problem = _check_field(field_kind, data.get(name))
        if problem:
            raise ProtocolError(f"{kind}.{name}: {problem}")
    return dict(data)


def parse_panel_message(data: object) -> dict[str, Any]:
    """The panel's message as a dict, or ProtocolError saying what is wrong with it."""
    return _parse(PANEL_SCHEMA, data)


def kernel_message(kind: str, **fields: str) -> dict[str, Any]:
    """Build a message for the panel, checked against the schema the panel applies.

    Text longer than the panel accepts is cut here rather than refused there, so a long
    error still reaches the user.
    """
    message: dict[str, Any] = {"type": kind}
    for name, value in fields.items():
        text = str(value)
        message[name] = text if KERNEL_SCHEMA.get(kind, {}).get(name) != "text" else text[:MAX_TEXT]
    return _parse(KERNEL_SCHEMA, message)
