"""Driving JupyterLab in Chromium as a person does, and reading what bqplot drew.

Shared by the browser tests: open a notebook, run its cells, click the explorer's buttons, and
turn a bqplot figure's SVG into numbers (screen positions of dots, tick labels, line vertices),
so tests assert on the rendered page rather than on the kernel's Python objects.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

PANEL = "#nasnb-explorer"

KERNEL_IDLE = """() => {
  const widget = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const kernel = widget && widget.sessionContext && widget.sessionContext.session
    && widget.sessionContext.session.kernel;
  return !!kernel && kernel.status === 'idle' && kernel.connectionStatus === 'connected';
}"""

# What a bqplot figure shows, read from its SVG. Each mark is a group with a clip path, in the
# order of Figure.marks; for each: dot centres (from their translate), the vertices of every
# line path, the number of heatmap cells and their fill colours. Axes: tick label texts and the
# axis label, in the order of Figure.axes (colour axes included).
FIGURE_STATE = """([root, title]) => {
  const scope = root ? document.querySelector(root) : document;
  if (!scope) { return null; }
  const figures = [...scope.querySelectorAll('.bqplot.figure')]
    .filter(node => (node.querySelector('.mainheading') || {}).textContent === title);
  const figure = figures[figures.length - 1];
  if (!figure) { return null; }
  const svg = figure.querySelector('svg.svg-figure');
  const box = svg.getBoundingClientRect();
  const numbers = d => (d.match(/-?\\d+(\\.\\d+)?(e-?\\d+)?/g) || []).map(Number);
  const marks = [...svg.querySelectorAll('g[clip-path]')].map(group => ({
    dots: [...group.querySelectorAll('path.dot')]
      .filter(dot => getComputedStyle(dot).display !== 'none' && getComputedStyle(dot).visibility !== 'hidden')
      .map(dot => {
        const grp = dot.parentNode.classList.contains('object_grp') ? dot.parentNode : dot;
        const m = /translate\\(\\s*([-\\d.e]+)[ ,]+([-\\d.e]+)/.exec(grp.getAttribute('transform') || '');
        return m ? [Number(m[1]), Number(m[2])] : null;
      }).filter(p => p !== null),
    lines: [...group.querySelectorAll('path.line')].map(line => {
      const v = numbers(line.getAttribute('d') || '');
      const pts = [];
      for (let i = 0; i + 1 < v.length; i += 2) { pts.push([v[i], v[i + 1]]); }
      return pts;
    }),
    cells: [...group.querySelectorAll('rect.heatmapcell')].map(cell => getComputedStyle(cell).fill),
  }));
  const axes = [...figure.querySelectorAll('g.axis')].map(axis => ({
    ticks: [...axis.querySelectorAll('.tick text')].map(t => t.textContent.trim()).filter(t => t !== ''),
    label: ((axis.querySelector('.axislabel') || {}).textContent || '').trim(),
    width: axis.getBoundingClientRect().width,
    height: axis.getBoundingClientRect().height,
  }));
  return { marks, axes, width: box.width, height: box.height, html: figure.outerHTML.length };
}"""


def notebook(*sources: str) -> str:
    """An nbformat 4 notebook (JSON text) with one code cell per source."""
    cells = [
        {"id": f"cell-{i}", "cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [], "source": s}
        for i, s in enumerate(sources)
    ]
    kernel = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    return json.dumps({"cells": cells, "metadata": {"kernelspec": kernel}, "nbformat": 4, "nbformat_minor": 5})


def wait_idle(page: Any, timeout: float = 90_000) -> None:
    page.wait_for_function(KERNEL_IDLE, timeout=timeout)


def kernel_execute(page: Any, code: str) -> None:
    """Run ``code`` in the current notebook's kernel (no cell), as a user's next cell would."""
    status = page.evaluate(
        """async code => {
          const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
          const reply = await kernel.requestExecute({code, store_history: false}).done;
          return reply.content.status;
        }""",
        code,
    )
    assert status == "ok", status


def open_notebook(page: Any, path: str) -> None:
    page.evaluate("path => window.jupyterapp.commands.execute('docmanager:open', {path})", path)
    wait_notebook(page, path)


def goto_notebook(page: Any, server: Any, path: str) -> None:
    """Load JupyterLab with the notebook ``path`` open, its kernel idle, in a workspace of its own
    (named after the notebook's folder), so tabs and panels left by earlier tests on the shared
    server are not restored into this one."""
    page.goto(server.url(lab_path(path)))
    wait_notebook(page, path)


def lab_path(path: str) -> str:
    """The JupyterLab URL path opening notebook ``path`` in the workspace of its top folder."""
    workspace = re.sub(r"[^A-Za-z0-9_-]", "-", path.split("/")[0])
    return f"/lab/workspaces/{workspace}/tree/{path}"


def open_palette_command(page: Any, label: str) -> None:
    """Open the command palette with its shortcut and run the command ``label``, as a user does."""
    page.locator(".jp-Notebook").first.click(position={"x": 5, "y": 5})
    page.keyboard.press("Escape")
    page.keyboard.press("Control+Shift+C")
    palette = page.locator(".lm-CommandPalette-input")
    palette.wait_for(state="visible", timeout=10_000)
    palette.fill(label)
    page.locator(".lm-CommandPalette-item", has_text=label).first.wait_for(timeout=10_000)
    page.keyboard.press("Enter")


def wait_notebook(page: Any, path: str) -> None:
    page.wait_for_function(
        """path => {
          // window.jupyterapp appears only once JupyterLab has started
          const widget = window.jupyterapp && window.jupyterapp.shell.currentWidget;
          return !!widget && !!widget.context && widget.context.path === path;
        }""",
        arg=path,
        timeout=60_000,
    )
    wait_idle(page)


def run_all(page: Any) -> None:
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")


def figure_state(page: Any, title: str, root: str | None = None) -> dict | None:
    """What the figure titled ``title`` (under the CSS selector ``root``, or anywhere) shows."""
    return page.evaluate(FIGURE_STATE, [root, title])


def distinct(values: list[float], tolerance: float = 0.5) -> int:
    """How many values differ by more than ``tolerance`` pixels from each other."""
    count, last = 0, None
    for value in sorted(values):
        if last is None or value - last > tolerance:
            count, last = count + 1, value
    return count


def click_button(page: Any, label: str, root: str = ".jp-OutputArea-output") -> None:
    """Click the explorer's button labelled ``label`` (Start, Pause, Step, Stop, New search)."""
    page.locator(f"{root} button.jupyter-button", has_text=re.compile(rf"^\s*{re.escape(label)}\s*$")).first.click()


def button_states(page: Any, root: str = ".jp-OutputArea-output") -> dict[str, bool]:
    """Label -> enabled for the explorer's buttons under ``root``."""
    return page.evaluate(
        """root => Object.fromEntries([...document.querySelectorAll(root + ' .nasnb-controls button.jupyter-button')]
            .map(b => [b.textContent.trim(), !b.disabled]))""",
        root,
    )


def status_text(page: Any, root: str = ".jp-OutputArea-output") -> str:
    return page.evaluate(
        "root => (document.querySelector(root + ' .nasnb-status') || {}).textContent || ''",
        root,
    )


def shot(page: Any, artifacts: Path, name: str, selector: str | None = None) -> Path:
    """A screenshot of the page (or of ``selector``) in ``test-artifacts/``; returns its path."""
    path = artifacts / f"{name}.png"
    if selector is None:
        page.screenshot(path=str(path))
    else:
        page.locator(selector).first.screenshot(path=str(path))
    return path


def shot_tall(page: Any, artifacts: Path, name: str, selector: str) -> Path:
    """A screenshot of the whole element ``selector`` even when it is taller than the window (the
    window grows for the shot, then returns to its size)."""
    size = page.viewport_size
    height = page.evaluate("s => Math.ceil(document.querySelector(s).getBoundingClientRect().height)", selector)
    page.set_viewport_size({"width": size["width"], "height": max(size["height"], height + 300)})
    page.wait_for_timeout(400)
    path = artifacts / f"{name}.png"
    page.locator(selector).first.screenshot(path=str(path))
    page.set_viewport_size(size)
    page.wait_for_timeout(200)
    return path


def move_slider(page: Any, root: str, fraction: float) -> None:
    """Click the replay slider's track at ``fraction`` of its length, as a person would."""
    track = page.locator(f"{root} .nasnb-replay .noUi-target, {root} .nasnb-replay .slider-container").first
    box = track.bounding_box()
    track.click(position={"x": box["width"] * fraction, "y": box["height"] / 2})


def assert_clean_console(page: Any) -> None:
    """No console error or uncaught exception except JupyterLab's own, allowed ones."""
    assert page.console_errors == [], "browser console errors:\n" + "\n".join(page.console_errors)


VIEW_TITLES = {
    "population": "Population",
    "best-so-far": "Best so far",
    "pareto": "Pareto front",
    "importance": "Per-op importance",
    "lineage": "Lineage (click a trial)",
    "learning-curve": "Learning curve",
}


def shot_views(page: Any, artifacts: Path, prefix: str, root: str = ".jp-OutputArea-output") -> list[Path]:
    """One screenshot per explorer view under ``root`` (each figure with the widgets around it),
    plus the controls and the detail pane, named ``<prefix>-<view>.png``."""
    paths = []
    for name, title in VIEW_TITLES.items():
        figure = page.locator(f"{root} .bqplot.figure").filter(
            has=page.locator(".mainheading", has_text=re.compile(f"^{re.escape(title)}$"))
        )
        if figure.count():
            target = figure.last.locator("xpath=..")  # the VBox with the figure's legend and notes
            path = artifacts / f"{prefix}-{name}.png"
            target.screenshot(path=str(path))
            paths.append(path)
    for name, selector in (("controls", ".nasnb-controls"), ("detail", ".nasnb-detail")):
        node = page.locator(f"{root} {selector}")
        if node.count():
            path = artifacts / f"{prefix}-{name}.png"
            node.first.screenshot(path=str(path))
            paths.append(path)
    return paths
