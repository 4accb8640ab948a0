"""In real Chromium: a fresh explorer, Start, and what the charts draw while the search runs.

This is the path that froze: bqplot built its tick format from an undefined precision when a
scale's first domain had zero width (one trial), logged ``invalid format: .undefinedg`` and
stopped applying updates, so the population stayed one flat row, best-so-far one dot and the
Pareto front a flat line. The assertions read the SVG (screen positions of dots, tick labels,
line vertices, heatmap cell colours), never the kernel's Python objects.
"""

from __future__ import annotations

import pytest

from tests.helpers.lab import (
    assert_clean_console,
    click_button,
    distinct,
    figure_state,
    goto_notebook,
    notebook,
    run_all,
    shot,
    shot_views,
    wait_idle,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(300)]

BUDGET = 30
OUTPUT = ".jp-OutputArea-output"

# A planted objective with a size: conv_3x3 helps and costs, so accuracy and params both spread
# and a real accuracy/size trade-off (a Pareto front) exists. The sleep keeps the search running
# long enough to be watched.
LIVE_CELL = f"""\
import time
from nasnb import CellSpace, Search
from nasnb.widgets import Explorer

def planted(arch):
    time.sleep(0.3)  # longer than a redraw interval, like real training
    ops = list(arch.values())
    accuracy = 0.3 + 0.1 * ops.count("conv_3x3") + 0.04 * ops.count("conv_1x1") + 0.01 * ops.count("skip_connect")
    return {{"accuracy": accuracy, "params": 50 + 900 * ops.count("conv_3x3") + 120 * ops.count("conv_1x1")}}

search = Search(CellSpace(), "evolution", planted, budget={BUDGET}, seed=0, run_dir="runs/live")
explorer = Explorer(search)
explorer
"""


def population(page) -> dict:
    return figure_state(page, "Population", OUTPUT)


def wait_dots(page, title: str, mark: int, at_least: int, timeout: float = 60_000) -> None:
    page.wait_for_function(
        f"""() => {{
          const figure = [...document.querySelectorAll('{OUTPUT} .bqplot.figure')]
            .find(node => (node.querySelector('.mainheading') || {{}}).textContent === '{title}');
          const group = figure && figure.querySelectorAll('svg.svg-figure g[clip-path]')[{mark}];
          return !!group && group.querySelectorAll('path.dot').length >= {at_least};
        }}""",
        timeout=timeout,
    )


def assert_spread(state: dict, mark: int, at_least: int, what: str) -> None:
    dots = state["marks"][mark]["dots"]
    xs, ys = [x for x, _ in dots], [y for _, y in dots]
    assert distinct(xs) >= at_least and distinct(ys) >= at_least, (
        f"{what}: {len(dots)} dots at {distinct(xs)} distinct x and {distinct(ys)} distinct y positions: {dots}"
    )


def assert_ticks(state: dict, what: str) -> None:
    for axis in state["axes"][:2]:
        assert len(axis["ticks"]) >= 2, f"{what}: axis {axis['label']!r} has tick labels {axis['ticks']}"


def assert_legible_colour_bar(page) -> None:
    """The importance colour key: a bar at least 100 px long, three labels side by side, none
    overlapping another (what bqplot's own ColorAxis failed at: 0 px, labels on top of each other)."""
    key = page.evaluate(
        f"""() => {{
          const bar = document.querySelector('{OUTPUT} .nasnb-colourbar-bar');
          const labels = [...document.querySelectorAll('{OUTPUT} .nasnb-colourbar-label')]
            .map(n => n.getBoundingClientRect()).map(r => [r.left, r.right, r.width]);
          return {{ width: bar ? bar.getBoundingClientRect().width : 0, labels }};
        }}"""
    )
    assert key["width"] >= 100, f"colour bar {key['width']} px long"
    labels = key["labels"]
    assert len(labels) == 3 and all(width > 0 for _, _, width in labels), labels
    assert all(right <= left + 1 for (_, right, _), (left, _, _) in zip(labels, labels[1:])), f"overlap: {labels}"


def test_start_on_a_fresh_explorer_draws_a_growing_search(lab_server, lab_folder, browser_page, artifacts_dir):
    page = browser_page
    (lab_server.root / lab_folder / "live.ipynb").write_text(notebook(LIVE_CELL))
    goto_notebook(page, lab_server, f"{lab_folder}/live.ipynb")
    run_all(page)
    page.wait_for_selector(f"{OUTPUT} .bqplot.figure", timeout=60_000)
    wait_idle(page)
    shot(page, artifacts_dir, "live-0-fresh")

    click_button(page, "Start")
    # While running: points already spread over both axes, with tick labels.
    wait_dots(page, "Population", 0, 8)
    running = population(page)
    shot(page, artifacts_dir, "live-1-running")
    assert_spread(running, 0, 3, "population while running")
    assert_ticks(running, "population while running")

    page.wait_for_function(
        f"() => [...document.querySelectorAll('{OUTPUT}')].some(n => n.textContent.includes('finished · {BUDGET}'))",
        timeout=120_000,
    )
    wait_dots(page, "Population", 0, BUDGET)
    page.wait_for_timeout(500)  # the last redraw
    shot(page, artifacts_dir, "live-2-finished")

    done = population(page)
    assert len(done["marks"][0]["dots"]) == BUDGET
    assert_spread(done, 0, 5, "population after finishing")
    assert_ticks(done, "population after finishing")

    progress = figure_state(page, "Best so far", OUTPUT)
    assert_spread(progress, 0, 5, "best-so-far points")
    assert_ticks(progress, "best so far")
    best = [y for line in progress["marks"][1]["lines"] for _, y in line]
    assert len(best) >= 2 and distinct(best) >= 2, f"best-so-far line: {best}"
    assert best[-1] < best[0], f"best so far must rise (SVG y shrinks upwards): {best}"

    pareto = figure_state(page, "Pareto front", OUTPUT)
    front = pareto["marks"][2]["dots"]
    assert distinct([x for x, _ in front]) >= 2 and distinct([y for _, y in front]) >= 2, f"Pareto front: {front}"
    assert_ticks(pareto, "pareto")

    lineage = figure_state(page, "Lineage (click a trial)", OUTPUT)
    assert_spread(lineage, 2, 5, "lineage nodes")

    importance = figure_state(page, "Per-op importance", OUTPUT)
    cells = importance["marks"][0]["cells"]
    assert len(cells) >= 6 * 4, f"importance grid: {len(cells)} cells"
    assert "rgb(0, 0, 0)" not in cells, "an importance cell is painted black"
    assert_legible_colour_bar(page)
    shot_views(page, artifacts_dir, "live")

    assert_clean_console(page)
