"""The deployment and compression subcommands of ``nasnb``, registered by ``nasnb/cli.py``.

nasnb export runs/demo --trial best --format onnx --out model.onnx
nasnb compress runs/demo --trial best --method int8 --json
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable


def add_commands(sub: argparse._SubParsersAction) -> dict[str, Callable[[argparse.Namespace], int]]:
    """Add ``export`` and ``compress`` to the ``nasnb`` parser; returns their handlers by name."""
    from . import FORMATS

    export = sub.add_parser("export", help="export a trial's trained model (ONNX, TorchScript, state dict)")
    export.add_argument("run_dir")
    export.add_argument("--trial", default="best", help="trial id or 'best' (default)")
    export.add_argument("--format", default="onnx", help=f"one of {', '.join(FORMATS)}")
    export.add_argument("--out", required=True, help="output file; must not exist (a .card.json goes beside it)")
    handlers = {"export": _friendly(cmd_export)}
    try:
        from ..compress.cli import add_compress
    except ImportError:  # compression not installed in this build
        return handlers
    handlers.update(add_compress(sub))
    return handlers


def cmd_export(args: argparse.Namespace) -> int:
    from .exporter import export

    result = export(args.run_dir, args.out, format=args.format, trial=args.trial)
    for line in export_lines(result.card, result.path, result.card_path):
        print(line)
    return 0


def export_lines(card: dict, path: object, card_path: object) -> list[str]:
    """What ``nasnb export`` prints: the files, the file's own test accuracy beside the trained model's, the checks.

    One check per line (``name  value``), so a 120-column terminal shows each whole.
    """
    metrics, model = card["metrics"], card["model"]
    lines = [
        f"wrote {path} ({model['bytes']:,} bytes, {model['format']}) and {card_path}",
        f"  trial {card['source']['trial']}: {card['architecture']['arch']}",
    ]
    own = metrics.get("file_test_accuracy")
    test = card["dataset"]["test_samples"]
    if own is None:
        lines.append(f"  test accuracy {metrics['test_accuracy']:.4f} (the trained model, {test} test images)")
    else:
        lines.append(
            f"  test accuracy of this file: {own:.4f} (the file itself run on the {test} test images; "
            f"the trained float32 model: {metrics['test_accuracy']:.4f})"
        )
    lines.append("  checks:")
    width = max(map(len, card["checks"]), default=0)
    for name, value in card["checks"].items():
        lines.append(f"    {name:<{width}}  {_check_value(value)}")
    return lines


def _check_value(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:.3g}" if value and abs(value) < 1e-3 else f"{value:.4f}".rstrip("0").rstrip(".")


def _friendly(handler: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Errors the main loop does not catch (an existing output, a missing optional package) as one line."""

    def run(args: argparse.Namespace) -> int:
        try:
            return handler(args)
        except (FileExistsError, ImportError) as err:
            print(f"nasnb {args.command}: error: {err}", file=sys.stderr)
            return 2

    return run


def print_json(data: object) -> None:
    print(json.dumps(data, indent=1))
