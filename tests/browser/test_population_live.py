"""In real Chromium: notebook 16's live chart of a population training together.

The cell is the notebook's own (a bqplot Lines mark fed by ``evaluate_batch(..., on_epoch=...)``),
smaller. After it runs, the chart must show one line per candidate, each with a vertex per epoch
plus the starting point, at different heights (the candidates learn differently), and the text
output must report the batch; a screenshot goes to test-artifacts/population-live.png.
"""

from __future__ import annotations

import pytest

from tests.helpers.lab import assert_clean_console, figure_state, goto_notebook, notebook, run_all, shot, wait_idle

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(300)]

K, EPOCHS = 4, 2
CELL = f"""\
import bqplot as bq, ipywidgets as widgets, numpy as np, torch
from IPython.display import display
from nasnb import CellSpace
from nasnb.evaluation import PopulationTrainer
torch.set_num_threads(1)
archs = [CellSpace().sample(seed) for seed in range({K})]
x_sc, y_sc = bq.LinearScale(min=0, max={EPOCHS}), bq.LinearScale(min=0, max=1)
lines = bq.Lines(x=[[0]] * {K}, y=[[0.1]] * {K}, scales={{"x": x_sc, "y": y_sc}}, colors=list(bq.CATEGORY10[:{K}]))
figure = bq.Figure(marks=[lines], title="{K} candidates training together",
    axes=[bq.Axis(scale=x_sc, label="epoch"), bq.Axis(scale=y_sc, orientation="vertical", label="val accuracy")],
    layout=widgets.Layout(width="560px", height="320px"))
display(figure)
history = [[0.1] for _ in archs]
def show(progress):
    for i, acc in zip(progress["indices"], progress["val_accuracy"]):
        history[i].append(acc)
    lines.x = [list(range(len(h))) for h in history]
    lines.y = history
    print(f"epoch {{progress['epoch']}}/{{progress['epochs']}}", flush=True)
trainer = PopulationTrainer(dataset="digits", epochs={EPOCHS}, batch_size=128, lr=0.1, network={{"channels": 4}})
results = trainer.evaluate_batch(archs, on_epoch=show)
print(f"trained {{len(results)}} candidates together")
"""


def test_the_population_chart_draws_every_candidate(lab_server, lab_folder, browser_page, artifacts_dir):
    page = browser_page
    (lab_server.root / lab_folder / "population.ipynb").write_text(notebook(CELL))
    goto_notebook(page, lab_server, f"{lab_folder}/population.ipynb")
    run_all(page)
    page.wait_for_function(
        "() => [...document.querySelectorAll('.jp-OutputArea-output')]"
        f".some(n => n.textContent.includes('trained {K} candidates together'))",
        timeout=180_000,
    )
    wait_idle(page)
    page.wait_for_timeout(500)  # the last redraw
    shot(page, artifacts_dir, "population-live")
    state = figure_state(page, f"{K} candidates training together")
    assert state is not None, "the population chart was not drawn"
    drawn = [line for mark in state["marks"] for line in mark["lines"] if line]
    assert len(drawn) == K, drawn
    assert all(len(line) == EPOCHS + 1 for line in drawn), drawn  # start + one vertex per epoch
    final_heights = {round(line[-1][1]) for line in drawn}
    assert len(final_heights) > 1, "every candidate ended at the same height: the lines are not per candidate"
    assert {t for axis in state["axes"] for t in axis["ticks"]}, "no tick labels"
    assert_clean_console(page)
