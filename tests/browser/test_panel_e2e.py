"""End to end, in real Chromium: the NAS Explorer side panel follows the active notebook.

JupyterLab runs on a private port with two notebooks. The first runs a small search with a
planted objective and docks its explorer; the panel must show the population chart with one
point per finished trial. The second notebook has no explorer, so the panel shows its empty
state and the run directories beside it; replaying one from there adds and runs a cell that docks
a replay explorer in that notebook's kernel; switching back shows the first chart again. A page reload brings the
panel back; a kernel restart clears it. Labels built from ``<img src=x onerror=alert(1)>``
must appear as text: no img element, no alert dialog.
"""

from __future__ import annotations

import json
import shutil

import pytest

from tests.helpers.lab import (
    PANEL,
    assert_clean_console,
    kernel_execute,
    lab_path,
    move_slider,
    notebook,
    open_notebook,
    open_palette_command,
    shot,
    shot_views,
    wait_idle,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(300)]

HOSTILE = "<img src=x onerror=alert(1)>"
TRIALS = 12

SEARCH_CELL = f"""\
from nasnb import CellSpace, Search
from nasnb.widgets import Explorer

def planted(arch):
    return {{"accuracy": sum(op == "conv_3x3" for op in arch.values()) / 6}}

search = Search(CellSpace(), "evolution", planted, budget={TRIALS}, seed=0, run_dir="runs/demo")
search.run()
explorer = Explorer(search)
explorer.dock()
print("FINISHED", sum(trial.ok for trial in search.trials))
"""

# Points of the explorer's population chart: dots of the first mark (each bqplot mark is a clipped
# group) of the figure titled Population.
POPULATION_POINTS = """() => {
  const panel = document.querySelector('#nasnb-explorer');
  if (!panel) { return -1; }
  const figure = [...panel.querySelectorAll('.bqplot.figure')]
    .find(node => (node.querySelector('.mainheading') || {}).textContent === 'Population');
  const mark = figure && figure.querySelector('svg.svg-figure g[clip-path]');
  return mark ? mark.querySelectorAll('path.dot').length : -1;
}"""


def panel_text(page) -> str:
    return page.text_content(PANEL)


def wait_points(page, count: int, timeout: float = 60_000) -> None:
    page.wait_for_function(f"() => ({POPULATION_POINTS})() === {count}", timeout=timeout)


def wait_title(page, start: str) -> str:
    """Wait until the panel's title starts with ``start`` (compared as text); return the title."""
    page.wait_for_function(
        """start => {
          const title = document.querySelector('#nasnb-explorer .nasnb-Explorer-title');
          return !!title && title.textContent.startsWith(start);
        }""",
        arg=start,
    )
    return page.text_content(f"{PANEL} .nasnb-Explorer-title")


def replay(page, run_path: str) -> None:
    """Click the Replay button of ``run_path`` in the panel's run list."""
    run = page.locator(f"{PANEL} .nasnb-Explorer-run").filter(has_text=run_path)
    run.locator(".nasnb-Explorer-replay").click()


def widen_side_panel(page, pixels: int) -> None:
    """Drag the handle between the main area and the right side bar, as a user would."""
    handle = page.locator("#jp-main-split-panel > .lm-SplitPanel-handle:not(.lm-mod-hidden)").last
    box = handle.bounding_box()
    before = page.locator(PANEL).bounding_box()["width"]
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] - pixels, box["y"] + box["height"] / 2, steps=5)
    page.mouse.up()
    assert page.locator(PANEL).bounding_box()["width"] > before + pixels / 2


def assert_no_injection(page) -> None:
    assert page.locator(f"{PANEL} img").count() == 0
    assert page.dialogs == []


def test_panel_follows_the_active_notebook(lab_server, lab_folder, browser_page, artifacts_dir):
    page = browser_page
    try:
        follow_notebooks(page, lab_server, lab_folder, artifacts_dir)
    except Exception as error:
        page.screenshot(path=str(artifacts_dir / "panel-failure.png"))
        html = page.evaluate("() => (document.querySelector('#nasnb-explorer') || document.body).outerHTML")
        (artifacts_dir / "panel-failure.html").write_text(html)
        raise AssertionError(f"{error}\n--- JupyterLab log ---\n{lab_server.log()}") from error


def follow_notebooks(page, lab_server, folder, artifacts_dir) -> None:
    root = lab_server.root / folder
    (root / "one.ipynb").write_text(notebook(SEARCH_CELL))
    (root / "two.ipynb").write_text(notebook("print('no explorer here')"))
    (root / "runs" / HOSTILE).mkdir(parents=True)
    (root / "runs" / HOSTILE / "run.json").write_text("{}")

    page.goto(lab_server.url(lab_path(f"{folder}/one.ipynb")))
    wait_idle(page)

    # The palette entry opens the panel; the kernel has not imported nasnb, so it shows how to start.
    open_palette_command(page, "Open NAS Explorer")
    page.wait_for_selector(f"{PANEL} .nasnb-Explorer-runPath", timeout=30_000)
    widen_side_panel(page, 300)
    assert "Explorer(search).dock()" in panel_text(page)
    assert page.locator(f"{PANEL} .nasnb-Explorer-runPath").all_inner_texts() == [f"runs/{HOSTILE}"]

    # A search docks its explorer: the panel shows its population, one point per finished trial.
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    page.wait_for_selector(f"text=FINISHED {TRIALS}", timeout=120_000)
    wait_idle(page)
    wait_points(page, TRIALS)
    own_title = wait_title(page, "NAS Explorer: cell")
    # The hostile-named run becomes a real copy of the recorded one, so it replays.
    for part in (root / "runs" / "demo").iterdir():
        shutil.copy(part, root / "runs" / HOSTILE / part.name)

    # The second notebook has no explorer: the empty state, listing both runs as text.
    open_notebook(page, f"{folder}/two.ipynb")
    wait_title(page, "NAS Explorer")
    page.wait_for_function("() => document.querySelectorAll('#nasnb-explorer .nasnb-Explorer-runPath').length === 2")
    assert "No explorer in this notebook yet" in panel_text(page)
    runs = page.locator(f"{PANEL} .nasnb-Explorer-runPath").all_inner_texts()
    assert sorted(runs) == sorted([f"runs/{HOSTILE}", "runs/demo"]), runs
    assert_no_injection(page)
    # A run written after the panel looked (here by copying; usually by a search in the kernel)
    # appears in the list by itself, without pressing "Look for runs again".
    shutil.copytree(root / "runs" / "demo", root / "runs" / "later")
    page.wait_for_function(
        "() => document.querySelectorAll('#nasnb-explorer .nasnb-Explorer-runPath').length === 3", timeout=15_000
    )
    page.screenshot(path=str(artifacts_dir / "panel-empty-state.png"))

    # Replaying a run docks a replay explorer in this notebook's kernel; its title, built from
    # the hostile folder name, is shown as text.
    replay(page, HOSTILE)
    assert wait_title(page, "Replay of ") == f"Replay of {HOSTILE}"
    wait_points(page, TRIALS)
    assert_no_injection(page)
    # ... through a cell added to the notebook, so the replay leaves its trace there.
    sources = page.evaluate(
        "() => window.jupyterapp.shell.currentWidget.content.model.sharedModel.cells.map(c => c.getSource())"
    )
    assert any(f"Explorer.from_run({json.dumps(f'runs/{HOSTILE}')})" in source for source in sources), sources
    # Moving the replay's slider back shows the run as it was then: fewer points, the status says so.
    move_slider(page, PANEL, 0.4)
    page.wait_for_function(
        f"""() => {{
          const n = ({POPULATION_POINTS})();
          const status = (document.querySelector('#nasnb-explorer .nasnb-status') || {{}}).textContent || '';
          return n > 0 && n < {TRIALS} && status.includes(`step ${{n}} / {TRIALS}`);
        }}"""
    )
    page.wait_for_timeout(400)
    shot(page, artifacts_dir, "panel-replay-slider-moved", PANEL)
    shot_views(page, artifacts_dir, "panel-replay", PANEL)

    # Back to the first notebook: its own explorer again.
    page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text="one.ipynb").click()
    wait_idle(page)
    wait_title(page, own_title)
    wait_points(page, TRIALS)

    # A hostile title is shown as text.
    title = f"evolution {HOSTILE} on a planted objective"
    kernel_execute(page, f"explorer.dock(title={title!r})")
    assert wait_title(page, title) == title
    assert_no_injection(page)

    # A page reload restores the panel and the explorer view.
    page.reload()
    wait_idle(page)
    assert wait_title(page, title) == title
    wait_points(page, TRIALS)
    assert_no_injection(page)
    page.screenshot(path=str(artifacts_dir / "panel-after-reload.png"))

    # A kernel restart takes the explorer with it: the panel clears.
    page.evaluate("() => window.jupyterapp.shell.currentWidget.sessionContext.restartKernel()")
    page.wait_for_function(
        "() => /The kernel restarted/.test(document.querySelector('#nasnb-explorer').textContent)", timeout=30_000
    )
    assert page.locator(f"{PANEL} .bqplot").count() == 0
    page.screenshot(path=str(artifacts_dir / "panel-after-kernel-restart.png"))
    assert_clean_console(page)
