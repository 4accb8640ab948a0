"""The kernel side of the NAS Explorer panel: docking, message validation and replies, no browser."""

from __future__ import annotations

import json
import re
import sys
import types
from pathlib import Path

import pytest

widgets = pytest.importorskip("ipywidgets")
bqplot = pytest.importorskip("bqplot")
comm = pytest.importorskip("comm")

from nasnb.widgets import _panel_protocol as protocol  # noqa: E402
from nasnb.widgets import dock as docking  # noqa: E402

HOSTILE = "<img src=x onerror=alert(1)>"
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def announced(monkeypatch):
    """Messages dock() sends on kernel-opened comms (widgets still get their usual comms)."""
    sent: list[dict] = []

    def create_comm(**kwargs):
        if kwargs.get("target_name") == protocol.COMM_TARGET:
            sent.append(kwargs["data"])
        return comm.DummyComm(**kwargs)

    monkeypatch.setattr(comm, "create_comm", create_comm)
    yield sent
    docking.undock()


def explorer_like(title: str | None = None):
    """A stand-in with the explorer's shape: a ``.widget`` VBox holding a bqplot Figure."""
    scatter = bqplot.Scatter(x=[1, 2], y=[0.5, 0.7], scales={"x": bqplot.LinearScale(), "y": bqplot.LinearScale()})
    widget = widgets.VBox([bqplot.Figure(marks=[scatter], title="Population")])
    return types.SimpleNamespace(widget=widget, title=title)


def test_dock_announces_the_widget_and_answers_requests(announced):
    explorer = explorer_like()
    assert docking.dock(explorer) is explorer
    expected = {"type": "docked", "model_id": explorer.widget.model_id, "title": "NAS Explorer"}
    assert announced == [expected]
    assert docking.handle_message({"type": "request"}) == expected
    assert docking.docked() is explorer


def test_title_comes_from_the_argument_then_the_explorer(announced):
    docking.dock(explorer_like(title="evolution on digits"))
    assert announced[-1]["title"] == "evolution on digits"
    docking.dock(explorer_like(title="ignored"), title="mine")
    assert announced[-1]["title"] == "mine"


def test_a_bare_widget_docks_and_anything_else_is_refused(announced):
    widget = explorer_like().widget
    docking.dock(widget)
    assert announced[-1]["model_id"] == widget.model_id
    with pytest.raises(TypeError, match="expects an explorer with a .widget or an ipywidgets widget, got int"):
        docking.dock(42)


def test_hostile_text_is_sent_verbatim_as_text_and_long_text_is_cut(announced):
    docking.dock(explorer_like(), title=HOSTILE)
    assert announced[-1]["title"] == HOSTILE
    docking.dock(explorer_like(), title="x" * (protocol.MAX_TEXT + 50))
    assert len(announced[-1]["title"]) == protocol.MAX_TEXT


def test_nothing_docked_closed_widget_and_undock_mean_empty(announced):
    assert docking.handle_message({"type": "request"}) == {"type": "empty"}
    explorer = explorer_like()
    docking.dock(explorer)
    explorer.widget.close()
    assert docking.handle_message({"type": "request"}) == {"type": "empty"}
    assert docking.docked() is None
    docking.dock(explorer_like())
    docking.undock()
    assert announced[-1] == {"type": "empty"}


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (None, "message is not an object"),
        ("request", "message is not an object"),
        ({"type": "execute", "code": "import os"}, "unknown message type 'execute'"),
        ({}, "unknown message type None"),
        ({"type": "request", "html": HOSTILE}, "request: unexpected field 'html'"),
        ({"type": "open_run"}, "open_run.path: expected a string, got NoneType"),
        ({"type": "open_run", "path": 7}, "open_run.path: expected a string, got int"),
        ({"type": "open_run", "path": ""}, "open_run.path: not a path"),
        ({"type": "open_run", "path": "runs/\0x"}, "open_run.path: not a path"),
        ({"type": "docked", "model_id": "a", "title": "t"}, "unknown message type 'docked'"),
    ],
)
def test_malformed_messages_are_ignored_with_a_warning(announced, data, reason):
    with pytest.warns(protocol.PanelMessageWarning, match=re.escape(reason)):
        assert docking.handle_message(data) is None
    assert announced == []


def test_open_run_refuses_a_folder_without_run_json_and_echoes_the_path_as_text(announced, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / HOSTILE).mkdir()
    reply = docking.handle_message({"type": "open_run", "path": HOSTILE})
    assert reply == {"type": "error", "message": f"{HOSTILE}: not a run directory (no run.json)"}


def fake_explorer_module(monkeypatch, from_run):
    module = types.ModuleType("nasnb.widgets.explorer")
    module.Explorer = types.SimpleNamespace(from_run=from_run)
    monkeypatch.setitem(sys.modules, "nasnb.widgets.explorer", module)


def test_open_run_replays_the_run_and_docks_its_explorer(announced, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "runs" / "demo").mkdir(parents=True)
    (tmp_path / "runs" / "demo" / "run.json").write_text(json.dumps({"space": "cell"}))
    opened: list[Path] = []
    replay = explorer_like(title="Replay of demo")

    def from_run(path):
        opened.append(Path(path))
        replay.dock = lambda: docking.dock(replay)
        return replay

    fake_explorer_module(monkeypatch, from_run)
    reply = docking.handle_message({"type": "open_run", "path": "runs/demo"})
    assert opened == [Path("runs/demo")]
    assert reply == {"type": "docked", "model_id": replay.widget.model_id, "title": "Replay of demo"}
    assert announced == [reply]
    assert docking.docked() is replay


def test_open_run_replays_a_real_run_with_the_real_explorer(announced, tmp_path, monkeypatch, planted):
    from nasnb import CellSpace, Search
    from nasnb.widgets.explorer import Explorer

    monkeypatch.chdir(tmp_path)
    Search(CellSpace(), "evolution", planted, budget=5, seed=0, run_dir="runs/demo").run()
    reply = docking.handle_message({"type": "open_run", "path": "runs/demo"})
    explorer = docking.docked()
    try:
        assert isinstance(explorer, Explorer)
        assert len(explorer.run.trials) == 5
        assert reply == {"type": "docked", "model_id": explorer.widget.model_id, "title": explorer.title}
    finally:
        explorer.close()


def test_a_run_that_fails_to_load_is_reported_not_raised(announced, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "run.json").write_text("{")

    def from_run(path):
        raise ValueError(f"corrupt run.json in {HOSTILE}")

    fake_explorer_module(monkeypatch, from_run)
    reply = docking.handle_message({"type": "open_run", "path": "bad"})
    message = f"bad: could not be replayed: ValueError: corrupt run.json in {HOSTILE}"
    assert reply == {"type": "error", "message": message}


class RecordingComm:
    def __init__(self):
        self.sent: list[dict] = []
        self.closed = False

    def send(self, data):
        self.sent.append(data)

    def close(self):
        self.closed = True


def test_the_comm_target_answers_once_and_closes(announced):
    assert comm.get_comm_manager().targets[protocol.COMM_TARGET] is docking._on_comm_open
    explorer = explorer_like()
    docking.dock(explorer)
    channel = RecordingComm()
    docking._on_comm_open(channel, {"content": {"data": {"type": "request"}}})
    assert channel.sent == [{"type": "docked", "model_id": explorer.widget.model_id, "title": "NAS Explorer"}]
    assert channel.closed
    silent = RecordingComm()
    with pytest.warns(protocol.PanelMessageWarning):
        docking._on_comm_open(silent, {"content": {"data": {"type": "nonsense"}}})
    assert silent.sent == [] and silent.closed


def test_kernel_messages_are_checked_before_sending():
    with pytest.raises(protocol.ProtocolError, match="docked.model_id: not a widget model id"):
        protocol.kernel_message("docked", model_id=HOSTILE, title="t")
    with pytest.raises(protocol.ProtocolError, match="unknown message type 'html'"):
        protocol.kernel_message("html")


def test_both_sides_share_the_target_and_the_text_limit():
    source = (ROOT / "labextension" / "src" / "messages.ts").read_text()
    assert f"export const COMM_TARGET = '{protocol.COMM_TARGET}';" in source
    assert f"export const MAX_TEXT = {protocol.MAX_TEXT};" in source
