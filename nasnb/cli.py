"""The ``nasnb`` command: run, resume and inspect searches without a notebook.

nasnb search --space cell --strategy evolution --dataset digits --budget 50 --seed 0 --run-dir runs/demo
nasnb resume runs/demo
nasnb show runs/demo
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

EXIT_USAGE = 2


def _parse_value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _params(pairs: Sequence[str], what: str) -> dict[str, Any]:
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"{what} {pair!r} must be key=value, e.g. population_size=20")
        out[key.replace("-", "_")] = _parse_value(value)
    return out


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nasnb", description="Neural architecture search you can watch and explain.")
    sub = parser.add_subparsers(dest="command", required=True)

    search = sub.add_parser("search", help="start a new search and record it in --run-dir")
    search.add_argument("--space", default="cell", help="cell, chain, hyper, or joined with '+' (cell+hyper)")
    search.add_argument("--strategy", default="evolution", help="strategy name, e.g. random, evolution")
    search.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="strategy parameter (repeatable), e.g. --param population_size=20",
    )
    search.add_argument("--evaluator", default="trainer", help="trainer (real training) or table (tabulated benchmark)")
    search.add_argument("--dataset", default="digits", help="digits, moons, mnist, fashion-mnist, cifar10")
    search.add_argument("--epochs", type=int, default=None, help="training epochs per architecture")
    search.add_argument("--subset", type=int, default=None, help="use N samples of the dataset")
    search.add_argument(
        "--eval-param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="evaluator parameter (repeatable), e.g. --eval-param lr=0.1",
    )
    search.add_argument("--budget", required=True, help="evaluations (50) or a duration ('10min')")
    search.add_argument("--seed", type=int, default=0)
    search.add_argument("--run-dir", required=True, help="directory for run.json and trials.jsonl")
    search.add_argument(
        "--keep-weights", choices=("best", "all"), default=None, help="keep trained weights in RUN_DIR/weights"
    )

    resume = sub.add_parser("resume", help="continue a stopped or killed search")
    resume.add_argument("run_dir")
    resume.add_argument("--budget", default=None, help="new total budget (default: the recorded one)")

    show = sub.add_parser("show", help="summarise a run: best trials, failures, time")
    show.add_argument("run_dir")
    show.add_argument("--top", type=int, default=10)
    from .deploy.cli import add_commands

    parser.set_defaults(handlers=add_commands(sub))  # export, compress
    return parser


def _evaluator(args: argparse.Namespace):
    from .data import DATASETS

    params = _params(args.eval_param, "--eval-param")
    if args.dataset not in DATASETS:  # checked now, not after the first trial has failed
        raise ValueError(f"unknown dataset {args.dataset!r}; choose from {list(DATASETS)}")
    if args.evaluator == "trainer":
        from .evaluation.trainer import Trainer

        if args.epochs is not None:
            params["epochs"] = args.epochs
        if args.subset is not None:
            params["subset"] = args.subset
        if args.keep_weights is not None:
            params["keep_weights"] = args.keep_weights
        return Trainer(dataset=args.dataset, **params)
    if args.evaluator == "table":
        from .evaluation.table import TableEvaluator, available_tables

        if args.dataset not in available_tables():
            raise ValueError(f"no benchmark table for {args.dataset!r}; tables exist for {available_tables()}")
        if args.keep_weights is not None:
            raise ValueError("--keep-weights needs --evaluator trainer: the table trains nothing")
        return TableEvaluator(dataset=args.dataset, **params)
    raise ValueError(f"unknown evaluator {args.evaluator!r}; choose 'trainer' or 'table'")


def _run_with_progress(search, out=sys.stderr) -> int:
    from tqdm.auto import tqdm

    total = search.budget.evaluations if search.budget and search.budget.evaluations else None
    bar = tqdm(total=total, initial=len(search.trials), unit="trial", file=out, dynamic_ncols=True)

    def finished(trial) -> None:
        best = search.best
        bar.set_postfix_str(
            f"last {trial.status} {trial.metrics.get('accuracy', float('nan')):.3f} | "
            f"best {best.score(search.metric) if best else float('nan'):.3f}",
            refresh=False,
        )
        bar.update(1)

    def progress(info: dict[str, Any]) -> None:
        if "epoch" in info and "epochs" in info:
            bar.set_description_str(f"trial {info['id']} epoch {info['epoch']}/{info['epochs']}", refresh=True)

    search.on("trial_finished", finished)
    search.on("trial_progress", progress)
    try:
        search.run()
    except KeyboardInterrupt:
        bar.close()
        print(f"\ninterrupted; continue with: nasnb resume {search.run_dir}", file=out)
        return 130
    finally:
        search.close()
    bar.close()
    best = search.best
    failed = sum(not t.ok for t in search.trials)
    print(f"{len(search.trials)} trials ({failed} failed) in {search.elapsed:.1f}s; run log: {search.run_dir}")
    if best is not None:
        print(f"best: trial {best.id} {search.metric}={best.score(search.metric):.4f}  {best.arch}")
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    from . import strategies
    from .search import Search
    from .spaces import get_space

    if args.dataset == "moons" and args.space.startswith("chain"):
        # 2-D points have no image to convolve: search multilayer perceptrons
        space = get_space(args.space.replace("chain", "mlp", 1))
    else:
        space = get_space(args.space)
    strategy = strategies.get(args.strategy, **_params(args.param, "--param"))
    search = Search(space, strategy, _evaluator(args), budget=args.budget, seed=args.seed, run_dir=args.run_dir)
    return _run_with_progress(search)


def cmd_resume(args: argparse.Namespace) -> int:
    from .search import Search

    search = Search.resume(args.run_dir, budget=args.budget)
    if search.done:
        print(f"{args.run_dir} already finished its budget ({len(search.trials)} trials); pass --budget N to extend it")
        search.close()
        return 0
    return _run_with_progress(search)


def cmd_show(args: argparse.Namespace) -> int:
    from .runs import load_run

    run = load_run(args.run_dir)
    print(summary(run, top=args.top))
    return 0


def summary(run, top: int = 10) -> str:
    """A plain-text report of a run: configuration, best trials, failures and time."""
    config = run.config
    metric = run.metric
    ok = [t for t in run.trials if t.ok]
    failed = [t for t in run.trials if not t.ok]
    lines = [
        f"run {run.path}",
        f"  space {config['space']['type']}  strategy {config['strategy']['name']} {config['strategy']['params']}",
        f"  evaluator {config['evaluator']['name']}  seed {config.get('seed')}  budget {config.get('budget')}",
        f"  {len(run.trials)} trials: {len(ok)} ok, {len(failed)} failed; "
        f"evaluation time {sum(t.seconds for t in run.trials):.1f}s",
    ]
    lines.extend(f"  warning: {p}" for p in run.problems)
    if ok:
        ranked = sorted(ok, key=lambda t: (-(t.score(metric) or 0.0), t.id))[:top]
        lines.append(f"\n  best {len(ranked)} by {metric}:")
        lines.append(f"  {'id':>5} {metric:>9} {'params':>9} {'seconds':>8}  arch")
        for t in ranked:
            params = t.metrics.get("params")
            lines.append(
                f"  {t.id:>5} {t.score(metric):>9.4f} {params if params is not None else '-':>9} "
                f"{t.seconds:>8.2f}  {t.arch}"
            )
    if failed:
        lines.append(f"\n  failures ({len(failed)}):")
        lines.extend(f"  {t.id:>5}  {t.error}  [{t.arch}]" for t in failed[:top])
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    commands = {"search": cmd_search, "resume": cmd_resume, "show": cmd_show, **args.handlers}
    try:
        return commands[args.command](args)
    except (ValueError, TypeError, FileNotFoundError, RuntimeError) as err:
        print(f"nasnb {args.command}: error: {err}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
