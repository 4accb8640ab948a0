"""In real Chromium: the buttons a user presses, and the side panel at the width it opens with.

Step three times, Pause then Start, Stop, New search in a notebook's explorer; then the same
kind of search docked in the NAS Explorer side panel at JupyterLab's opening width (250 px),
where nothing may be wider than the panel, cut to "…", or need a sideways scroll.
"""

from __future__ import annotations

import re

import pytest

from tests.helpers.lab import (
    PANEL,
    assert_clean_console,
    button_states,
    click_button,
    figure_state,
    goto_notebook,
    notebook,
    run_all,
    shot,
    shot_tall,
    shot_views,
    status_text,
    wait_idle,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(300)]

OUTPUT = ".jp-OutputArea-output"

SETUP = """\
import time
from nasnb import CellSpace, Search
from nasnb.widgets import Explorer

def planted(arch):
    time.sleep(0.25)
    ops = list(arch.values())
    return {"accuracy": 0.3 + 0.1 * ops.count("conv_3x3") + 0.04 * ops.count("conv_1x1"),
            "params": 50 + 900 * ops.count("conv_3x3") + 120 * ops.count("conv_1x1")}
"""


def wait_status(page, pattern: str, root: str = OUTPUT, timeout: float = 60_000) -> str:
    page.wait_for_function(
        """([root, pattern]) => new RegExp(pattern).test(
             (document.querySelector(root + ' .nasnb-status') || {}).textContent || '')""",
        arg=[root, pattern],
        timeout=timeout,
    )
    return status_text(page, root)


def population_dots(page, root: str = OUTPUT) -> int:
    state = figure_state(page, "Population", root)
    return len(state["marks"][0]["dots"]) if state else -1


def test_step_pause_start_stop_and_new_search(lab_server, lab_folder, browser_page, artifacts_dir):
    page = browser_page
    cell = SETUP + 'explorer = Explorer(space="cell", strategy="evolution", evaluator=planted, budget=40)\nexplorer\n'
    (lab_server.root / lab_folder / "steer.ipynb").write_text(notebook(cell))
    goto_notebook(page, lab_server, f"{lab_folder}/steer.ipynb")
    run_all(page)
    page.wait_for_selector(f"{OUTPUT} .nasnb-controls", timeout=60_000)
    wait_idle(page)
    assert "no search yet" in status_text(page)
    states = button_states(page)
    assert states["Start"] and states["Step"] and not states["Pause"] and not states["Stop"], states

    # Step three times: one trial each, the search holds between them.
    for n in (1, 2, 3):
        click_button(page, "Step")
        wait_status(page, rf"^paused · {n} / 40 trials")
    page.wait_for_timeout(400)
    assert population_dots(page) == 3
    shot_tall(page, artifacts_dir, "steer-1-stepped", f"{OUTPUT} .nasnb-explorer")

    # Start runs on; Pause holds after the trial in flight; Start goes on from there.
    click_button(page, "Start")
    wait_status(page, r"^running")
    states = button_states(page)
    assert states["Pause"] and states["Stop"] and not states["Start"], states
    page.wait_for_function(
        "() => /running · ([6-9]|\\d\\d) \\//.test(document.querySelector('.nasnb-status').textContent)"
    )
    click_button(page, "Pause")
    # Paused at once; the trial in flight still finishes and is counted, then nothing more: a
    # running search would add about four trials a second here.
    wait_status(page, r"^paused · \d+ / 40")
    held = None
    for _ in range(6):
        count = int(re.search(r"paused · (\d+)", status_text(page)).group(1))
        if count == held:
            break
        held = count
        page.wait_for_timeout(1000)
    page.wait_for_timeout(1200)
    paused = status_text(page)
    assert f"paused · {held} / 40" in paused, "a paused search must not go on"
    states = button_states(page)
    assert states["Start"] and states["Step"] and not states["Pause"] and states["Stop"], states
    shot_tall(page, artifacts_dir, "steer-2-paused", f"{OUTPUT} .nasnb-explorer")
    click_button(page, "Start")
    wait_status(page, rf"^running · ({held + 1}|{held + 2}|{held + 3}|[1-3]\d) / 40")

    # Stop: within about a second; it reads differently from Pause, and Start may go on later.
    click_button(page, "Stop")
    stopped = wait_status(page, r"^stopped")
    assert "Start continues" in stopped and "Start continues" not in paused, (paused, stopped)
    states = button_states(page)
    assert states["Start"] and not states["Pause"] and not states["Stop"], states
    shot_tall(page, artifacts_dir, "steer-3-stopped", f"{OUTPUT} .nasnb-explorer")

    # New search: settings unlock, the charts empty, and the first Start of the new search works.
    click_button(page, "New search")
    wait_status(page, r"^no search yet")
    page.fill(f"{OUTPUT} .nasnb-controls input[placeholder='50 or 5min']", "6")
    page.keyboard.press("Tab")
    page.wait_for_timeout(300)
    click_button(page, "Start")
    wait_status(page, r"^finished · 6 / 6 trials", timeout=60_000)
    page.wait_for_timeout(500)
    assert population_dots(page) == 6
    assert "Error" not in (page.text_content(f"{OUTPUT} .nasnb-errors") or "")
    shot_tall(page, artifacts_dir, "steer-4-new-search-finished", f"{OUTPUT} .nasnb-explorer")
    assert_clean_console(page)


# Everything in the panel that is wider than the panel, text cut with an ellipsis, and every
# box that scrolls sideways (Playwright hides scrollbars, so compare scrollWidth with clientWidth).
PANEL_FIT = """() => {
  const panel = document.querySelector('#nasnb-explorer');
  const box = panel.getBoundingClientRect();
  const wide = [], cut = [], scrolls = [];
  const name = n => n.tagName.toLowerCase() + '.' + [...n.classList].slice(0, 3).join('.')
    + ' "' + (n.textContent || '').trim().slice(0, 30) + '"';
  for (const node of panel.querySelectorAll('*')) {
    const style = getComputedStyle(node);
    if (style.display === 'none' || style.visibility === 'hidden') { continue; }
    const rect = node.getBoundingClientRect();
    if (rect.width === 0 || rect.height === 0) { continue; }
    if (rect.left < box.left - 1 || rect.right > box.right + 1) {
      wide.push(name(node) + ` ${Math.round(rect.left - box.left)}..${Math.round(rect.right - box.left)}`);
    }
    const own = [...node.childNodes].filter(c => c.nodeType === 3).map(c => c.textContent).join('');
    if (own.includes('…') || (style.textOverflow === 'ellipsis' && node.scrollWidth > node.clientWidth + 1)) {
      cut.push(name(node));
    }
    if (node.scrollWidth > node.clientWidth + 1 && ['auto', 'scroll'].includes(style.overflowX)) {
      scrolls.push(name(node) + ` ${node.scrollWidth} > ${node.clientWidth}`);
    }
  }
  return { width: box.width, wide, cut, scrolls };
}"""


def test_docked_explorer_fits_the_panel_at_its_opening_width(lab_server, lab_folder, browser_page, artifacts_dir):
    page = browser_page
    cell = SETUP + (
        'search = Search(CellSpace(), "evolution", planted, budget=12, seed=0, run_dir="runs/docked")\n'
        "explorer = Explorer(search).dock()\n"
    )
    (lab_server.root / lab_folder / "docked.ipynb").write_text(notebook(cell))
    goto_notebook(page, lab_server, f"{lab_folder}/docked.ipynb")
    page.evaluate("() => window.jupyterapp.commands.execute('nasnb:open-explorer')")
    page.wait_for_selector(PANEL, timeout=30_000)
    run_all(page)
    wait_idle(page)
    page.wait_for_selector(f"{PANEL} .nasnb-controls", timeout=60_000)

    # Start from the panel itself, and watch it finish there.
    click_button(page, "Start", PANEL)
    wait_status(page, r"^finished · 12 / 12", PANEL, timeout=90_000)
    page.wait_for_timeout(600)
    assert len(figure_state(page, "Population", PANEL)["marks"][0]["dots"]) == 12
    shot(page, artifacts_dir, "panel-narrow", PANEL)
    shot(page, artifacts_dir, "panel-narrow-page")
    shot_views(page, artifacts_dir, "panel-narrow", PANEL)

    fit = page.evaluate(PANEL_FIT)
    assert fit["width"] <= 300, f"the panel opened {fit['width']} px wide; this test is about the opening width"
    assert fit["wide"] == [], "wider than the panel:\n" + "\n".join(fit["wide"])
    assert fit["cut"] == [], 'cut to "…":\n' + "\n".join(fit["cut"])
    assert fit["scrolls"] == [], "scrolls sideways:\n" + "\n".join(fit["scrolls"])
    assert_clean_console(page)
