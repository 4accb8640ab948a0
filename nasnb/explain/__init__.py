"""Explaining a search and its networks: per-op importance, decision paths, dynamics, visual explanations.

Every explainer returns plain data (DataFrames, frozen dataclasses, a networkx graph) and has a
separate ``plot_*`` function (matplotlib, ``ax=None``) that notebooks and the explorer share.

* across a population: ``op_importance``, ``compare_estimators``, ``ImportanceTracker``;
* inside one trained network: ``edge_importance`` (ablation or captum attribution), ``agreement``;
* the search's history: ``lineage_graph``, ``lineage_layout``, ``path_to_best``, ``explain_trial``,
  ``explain_path``; its pictures as data: ``TrialColumns`` (trials as prefix arrays),
  ``pareto_data``, ``importance_grid``, ``best_so_far`` and ``regret_band``, each drawn by a
  ``plot_*`` function here and by the explorer's bqplot views from the same data;
* one input: ``explain_input`` (edge attributions, strongest cell path, saliency, feature maps);
* 2-D data: ``population_boundaries``, ``decision_boundary``;
* training: ``record_dynamics``, ``training_curves``, ``export_tensorboard``.

Submodules load on first use, so ``import nasnb.explain`` pulls in neither torch, captum nor
matplotlib.
"""

from __future__ import annotations

from .._lazy import lazy_attributes

_LAZY = {
    # population importance
    "ESTIMATORS": ".importance",
    "EstimatorComparison": ".estimator_comparison",
    "ImportanceTracker": ".importance",
    "OpImportance": ".importance",
    "compare_estimators": ".estimator_comparison",
    "op_importance": ".importance",
    "spearman": ".estimator_comparison",
    "importance_matrix": ".importance_plots",
    "plot_decision_importance": ".importance_plots",
    "plot_importance": ".importance_plots",
    "ImportanceGrid": ".importance_plots",
    "importance_grid": ".importance_plots",
    # pictures of a search: columns, best so far and regret, Pareto front
    "Columns": ".columns",
    "TrialColumns": ".columns",
    "as_columns": ".columns",
    "RegretCurve": ".curves",
    "RegretPlot": ".curves",
    "best_so_far": ".curves",
    "regret_band": ".curves",
    "regret_plot_data": ".curves",
    "ParetoFront": ".pareto",
    "pareto_data": ".pareto",
    "pareto_front_2d": ".pareto",
    "plot_pareto": ".pareto",
    # inside one network
    "InModelAgreement": ".in_model",
    "agreement": ".in_model",
    "edge_importance": ".in_model",
    "module_attributions": ".in_model",
    "plot_edge_importance": ".in_model",
    # decision paths of the search
    "change_label": ".lineage",
    "lineage_graph": ".lineage",
    "parent_ids": ".lineage",
    "parent_links": ".lineage",
    "path_to_best": ".lineage",
    "plot_lineage": ".lineage",
    "LineageLayout": ".lineage",
    "Segments": ".lineage",
    "lineage_layout": ".lineage",
    "explain_path": ".narrate",
    "explain_trial": ".narrate",
    # one input
    "CELL_PATHS": ".input_paths",
    "InputExplanation": ".input_paths",
    "default_layers": ".input_maps",
    "edge_attributions": ".input_paths",
    "explain_input": ".input_paths",
    "feature_maps": ".input_maps",
    "plot_cell_paths": ".input_plots",
    "plot_feature_maps": ".input_plots",
    "plot_input_explanation": ".input_plots",
    "saliency_map": ".input_maps",
    "strongest_paths": ".input_paths",
    # decision boundaries
    "DecisionBoundary": ".boundaries",
    "decision_boundary": ".boundaries",
    "plot_decision_boundaries": ".boundaries",
    "population_boundaries": ".boundaries",
    # training dynamics
    "Dynamics": ".dynamics",
    "Histogram": ".dynamics",
    "export_tensorboard": ".dynamics",
    "plot_dynamics": ".dynamics",
    "plot_histograms": ".dynamics",
    "plot_training_curves": ".dynamics",
    "record_dynamics": ".dynamics",
    "training_curves": ".dynamics",
}

__all__ = sorted(_LAZY)


__getattr__, __dir__ = lazy_attributes(__name__, _LAZY, globals())
