"""The ``nasnb`` command: run, resume and inspect searches without a notebook.

nasnb search --space cell --strategy evolution --dataset digits --budget 50 --seed 0 --run-dir runs/demo
nasnb resume runs/demo
nasnb show runs/demo
nasnb export-optuna runs/demo --storage sqlite:///runs/demo.db
nasnb export-tensorboard runs/demo --logdir runs/demo-tb
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
import warnings
from collections.abc import Sequence
from typing import Any

EXIT_USAGE = 2
EXIT_FAILED = 1  # the search ran but failed systemically
EXIT_INTERRUPTED = 130
_STARTED = time.perf_counter()


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
    search.add_argument("--trial-timeout", type=float, default=None, help="seconds after which a trial fails")
    search.add_argument(
        "--isolate",
        action="store_true",
        help="train each architecture in a child process that --trial-timeout or Ctrl-C kills (resume keeps it)",
    )
    search.add_argument(
        "--keep-weights", choices=("best", "all"), default=None, help="keep trained weights in RUN_DIR/weights"
    )

    resume = sub.add_parser("resume", help="continue a stopped or killed search")
    resume.add_argument("run_dir")
    resume.add_argument("--budget", default=None, help="new total budget (default: the recorded one)")
    resume.add_argument("--trial-timeout", type=float, default=None, help="seconds after which a trial fails")

    optuna = sub.add_parser("export-optuna", help="write a run into an Optuna storage (optuna-dashboard reads it)")
    optuna.add_argument("run_dir")
    optuna.add_argument("--storage", required=True, help="Optuna storage URL, e.g. sqlite:///runs/demo.db")
    optuna.add_argument("--study-name", default=None, help="default: the run directory's name")
    tensorboard = sub.add_parser("export-tensorboard", help="write a run as a TensorBoard HParams experiment")
    tensorboard.add_argument("run_dir")
    tensorboard.add_argument("--logdir", required=True, help="new or empty directory for the event files")

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


def _run_with_progress(search, out=None) -> int:
    """Run with a progress bar; each step costs the same however many trials the run holds."""
    out = out if out is not None else sys.stderr
    from tqdm.auto import tqdm

    from .search_checks import SearchFailed

    total = search.budget.evaluations if search.budget and search.budget.evaluations else None
    bar = tqdm(total=total, initial=len(search.trials), unit="trial", file=out, dynamic_ncols=True, mininterval=0.2)

    def finished(trial) -> None:
        best = search.best  # kept up to date by the search: no scan of all trials
        last = trial.score(search.metric)
        bar.set_postfix_str(
            f"last {trial.status} {last if last is not None else float('nan'):.3f} | "
            f"best {best.score(search.metric) if best else float('nan'):.3f}",
            refresh=False,
        )
        bar.update(1)

    def progress(info: dict[str, Any]) -> None:
        if "epoch" in info and "epochs" in info:
            bar.set_description_str(f"trial {info['id']} epoch {info['epoch']}/{info['epochs']}", refresh=True)

    search.on("trial_finished", finished)
    search.on("trial_progress", progress)
    code = 0
    try:
        search.run()
    except KeyboardInterrupt:
        bar.close()
        took = f" (stopped {search.stop_seconds:.2f}s after the signal)" if search.stop_seconds is not None else ""
        print(f"\ninterrupted{took}; continue with: nasnb resume {search.run_dir}", file=out)
        code = EXIT_INTERRUPTED
    except SearchFailed as err:
        bar.close()
        print(f"nasnb: search stopped: {err}", file=out)
        code = EXIT_FAILED
    finally:
        search.close()
    bar.close()
    if code == EXIT_INTERRUPTED:
        return code
    best = search.best
    failed = sum(not t.ok for t in search.trials)
    print(
        f"{len(search.trials)} trials ({failed} failed) in {time.perf_counter() - _STARTED:.1f}s "
        f"(search {search.elapsed:.1f}s, the rest loading and reporting); run log: {search.run_dir}"
    )
    if best is not None:
        print(f"best: trial {best.id} {search.metric}={best.score(search.metric):.4f}  {best.arch}")
    return code


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
    search = Search(
        space,
        strategy,
        _evaluator(args),
        budget=args.budget,
        seed=args.seed,
        run_dir=args.run_dir,
        trial_timeout=args.trial_timeout,
        isolate=args.isolate,
    )
    return _run_with_progress(search)


def cmd_resume(args: argparse.Namespace) -> int:
    from .resume import resume_search

    search = resume_search(args.run_dir, budget=args.budget, trial_timeout=args.trial_timeout)
    if search.done:
        print(f"{args.run_dir} already finished its budget ({len(search.trials)} trials); pass --budget N to extend it")
        search.close()
        return 0
    return _run_with_progress(search)


def cmd_show(args: argparse.Namespace) -> int:
    from .runs import current_holder, load_run
    from .runs.files import check_run_dir, read_config

    check_run_dir(__import__("pathlib").Path(args.run_dir))
    read_config(__import__("pathlib").Path(args.run_dir))  # a damaged run.json is named, not a traceback
    run = load_run(args.run_dir)
    print(summary(run, top=args.top, holder=current_holder(args.run_dir)))
    return 0


def cmd_export_optuna(args: argparse.Namespace) -> int:
    from .runs.optuna_export import export_optuna

    study = export_optuna(args.run_dir, args.storage, study_name=args.study_name)
    done = [t for t in study.trials if t.state.name == "COMPLETE"]
    print(f"{len(study.trials)} trials ({len(done)} complete) -> study {study.study_name!r} in {args.storage}")
    if done and len(study.directions) == 1:
        best = study.best_trial
        print(f"best: nasnb trial {best.user_attrs['nasnb_id']} value={best.value:.4f}  {best.user_attrs['arch']}")
    print(f"open it with: optuna-dashboard {args.storage}")
    return 0


def cmd_export_tensorboard(args: argparse.Namespace) -> int:
    from .runs.tensorboard_export import export_tensorboard_hparams

    logdir = export_tensorboard_hparams(args.run_dir, args.logdir)
    print(f"wrote {args.run_dir} to {logdir}; open it with: tensorboard --logdir {logdir} (HPARAMS tab)")
    return 0


_CONTROL = {c: f"\\x{c:02x}" for c in [*range(0x00, 0x20), *range(0x7F, 0xA0)] if chr(c) not in "\n"}


def safe(value: Any, limit: int = 300) -> str:
    """Text from a run log as a terminal should show it: control characters escaped, long text cut."""
    text = str(value).translate(_CONTROL).replace("\n", "\\n")
    return text if len(text) <= limit else text[: limit - 20] + f"... ({len(text)} characters)"


def summary(run, top: int = 10, holder: dict | None = None) -> str:
    """A plain-text report of a run: configuration, best trials, failures and time (log text escaped)."""
    from .runs.lock import describe

    config = run.config
    metric = run.metric
    ok = [t for t in run.trials if t.ok]
    failed = [t for t in run.trials if not t.ok]
    lines = [
        f"run {safe(run.path)}" + (f"  (live: written by {safe(describe(holder))})" if holder else ""),
        f"  space {safe(config['space'].get('type'))}  strategy {safe(config['strategy'].get('name'))} "
        f"{safe(config['strategy'].get('params'))}",
        f"  evaluator {safe(config['evaluator'].get('name'))}  seed {safe(config.get('seed'))}  "
        f"budget {safe(config.get('budget'))}",
        f"  {len(run.trials)} trials: {len(ok)} ok, {len(failed)} failed; "
        f"evaluation time {sum(t.seconds for t in run.trials):.1f}s",
    ]
    lines.extend(f"  warning: {safe(p)}" for p in run.problems)
    if ok:
        ranked = sorted(ok, key=lambda t: (-(t.score(metric) or 0.0), t.id))[:top]
        lines.append(f"\n  best {len(ranked)} by {metric}:")
        lines.append(f"  {'id':>5} {metric:>9} {'params':>9} {'seconds':>8}  arch")
        for t in ranked:
            params = t.metrics.get("params")
            lines.append(
                f"  {t.id:>5} {t.score(metric):>9.4f} {safe(params if params is not None else '-'):>9} "
                f"{t.seconds:>8.2f}  {safe(t.arch)}"
            )
    if failed:
        lines.append(f"\n  failures ({len(failed)}):")
        lines.extend(f"  {t.id:>5}  {safe(t.error)}  [{safe(t.arch)}]" for t in failed[:top])
    return "\n".join(lines)


def _one_line_warning(message: Warning | str, category: type[Warning], *args: Any, **kwargs: Any) -> str:
    return f"nasnb: warning: {safe(message, 2000)}\n"


def _on_sigterm(signum: int, frame: Any) -> None:
    """SIGTERM (a scheduler, ``kill``) is handled as Ctrl-C: the search stops cleanly and can be resumed."""
    signal.raise_signal(signal.SIGINT)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    commands = {
        "search": cmd_search,
        "resume": cmd_resume,
        "show": cmd_show,
        "export-optuna": cmd_export_optuna,
        "export-tensorboard": cmd_export_tensorboard,
        **args.handlers,  # export, compress (nasnb/deploy/cli.py)
    }
    warnings.formatwarning = _one_line_warning
    if args.command in ("search", "resume") and __import__("threading").current_thread().name == "MainThread":
        signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        return commands[args.command](args)
    except KeyboardInterrupt:  # before the search started (e.g. while importing torch or reading the log)
        hint = f"; continue with: nasnb resume {args.run_dir}" if args.command != "show" else ""
        print(f"nasnb {args.command}: interrupted{hint}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except (ValueError, TypeError, KeyError, OSError, RuntimeError, ImportError) as err:
        # every expected failure is one line naming the problem; an unexpected one still shows its traceback
        print(f"nasnb {args.command}: error: {safe(err, 2000)}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
