"""``nasnb compress RUN --trial best --method int8|prune|prune-unstructured|lowrank|distill [--json]``."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable

from . import METHODS


def add_compress(sub: argparse._SubParsersAction) -> dict[str, Callable[[argparse.Namespace], int]]:
    """Add the ``compress`` subcommand; returns its handler by name."""
    parser = sub.add_parser("compress", help="compress a trial's trained model and print what it cost")
    parser.add_argument("run_dir")
    parser.add_argument("--trial", default="best", help="trial id or 'best' (default)")
    parser.add_argument("--method", required=True, help=f"one of {', '.join(METHODS)}")
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="technique option (repeatable), e.g. --param ratio=0.5 --param finetune_epochs=3",
    )
    parser.add_argument("--json", action="store_true", help="print the result records as JSON")
    return {"compress": cmd_compress}


def cmd_compress(args: argparse.Namespace) -> int:
    from ..cli import _params
    from .run import compress_trial

    if args.method not in METHODS:
        raise ValueError(f"--method must be one of {list(METHODS)}, got {args.method!r}")
    try:
        baseline, result = compress_trial(args.run_dir, args.trial, args.method, **_params(args.param, "--param"))
    except TypeError as err:  # an option the technique does not take
        raise ValueError(f"--param: {err}") from None
    except ImportError as err:
        print(f"nasnb compress: error: {err}", file=sys.stderr)
        return 2
    records = [baseline, result] if args.method != "distill" else [baseline, result.alone, result.student]
    if args.json:
        out = {"baseline": baseline.to_dict()}
        if args.method == "distill":
            out["alone"] = result.alone.to_dict()
            out["distilled"] = result.student.to_dict()
            out["distillation"] = {
                "teacher_accuracy": result.teacher_accuracy,
                "agreement": result.agreement,
                "agreement_alone": result.agreement_alone,
                "gain_points": result.gain_points,
                "per_class": list(result.per_class),
            }
        else:
            out["result"] = result.to_dict()
            out["ratios"] = result.ratios(baseline)
        print(json.dumps(out, indent=1))
        return 0
    print(
        f"{'method':<20} {'file B':>9} {'packed B':>9} {'tensor B':>9} {'params':>8} {'MACs':>9} "
        f"{'ms@1':>7} {'ms@64':>7} {'test':>6}"
    )
    for r in records:
        packed = "n/a" if r.packed_bytes is None else f"{r.packed_bytes:,}"
        print(
            f"{r.method:<20} {r.size_bytes:>9,} {packed:>9} {r.tensor_bytes:>9,} {r.nonzero_params:>8,} {r.macs:>9,} "
            f"{r.latency_ms_b1:>7.2f} {r.latency_ms_b64:>7.2f} {r.test_accuracy:>6.4f}"
        )
    final = records[-1]
    ratios = final.ratios(records[-2] if args.method == "distill" else baseline)
    against = "the student alone" if args.method == "distill" else "the baseline"
    print(
        f"against {against}: {ratios['size_ratio']:.2f}x smaller as a torch.save file (file B), "
        f"{_packed_phrase(args.method, ratios['packed_size_ratio'])}, {ratios['tensor_size_ratio']:.2f}x in tensors;\n"
        f"  {ratios['speedup_b64']:.2f}x faster at batch 64, accuracy {ratios['accuracy_change_points']:+.2f} points"
    )
    same = final.settings.get("float32_same_pooling_ms_b64")
    if args.method == "int8" and same:
        print(
            f"  how much of that is int8: the int8 model pools by matrix product, and float32 pooled the same way "
            f"runs {same:.2f} ms at batch 64,\n  so like for like int8 is {same / final.latency_ms_b64:.2f}x as fast "
            "as float32 (narrow layers gain little from int8: benchmarks/bench_int8_kernels.py)"
        )
    return 0


def _packed_phrase(method: str, ratio: float | None) -> str:
    """The packed ratio and which file it is: the one ``nasnb export`` writes, or why there is none."""
    if ratio is None:
        return "no packed file (packed B: n/a, the packed file does not rebuild this model exactly)"
    if method == "int8":
        where = "what `nasnb export --format packed-int8` writes"
    elif method in ("prune", "lowrank"):
        where = "nasnb.deploy.save_packed(..., changed_layers=True) writes it"
    else:
        where = "nasnb.deploy.save_packed writes it"
    return f"{ratio:.2f}x as a packed file (packed B: {where})"
