"""Controls: what to search (space, strategy and its parameters, evaluator, budget, seed) and the
Start / Pause / Step / Stop buttons.

The widgets only hold text and numbers; ``build_search()`` turns them into a Search, and every
mistake surfaces there as an error that names the field, for the explorer to show.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import ipywidgets as widgets

from ..data.datasets import DATASETS
from ..search import Search
from ..spaces import BaseSpace, get_space
from ..strategies import STRATEGIES, BaseStrategy, get
from .views.common import FULL

SPACE_NAMES = ("cell", "chain", "mlp", "hyper", "cell+hyper")
NARROW = {"width": FULL, "max_width": "240px"}  # shrinks to a narrow column (the side panel)
COLUMN = {"flex": "1 1 200px", "max_width": "250px", "min_width": "0"}
TIPS = {
    "start": "Run the search in the background until its budget is spent",
    "pause": "Hold after the trial being evaluated; Start or Step goes on from there",
    "step": "Evaluate one more trial, then hold",
    "stop": "Stop within about a second (the trial in flight is abandoned); Start goes on later",
    "new": "Let go of this search and unlock the settings for another",
}
BUTTONS = (
    ("start", "Start", "play", "success"),
    ("pause", "Pause", "pause", "warning"),
    ("step", "Step", "step-forward", "info"),
    ("stop", "Stop", "stop", "danger"),
    ("new", "New search", "refresh", ""),
)


def parse_param(name: str, text: str, default: Any) -> Any:
    """A strategy parameter typed as text: a Python literal (``5``, ``None``, ``{'accuracy': 'max'}``);
    for a parameter whose default is a string, the text itself."""
    if isinstance(default, str):
        return text
    try:
        return ast.literal_eval(text.strip())
    except (ValueError, SyntaxError):
        raise ValueError(
            f"strategy parameter {name!r}: expected a Python literal such as {default!r}, got {text!r}"
        ) from None


def param_widget(name: str, default: Any) -> widgets.Widget:
    """A numeric widget for numbers, a checkbox for flags, a text field for everything else."""
    style = {"description_width": "110px"}
    if isinstance(default, bool):
        return widgets.Checkbox(value=default, description=name, style=style, indent=False, layout=NARROW)
    if isinstance(default, int):
        return widgets.IntText(value=default, description=name, style=style, layout=NARROW)
    if isinstance(default, float):
        return widgets.FloatText(value=default, description=name, style=style, layout=NARROW)
    text = default if isinstance(default, str) else repr(default)
    return widgets.Text(value=text, description=name, style=style, layout=NARROW)


class Controls:
    """The configuration widgets and the buttons (``start``, ``pause``, ``step``, ``stop``,
    ``new``: ipywidgets Buttons, also reachable as ``controls.buttons[name]``)."""

    def __init__(
        self,
        *,
        space: str | BaseSpace = "cell",
        strategy: str | BaseStrategy = "evolution",
        evaluator: Callable[..., Mapping[str, Any]] | str | None = None,
        budget: Any = 50,
        seed: int = 0,
        run_dir: str | Path | None = None,
        metric: str = "accuracy",
    ) -> None:
        self.metric = metric
        space_options: list[tuple[str, Any]] = [(name, name) for name in SPACE_NAMES]
        if not isinstance(space, BaseSpace) and space not in SPACE_NAMES:
            raise ValueError(f"unknown space {space!r}; choose from {list(SPACE_NAMES)} or pass a space object")
        if isinstance(space, BaseSpace):
            space_options.insert(0, (f"given: {space!r}"[:60], space))
        self.space = widgets.Dropdown(options=space_options, value=space, description="space", layout=NARROW)
        strategy_name = strategy.name if isinstance(strategy, BaseStrategy) else strategy
        if strategy_name not in STRATEGIES:
            raise ValueError(f"unknown strategy {strategy_name!r}; choose from {sorted(STRATEGIES)}")
        self.strategy = widgets.Dropdown(
            options=sorted(STRATEGIES), value=strategy_name, description="strategy", layout=NARROW
        )
        self.params = widgets.VBox([])
        self._defaults: dict[str, Any] = {}
        self._show_params(strategy if isinstance(strategy, BaseStrategy) else get(strategy_name))
        self.strategy.observe(lambda change: self._show_params(get(change["new"])), names="value")

        evaluator_options: list[tuple[str, Any]] = [("train (Trainer)", "trainer"), ("table (TableEvaluator)", "table")]
        if evaluator is not None and not callable(evaluator) and evaluator not in ("trainer", "table"):
            raise ValueError(f"evaluator must be a callable, 'trainer' or 'table', got {evaluator!r}")
        if callable(evaluator):
            evaluator_options.insert(0, (f"given: {_name(evaluator)}"[:60], evaluator))
        default = evaluator if evaluator is not None else _default_evaluator(space)
        self.evaluator = widgets.Dropdown(
            options=evaluator_options, value=default, description="evaluator", layout=NARROW
        )
        self.dataset = widgets.Dropdown(options=DATASETS, value="digits", description="dataset", layout=NARROW)
        self.epochs = widgets.BoundedIntText(value=2, min=1, max=10_000, description="epochs", layout=NARROW)
        self.budget = widgets.Text(
            value="" if budget is None else str(budget), description="budget", placeholder="50 or 5min", layout=NARROW
        )
        self.seed = widgets.IntText(value=seed, description="seed", layout=NARROW)
        self.run_dir = widgets.Text(
            value="" if run_dir is None else str(run_dir),
            description="run dir",
            placeholder="(not saved)",
            layout=NARROW,
        )
        self.evaluator.observe(lambda _: self._show_training(), names="value")
        self._show_training()

        self.buttons = {
            key: widgets.Button(
                description=label, icon=icon, button_style=style, tooltip=TIPS[key], layout={"width": "auto"}
            )
            for key, label, icon, style in BUTTONS
        }
        self.start, self.pause, self.step, self.stop, self.new = (self.buttons[k[0]] for k in BUTTONS)
        self._settings = [
            self.space,
            self.strategy,
            self.evaluator,
            self.dataset,
            self.epochs,
            self.budget,
            self.seed,
            self.run_dir,
        ]
        self.widget = widgets.VBox(
            [
                # buttons as wide as their labels, wrapping onto a second row in a narrow column
                widgets.Box(list(self.buttons.values()), layout={"flex_flow": "row wrap", "grid_gap": "4px"}),
                widgets.Box(
                    [
                        widgets.VBox([self.space, self.strategy, self.budget, self.seed], layout=COLUMN),
                        widgets.VBox([self.evaluator, self.dataset, self.epochs, self.run_dir], layout=COLUMN),
                        self.params,
                    ],
                    layout={"flex_flow": "row wrap"},
                ),
            ]
        )
        self.widget.add_class("nasnb-controls")

    # -- reading the widgets ------------------------------------------------------------------
    def strategy_params(self) -> dict[str, Any]:
        """The strategy parameters as typed, parsed (ValueError naming a bad one)."""
        values = {}
        for box in self.params.children:
            name, default = box.description, self._defaults[box.description]
            values[name] = parse_param(name, box.value, default) if isinstance(box, widgets.Text) else box.value
        return values

    def build_search(self) -> Search:
        """A new Search from the widgets; errors name the field that is wrong.

        "trainer" trains a small network (8 channels, one thread) for ``epochs`` so that a search
        in a lesson takes seconds; pass your own ``Trainer(...)`` as the evaluator for others.
        """
        space = self.space.value if isinstance(self.space.value, BaseSpace) else get_space(self.space.value)
        strategy = get(self.strategy.value, **self.strategy_params())
        evaluator = self.evaluator.value
        if evaluator == "trainer":
            from ..evaluation import Trainer

            evaluator = Trainer(self.dataset.value, epochs=self.epochs.value, network={"channels": 8}, threads=1)
        elif evaluator == "table":
            from ..evaluation import TableEvaluator

            evaluator = TableEvaluator(self.dataset.value)
        budget = self.budget.value.strip() or None
        run_dir = self.run_dir.value.strip() or None
        return Search(
            space, strategy, evaluator, budget=budget, seed=self.seed.value, run_dir=run_dir, metric=self.metric
        )

    # -- showing ------------------------------------------------------------------------------
    def show_search(self, search: Search) -> None:
        """Show the configuration of a search the explorer was given (the settings then lock)."""
        space_options = list(self.space.options)
        if search.space not in [value for _, value in space_options]:
            self.space.options = [(f"given: {search.space!r}"[:60], search.space)] + space_options
        self.space.value = search.space
        self.strategy.value = search.strategy.name
        self._show_params(search.strategy)
        evaluator_options = list(self.evaluator.options)
        if search.evaluator not in [value for _, value in evaluator_options]:
            self.evaluator.options = [(f"given: {_name(search.evaluator)}"[:60], search.evaluator)] + evaluator_options
        self.evaluator.value = search.evaluator
        budget = search.budget
        if budget is None or (budget.evaluations is None and budget.seconds is None):
            self.budget.value = ""
        else:
            self.budget.value = str(budget.evaluations) if budget.evaluations else f"{budget.seconds:g}s"
        self.seed.value = search.seed
        self.run_dir.value = "" if search.run_dir is None else str(search.run_dir)

    def lock(self, locked: bool) -> None:
        """Settings cannot change under a search that exists; New search unlocks them."""
        for widget in self._settings + list(self.params.children):
            widget.disabled = locked

    def enable_for(self, state: str) -> None:
        """Enable the buttons that make sense in search ``state`` ("idle" before there is a search)."""
        done = state == "finished"
        self.start.disabled = done or state in ("running", "stopping")
        self.step.disabled = done or state == "stopping"
        self.pause.disabled = state != "running"
        self.stop.disabled = state not in ("running", "paused")

    def next_run_dir(self, previous: str | Path) -> None:
        """After New search: the old run owns its folder, so offer the first free sibling (runs/demo-2)."""
        if self.run_dir.value.strip():
            self.run_dir.value = str(free_run_dir(Path(previous)))

    def _show_params(self, strategy: BaseStrategy) -> None:
        self._defaults = dict(strategy.get_params())
        self.params.children = [param_widget(name, value) for name, value in self._defaults.items()]

    def _show_training(self) -> None:
        training = self.evaluator.value == "trainer"
        self.epochs.layout.display = None if training else "none"
        self.dataset.layout.display = None if self.evaluator.value in ("trainer", "table") else "none"


def free_run_dir(previous: Path) -> Path:
    """``runs/demo`` -> ``runs/demo-2`` (or -3, ...): the first sibling folder that does not exist."""
    stem = re.sub(r"-\d+$", "", previous.name)
    for n in range(2, 10_000):
        candidate = previous.with_name(f"{stem}-{n}")
        if not candidate.exists():
            return candidate
    raise RuntimeError(f"no free run folder next to {previous}; type a new run dir")


def _default_evaluator(space: str | BaseSpace) -> str:
    """The tabulated benchmark when it can answer every cell (instant), else real training."""
    if space != "cell" and not (isinstance(space, BaseSpace) and space.name == "cell"):
        return "trainer"
    try:
        from ..evaluation.table import load_table

        return "table" if load_table("digits").complete else "trainer"
    except Exception:  # no table shipped: training always works
        return "trainer"


def _name(evaluator: Any) -> str:
    return getattr(evaluator, "__qualname__", None) or repr(evaluator)
