"""Replay: a recorded run shown as it was after any step, with a slider and a Play button.

Populations are not in the log; they are rebuilt by replaying the strategy (asking and telling
the logged trials in order, exactly as ``run.strategy_at(t)`` does). Replaying from scratch for
every slider position would cost O(t) each time, so one strategy walks forward once and the
population after every step is kept; moving back reads the cache.
"""

from __future__ import annotations

from typing import Any

import ipywidgets as widgets

from ..runs import Run, fast_forward, strategy_from_config
from .driver import population_of
from .views.common import FULL

SPEEDS = {"1 step/s": 1000, "2 steps/s": 500, "5 steps/s": 200, "10 steps/s": 100, "25 steps/s": 40}


class ReplayCursor:
    """The strategy's population after each of a run's first ``t`` trials, computed once.

    ``error`` says why populations are unavailable (a strategy without one, a parallel run whose
    log is out of ask order, or a log the current code no longer reproduces).
    """

    def __init__(self, run: Run) -> None:
        self.run = run
        self.error = ""
        self._populations: dict[int, list[int]] = {}
        self._strategy: Any = None
        self._told = 0

    def population_at(self, step: int) -> list[int] | None:
        """Ids of the population after ``step`` trials (None when the strategy keeps none)."""
        step = max(0, min(int(step), len(self.run.trials)))
        if step in self._populations:
            return list(self._populations[step])
        if self.error:
            return None
        try:
            if self._strategy is None or step < self._told:
                self._restart()
            if population_of(self._strategy) is None:
                self.error = f"the {self._strategy.name} strategy keeps no population; every trial is shown"
                return None
            space = self.run.space
            for trial in self.run.trials[self._told : step]:
                if trial.id != self._told:
                    raise ValueError(
                        f"trial {trial.id} is logged at position {self._told}: the log is not in ask "
                        "order (a parallel run?), so populations cannot be replayed"
                    )
                fast_forward(self._strategy, space, [trial])
                self._told += 1
                self._populations[self._told] = population_of(self._strategy) or []
        except Exception as err:  # shown to the user; the trials themselves still replay
            self.error = f"cannot replay the strategy: {err}"
            return None
        return list(self._populations[step])

    def _restart(self) -> None:
        self._strategy = strategy_from_config(self.run.config)
        self._strategy.setup(self.run.space, self.run.config.get("seed", 0))
        self._told = 0
        self._populations[0] = population_of(self._strategy) or []


class ReplayBar:
    """``slider`` over steps 0..N, a ``play`` button linked to it, and a ``speed`` choice."""

    def __init__(self, n_steps: int) -> None:
        self.slider = widgets.IntSlider(
            value=n_steps,
            min=0,
            max=n_steps,
            description="step",
            continuous_update=True,
            layout={"width": FULL, "max_width": "420px", "min_width": "200px"},
        )
        self.play = widgets.Play(
            value=n_steps, min=0, max=n_steps, step=1, interval=SPEEDS["5 steps/s"], description="play"
        )
        self.speed = widgets.Dropdown(
            options=SPEEDS, value=SPEEDS["5 steps/s"], description="speed", layout={"width": "200px"}
        )
        widgets.jslink((self.play, "value"), (self.slider, "value"))  # plays in the browser, no kernel round trip
        self.speed.observe(lambda change: setattr(self.play, "interval", change["new"]), names="value")
        self.widget = widgets.Box([self.play, self.slider, self.speed], layout={"flex_flow": "row wrap"})
        self.widget.add_class("nasnb-replay")
