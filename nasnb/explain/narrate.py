"""Plain-language accounts of why a trial was proposed, rendered from its decision record.

Every strategy records *why* it proposed an architecture (parents and tournaments, Q-values and
ε, per-choice probabilities, the GP's prediction, the rung). Those records are complete but not
readable at a glance; ``explain_trial`` turns one into a few sentences a student can check
against the numbers. Unknown or incomplete records fall back to listing what was recorded, so a
new strategy is narrated (plainly) before anyone writes its sentence.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..trial import Trial
from .lineage import as_trials, path_to_best


def explain_trial(source: Any, trial_id: int, *, metric: str | None = None) -> str:
    """A short account of trial ``trial_id``: how its strategy chose it, and how it scored.

    ``source`` is a Run, a Search or a list of Trials; the metric defaults to the run's (or
    ``accuracy``). A Run also lends its strategy's name and parameters to the wording.
    """
    trials = as_trials(source)
    by_id = {t.id: t for t in trials}
    if trial_id not in by_id:
        known = f"ids {min(by_id)}..{max(by_id)}" if by_id else "no trials"
        raise KeyError(f"trial_id {trial_id!r} is not among these trials ({known})")
    metric = metric or getattr(source, "metric", None) or "accuracy"
    context = {"by_id": by_id, "metric": metric, "strategy": _strategy_spec(source)}
    trial = by_id[trial_id]
    return f"{_why(trial, context)} {_outcome(trial, context)}".strip()


def _strategy_spec(source: Any) -> dict[str, Any]:
    """``{"name", "params"}`` of the strategy behind a Run (its run.json) or a Search (its object)."""
    config = getattr(source, "config", None)
    if isinstance(config, dict) and isinstance(config.get("strategy"), dict):
        return config["strategy"]
    strategy = getattr(source, "strategy", None)
    if strategy is not None and hasattr(strategy, "get_params"):
        return {"name": getattr(strategy, "name", None), "params": strategy.get_params()}
    return {}


def explain_path(source: Any, *, metric: str | None = None) -> list[str]:
    """``explain_trial`` for each trial on ``path_to_best``, root first: the story of the best trial."""
    metric = metric or getattr(source, "metric", None) or "accuracy"
    return [explain_trial(source, t.id, metric=metric) for t in path_to_best(source, metric)]


# -- why: one function per decision kind --------------------------------------------------------
def _why(trial: Trial, ctx: dict[str, Any]) -> str:
    d = trial.decision or {}
    prefix = ""
    if d.get("phase") == "base":
        prefix = f"After pre-screening, the {d.get('base', 'base')} strategy took over. "
        params = ctx["strategy"].get("params", {})
        ctx = {**ctx, "strategy": {"name": d.get("base"), "params": params.get("base_params") or {}}}
    writer = _WRITERS.get(d.get("kind"))
    if writer is not None:
        try:
            return prefix + writer(trial, d, ctx)
        except (KeyError, TypeError, ValueError, IndexError, AttributeError):
            pass  # an incomplete record: say what was recorded instead
    return prefix + _generic(trial, d)


def _generic(trial: Trial, d: dict[str, Any]) -> str:
    shown = ", ".join(f"{k}={_short(v)}" for k, v in d.items() if k != "kind")
    kind = f"kind {d['kind']!r}" if "kind" in d else "no recorded kind"
    return f"Trial {trial.id} ({kind}): the strategy recorded {shown or 'nothing else'}."


def _init(trial: Trial, d: dict[str, Any], ctx: dict[str, Any]) -> str:
    name, params = ctx["strategy"].get("name"), ctx["strategy"].get("params", {})
    if name == "evolution":
        size = params.get("population_size", 20)
        return f"Trial {trial.id} is one of the {size} random architectures that fill evolution's first population."
    if name == "nsga2":
        return f"Trial {trial.id} belongs to NSGA-II's first generation, drawn at random."
    if name == "bo":
        return (
            f"Trial {trial.id} is one of the {params.get('n_initial', 10)} random architectures the "
            "Gaussian process is first fitted to."
        )
    return f"Trial {trial.id} was drawn at random to start the search (the initial population or design)."


def _random(trial: Trial, d: dict[str, Any], ctx: dict[str, Any]) -> str:
    text = f"Trial {trial.id} was drawn uniformly at random from the space"
    if d.get("reason"):
        text += f" because there was {d['reason']}" if str(d["reason"]).startswith("no ") else f": {d['reason']}"
    if d.get("resampled"):
        text += f" (re-drawn {d['resampled']} time(s) to avoid repeating an architecture)"
    return text + "."


def _mutation(trial: Trial, d: dict[str, Any], ctx: dict[str, Any]) -> str:
    parent = d["parents"][0]
    return f"Trial {trial.id} mutated trial {parent}, {_tournament(d.get('tournament'), parent)}: {_edit(d['change'])}."


def _crossover(trial: Trial, d: dict[str, Any], ctx: dict[str, Any]) -> str:
    a, b = d["parents"][:2]
    tours = d.get("tournaments") or [None, None]
    change = d.get("change", {})
    text = (
        f"Trial {trial.id} crossed trial {a} ({_tournament(tours[0], a, short=True)}) with trial {b} "
        f"({_tournament(tours[1], b, short=True)}): it took {_names(change.get('from_a'))} from trial {a} "
        f"and {_names(change.get('from_b'))} from trial {b}"
    )
    if change.get("random"):
        text += f", and drew {_names(change['random'])} at random"
    text += "."
    if d.get("mutation"):
        text += f" The mix equalled a parent, so it was then mutated: {_edit(d['mutation'])}."
    return text


def _qlearning(trial: Trial, d: dict[str, Any], ctx: dict[str, Any]) -> str:
    choices = d["choices"]
    greedy = sum(bool(c.get("greedy")) for c in choices)
    parts = []
    for c in choices:
        q = dict(zip([str(o) for o in c["options"]], c["q_values"]))
        chosen = str(c["chosen"])
        best = max(q, key=q.get)
        if c.get("greedy"):
            others = sorted((v, k) for k, v in q.items() if k != chosen)
            runner = f"; next best {others[-1][1]} {_num(others[-1][0])}" if others else ""
            parts.append(f"{c['decision']} = {chosen} (greedy, Q {_num(q[chosen])}{runner})")
        elif q[chosen] == q[best]:
            parts.append(f"{c['decision']} = {chosen} (explored, Q {_num(q[chosen])}, tied for highest)")
        else:
            parts.append(
                f"{c['decision']} = {chosen} (explored, Q {_num(q[chosen])}; highest Q was {best} {_num(q[best])})"
            )
    if greedy == len(choices):
        split = f"all {greedy} choices were greedy (highest Q-value)"
    elif greedy == 0:
        split = f"all {len(choices)} choices were explored at random"
    else:
        split = f"{greedy} of {len(choices)} choices were greedy (highest Q-value), the rest explored at random"
    text = (
        f"Trial {trial.id} was built by Q-learning one decision at a time with ε = {_num(d['epsilon'])}: "
        f"{split}. " + "; ".join(parts) + "."
    )
    if d.get("relearned"):
        text += (
            f" Before it, {len(d['relearned'])} episode(s) rebuilt architectures already evaluated, "
            "and their recorded rewards updated the Q-table instead of training them again."
        )
    return text


def _policy(trial: Trial, d: dict[str, Any], ctx: dict[str, Any]) -> str:
    choices = d["choices"]
    probs = []
    for c in choices:
        p = dict(zip([str(o) for o in c["options"]], c["probs"]))[str(c["chosen"])]
        probs.append((p, c["decision"], str(c["chosen"])))
    joint = 1.0
    for p, _, _ in probs:
        joint *= p
    baseline = d.get("baseline")
    base = f"reward baseline {_num(baseline)}" if baseline is not None else "no reward baseline yet"
    listed = "; ".join(f"{name} = {chosen} (p = {_num(p, 2)})" for p, name, chosen in probs)
    rare = min(probs)
    return (
        f"Trial {trial.id} was sampled from the REINFORCE policy ({base}): {listed}. The least likely "
        f"choice was {rare[1]} = {rare[2]} (p = {_num(rare[0], 2)}); the whole architecture had probability "
        f"{joint:.2g}. Scoring above the baseline makes these choices likelier."
    )


def _bo(trial: Trial, d: dict[str, Any], ctx: dict[str, Any]) -> str:
    acquisition = {"ei": "expected improvement", "ucb": "upper confidence bound"}.get(
        d.get("acquisition"), str(d.get("acquisition"))
    )
    where = {"local": "by hill-climbing from the best architectures so far", "random": "among random samples"}.get(
        d.get("source"), "among the candidates"
    )
    text = (
        f"Trial {trial.id} was chosen by Bayesian optimisation: the Gaussian process predicted "
        f"{ctx['metric']} {_num(d['mean'])} ± {_num(d['std'])} for it, the highest {acquisition} "
        f"({_num(d['acquisition_value'], 4)}) of the candidates found {where}"
    )
    if d.get("best_so_far") is not None:
        text += f"; the best so far was {_num(d['best_so_far'])}"
    runners = d.get("runners_up") or []
    if runners:
        text += "; runners-up: " + ", ".join(
            f"{_num(r['acquisition_value'], 4)} (predicted {_num(r['mean'])} ± {_num(r['std'])})" for r in runners
        )
    return text + "."


def _halving(trial: Trial, d: dict[str, Any], ctx: dict[str, Any]) -> str:
    bracket = f"bracket {d['bracket']}" + (f" (Hyperband s = {d['s']})" if "s" in d else "")
    n_rungs = d.get("n_rungs")
    rungs = f" (the last is rung {n_rungs - 1})" if isinstance(n_rungs, int) else ""
    epochs = _epochs(d["epochs"])
    origin = d.get("promoted_from")
    if origin:
        return (
            f"Trial {trial.id} is a promotion in {bracket}: the architecture of trial {origin.get('trial')}, "
            f"which scored {_num(origin.get('score'))} after {_epochs(origin.get('epochs'))} and ranked among "
            f"the best of rung {origin.get('rung')}, now trains for {epochs} in rung {d['rung']}{rungs}, which "
            f"{d.get('rung_size', '?')} architectures reached."
        )
    return (
        f"Trial {trial.id} trains a random architecture for {epochs} in {bracket}, rung {d['rung']}{rungs}"
        f", one of {d.get('rung_size', '?')} started there; only the best of them are promoted to "
        "longer training."
    )


def _offspring(trial: Trial, d: dict[str, Any], ctx: dict[str, Any]) -> str:
    parents = d["parents"]
    first = parents[0]
    text = (
        f"Trial {trial.id} is an NSGA-II child in generation {d.get('generation', '?')} (the population's "
        f"Pareto front had {d.get('front_size', '?')} members): trial {first['id']} "
        f"({_rank(first)}) won a binary tournament"
    )
    if len(parents) > 1 and d.get("crossover"):
        second = parents[1]
        text += (
            f" and was crossed with trial {second['id']} ({_rank(second)}), taking "
            f"{_names(d['crossover'].get('from_a'))} from trial {first['id']}"
        )
    if d.get("mutation"):
        text += f"; the child was then mutated: {_edit(d['mutation'])}"
    return text + "."


def _prescreen(trial: Trial, d: dict[str, Any], ctx: dict[str, Any]) -> str:
    return (
        f"Trial {trial.id} was pre-screened without training: the {d['proxy']} proxy ranked it "
        f"{_ordinal(d['rank'])} of {d.get('candidates', '?')} random candidates (score {_num(d['score'], 4)}), "
        "so it is trained early."
    )


_WRITERS: dict[str | None, Callable[[Trial, dict[str, Any], dict[str, Any]], str]] = {
    "init": _init,
    "random": _random,
    "mutation": _mutation,
    "crossover": _crossover,
    "qlearning": _qlearning,
    "policy": _policy,
    "bo": _bo,
    "halving": _halving,
    "offspring": _offspring,
    "prescreen": _prescreen,
}


# -- outcome ------------------------------------------------------------------------------------
def _outcome(trial: Trial, ctx: dict[str, Any]) -> str:
    metric = ctx["metric"]
    if not trial.ok:
        return f"It failed: {trial.error or 'no error message was recorded'}."
    score = trial.score(metric)
    if score is None:
        return f"It finished without a usable {metric!r} (reported: {sorted(trial.metrics)})."
    reference = _reference(trial, ctx)
    if reference is None:
        return f"Result: {metric} {_num(score)}."
    value, what = reference
    return f"Result: {metric} {_num(score)} ({score - value:+.3f} vs {what})."


def _reference(trial: Trial, ctx: dict[str, Any]) -> tuple[float, str] | None:
    """The score this trial is naturally compared with: its parent's, or its rung predecessor's."""
    d = trial.decision or {}
    origin = d.get("promoted_from")
    if isinstance(origin, dict) and isinstance(origin.get("score"), (int, float)):
        return float(origin["score"]), _epochs(origin.get("epochs"))
    ids = [p.get("id") if isinstance(p, dict) else p for p in d.get("parents") or []]
    scores = [ctx["by_id"][i].score(ctx["metric"]) for i in ids if i in ctx["by_id"]]
    scores = [s for s in scores if s is not None]
    if not scores:
        return None
    return max(scores), "its parent" if len(scores) == 1 else "the better parent"


# -- small formatters ---------------------------------------------------------------------------
def _tournament(tour: Any, winner: int, short: bool = False) -> str:
    if not isinstance(tour, dict) or not tour.get("members"):
        return "its recorded parent"
    members = tour["members"]
    best = next((m["score"] for m in members if m["id"] == winner), None)
    others = [m["score"] for m in members if m["id"] != winner]
    if short:
        return f"winner of a tournament of {len(members)}, {_num(best)}"
    if not others:
        return f"which was the only member of its tournament ({_num(best)})"
    spread = _num(min(others)) if min(others) == max(others) else f"{_num(min(others))}–{_num(max(others))}"
    return f"which won a tournament of {len(members)} (best {_num(best)} vs {spread})"


def _edit(change: dict[str, Any]) -> str:
    name = change["decision"]
    where = f"edge {name}" if "->" in str(name) else str(name)
    text = f"{where} changed from {change['from']} to {change['to']}"
    side = change.get("also_changed")
    if side:
        text += " (repairing the walk also changed " + ", ".join(f"{k}: {a}→{b}" for k, (a, b) in side.items()) + ")"
    return text


def _epochs(n: Any) -> str:
    return f"{n} epoch" if n == 1 else f"{n} epochs"


def _names(names: Any) -> str:
    names = list(names or [])
    if not names:
        return "nothing"
    return ", ".join(str(n) for n in names)


def _rank(parent: dict[str, Any]) -> str:
    crowding = parent.get("crowding")
    return f"front {parent.get('rank')}, crowding {'∞' if crowding is None else _num(crowding, 2)}"


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _num(value: Any, digits: int = 3) -> str:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return str(value)
    if value != 0 and (abs(value) >= 1e4 or abs(value) < 10**-digits):
        return f"{value:.{digits}g}"
    return f"{value:.{digits}f}"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


__all__ = ["explain_path", "explain_trial"]
