"""Text from runs shown as text: architecture strings, error messages and decisions are data.

An error message or an architecture label can contain anything (``<img onerror=...>`` included),
so the explorer never hands such a string to a widget that renders HTML without escaping it here.
Widgets that render text themselves (Label, Textarea, bqplot marks) need no escaping.
"""

from __future__ import annotations

import html

COLOURS = {"error": "#b00020", "warning": "#9a6700", "muted": "#666666", "ok": "#1b7f3b"}


def escaped(text: object, *, tone: str | None = None, bold: bool = False, pre: bool = False) -> str:
    """``text`` escaped into a safe HTML fragment, optionally coloured by ``tone`` (see COLOURS)."""
    style = []
    if tone is not None:
        style.append(f"color:{COLOURS[tone]}")
    if bold:
        style.append("font-weight:600")
    if pre:
        style.append(
            "white-space:pre-wrap;overflow-wrap:anywhere;"
            "font-family:var(--jp-code-font-family, monospace);font-size:90%"
        )
    body = html.escape(str(text), quote=True)
    return f'<span style="{";".join(style)}">{body}</span>' if style else body


def shorten(text: object, limit: int = 160) -> str:
    """One line of at most ``limit`` characters, so a long traceback cannot push the controls away."""
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def number(value: object, digits: int = 4) -> str:
    """A metric as short text: 0.9344, 12,345, or the value itself when it is not a number."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, int) or float(value).is_integer() and abs(value) >= 1000:
        return f"{int(value):,}"
    return f"{value:.{digits}g}" if abs(value) >= 1 else f"{value:.{digits}f}"
