"""The explorer's two lines of text: the status line (what is shown, how it goes) and the problems.

The status line says what the explorer shows (a search's state and trial count, or a replay's
step), the best score so far, how many trials failed, and what its source adds (the trial being
evaluated, or that the replay is still working out the population).

A button press that fails has nobody to raise to, so the explorer collects problems here: its
own complaints (a bad setting, a redraw that failed), newest last, without repeats and at most
``KEPT`` of them, plus what its source reports (failed commands, failed search callbacks). The
line shows the last ``SHOWN_ERRORS``, each shortened, and says how many earlier ones it hides.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import ipywidgets as widgets

from .text import escaped, number, shorten
from .views.common import WRAPPED

if TYPE_CHECKING:
    from .frame import Frame
    from .sources import LiveSource, ReplaySource

NO_SEARCH = "no search yet: choose settings, then press Start or Step"

SHOWN_ERRORS = 4
KEPT = 20


def status_html(frame: Frame, metric: str, source: LiveSource | ReplaySource | None) -> str:
    """The status line for ``frame`` as HTML (escaped, wrapping in a narrow side panel)."""
    best = frame.best()
    tail = f" · best {number(best.score(metric))} (trial #{best.id})" if best is not None else ""
    failed = int(frame.columns.failed.sum())
    tail += f" · {failed} failed" if failed else ""
    head, more = (NO_SEARCH, "") if source is None else source.status(frame)
    return f"<div style='{WRAPPED}'>{escaped(head + tail + more)}</div>"


class ProblemLine:
    """The messages the explorer reported and the HTML widget that shows them with the source's."""

    def __init__(self) -> None:
        self.messages: list[str] = []
        self.widget = widgets.HTML("")
        self.widget.add_class("nasnb-errors")

    def add(self, message: str) -> None:
        """Remember ``message`` (once: a redraw failing every 0.2 s is one problem, not hundreds)."""
        if message not in self.messages:
            self.messages.append(message)
            del self.messages[:-KEPT]

    def show(self, problems: list[str]) -> None:
        """Draw the last few of ``problems`` (the explorer's messages and its source's), escaped."""
        lines = [shorten(p, 300) for p in problems[-SHOWN_ERRORS:]]
        if len(problems) > SHOWN_ERRORS:
            lines.insert(0, f"({len(problems) - SHOWN_ERRORS} earlier problems not shown)")
        self.widget.value = escaped("\n".join(lines), tone="error", pre=True) if lines else ""
