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
    card = result.card
    checks = ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in card["checks"].items())
    print(f"wrote {result.path} ({card['model']['bytes']:,} bytes, {result.format}) and {result.card_path}")
    print(f"  trial {card['source']['trial']}: {card['architecture']['arch']}")
    print(f"  test accuracy {card['metrics']['test_accuracy']:.4f}; checks: {checks}")
    return 0


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
