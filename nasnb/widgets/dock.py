"""Dock an explorer in JupyterLab's NAS Explorer side panel.

``dock(explorer)`` makes a widget *the kernel's docked explorer*. The panel (the
``nasnb-explorer`` JupyterLab extension) follows the active notebook, asks that notebook's
kernel over the ``nasnb:explorer`` comm which widget that is, and renders the same ipywidgets
model: one explorer, shown inline and in the panel at once.

Every exchange is a one-shot comm: the panel opens a comm carrying its request and the kernel
answers once and closes it; ``dock()`` opens a comm from the kernel side carrying the answer,
so a panel that is already open updates at once, even right after a kernel restart, when the
panel's earlier requests found no one listening. Importing this module registers the comm
target; the panel imports it (fixed code, no user data) before asking to replay a run.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from ._panel_protocol import (
    COMM_TARGET,
    PanelMessageWarning,
    ProtocolError,
    kernel_message,
    parse_panel_message,
)

__all__ = ["COMM_TARGET", "PanelMessageWarning", "dock", "docked", "handle_message", "undock"]

DEFAULT_TITLE = "NAS Explorer"


class _Docked:
    """The docked explorer; the object itself is kept so that nothing it owns is collected."""

    owner: Any = None
    widget: Any = None
    title: str = ""


_docked = _Docked()


def _widget_of(explorer: Any) -> Any:
    import ipywidgets

    widget = getattr(explorer, "widget", explorer)
    if not isinstance(widget, ipywidgets.Widget):
        raise TypeError(
            f"dock() expects an explorer with a .widget or an ipywidgets widget, got {type(explorer).__name__}"
        )
    return widget


def _model_id(widget: Any) -> str | None:
    """The widget's model id, or None once the widget is closed (its view cannot be shown)."""
    if widget is None or getattr(widget, "comm", None) is None:
        return None
    model_id = widget.model_id
    return model_id if isinstance(model_id, str) else None


def dock(explorer: Any, *, title: str | None = None) -> Any:
    """Show ``explorer`` (an object with a ``.widget``, or a widget) in the side panel.

    ``title`` defaults to the explorer's ``title`` attribute when it has a string one. Returns
    ``explorer``, so ``Explorer(search).dock()`` can hand it back for chaining.
    """
    widget = _widget_of(explorer)
    if title is None:
        own = getattr(explorer, "title", None)
        title = own if isinstance(own, str) and own else DEFAULT_TITLE
    _docked.owner, _docked.widget, _docked.title = explorer, widget, str(title)
    _register_target()
    _announce(current_message())
    return explorer


def undock() -> None:
    """Forget the docked explorer; open panels show their empty state."""
    _docked.owner, _docked.widget, _docked.title = None, None, ""
    _announce(current_message())


def docked() -> Any:
    """The docked explorer (what was passed to ``dock``), or None."""
    return _docked.owner if _model_id(_docked.widget) else None


def current_message() -> dict[str, Any]:
    """What the panel is told: the docked widget's model id and title, or empty."""
    model_id = _model_id(_docked.widget)
    if model_id is None:
        return kernel_message("empty")
    return kernel_message("docked", model_id=model_id, title=_docked.title)


def handle_message(data: object) -> dict[str, Any] | None:
    """The answer to one panel message, or None (with a warning) for a malformed one."""
    try:
        message = parse_panel_message(data)
    except ProtocolError as error:
        warnings.warn(f"nasnb explorer panel: ignored a message ({error})", PanelMessageWarning, stacklevel=2)
        return None
    if message["type"] == "open_run":
        return _open_run(message["path"])
    return current_message()


def _open_run(path: str) -> dict[str, Any]:
    """Replay the run at ``path`` (relative to the kernel's working folder) and dock it."""
    folder = Path(path)
    if not (folder / "run.json").is_file():
        return kernel_message("error", message=f"{path}: not a run directory (no run.json)")
    try:
        from .explorer import Explorer
    except ImportError as error:
        return kernel_message("error", message=f"this nasnb cannot replay runs in the panel: {error}")
    try:
        Explorer.from_run(folder).dock()
    except Exception as error:  # a broken run is reported to the panel, not raised into the kernel
        return kernel_message("error", message=f"{path}: could not be replayed: {type(error).__name__}: {error}")
    return current_message()


def _on_comm_open(comm: Any, open_msg: dict[str, Any]) -> None:
    """Answer a panel's request comm once, then close it."""
    try:
        reply = handle_message(open_msg.get("content", {}).get("data"))
        if reply is not None:
            comm.send(reply)
    finally:
        comm.close()


def _register_target() -> None:
    """Listen for the panel; re-registering replaces the handler, so repeating is harmless."""
    try:
        from comm import get_comm_manager
    except ImportError:
        return
    get_comm_manager().register_target(COMM_TARGET, _on_comm_open)


def _announce(message: dict[str, Any]) -> None:
    """Tell every panel on this kernel, whether or not it has asked."""
    try:
        from comm import create_comm
    except ImportError:
        return
    create_comm(target_name=COMM_TARGET, data=message).close()


_register_target()
