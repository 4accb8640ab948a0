"""``nasnb compress RUN --trial best --method int8|prune|prune-unstructured|lowrank|distill [--json]``."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import textwrap
from collections.abc import Callable
from typing import Any

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
    options = _params(args.param, "--param")
    try:
        baseline, result = compress_trial(args.run_dir, args.trial, args.method, **options)
    except TypeError as err:  # an option the technique does not take
        raise ValueError(f"--param: {err}") from None
    except ImportError as err:
        print(f"nasnb compress: error: {err}", file=sys.stderr)
        return 2
    records = [baseline, result] if args.method != "distill" else [baseline, result.alone, result.student]
    story = explain(args.method, baseline, result, run_dir=args.run_dir, trial=args.trial, options=options)
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
        out["summary"] = story
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
    for line in summary_lines(story):
        print(line)
    return 0


WIDTH = 118  # the summary fits a 120-column terminal


def explain(
    method: str, baseline: Any, result: Any, *, run_dir: str, trial: str, options: dict[str, Any]
) -> dict[str, Any]:
    """What the technique did, what it changed against its reference, the caveats, and how to keep the model.

    The JSON summary of ``nasnb compress`` (``summary_lines`` prints it): ``did``, ``against``, ``size``,
    ``speed`` (both batch sizes, with milliseconds, so a model slower at batch 1 says so), ``like_for_like``
    (int8: float32 pooled as the int8 model pools), ``accuracy``, ``notes`` (e.g. that fine-tuning trained
    on where the baseline did not), ``written`` (always None: compress only reads the run) and ``save`` (a
    command, or lines of Python, that write the model to a file).
    """
    final = result.student if method == "distill" else result
    reference = result.alone if method == "distill" else baseline
    ratios = final.ratios(reference)
    story: dict[str, Any] = {
        "did": _did(method, baseline, result),
        "against": "the same student trained alone" if method == "distill" else "the baseline (the trial as trained)",
        "size": (
            f"{_smaller(ratios['size_ratio'])} as a torch.save file (file B), "
            + (
                "no packed file (packed B: n/a, the packed file does not rebuild this model exactly)"
                if ratios["packed_size_ratio"] is None
                else f"{_smaller(ratios['packed_size_ratio'])} as a packed file (packed B)"
            )
            + f", {_smaller(ratios['tensor_size_ratio'])} in tensors"
        ),
        "speed": (
            f"batch 64: {_speed(ratios['speedup_b64'], final.latency_ms_b64, reference.latency_ms_b64)}; "
            f"batch 1: {_speed(ratios['speedup_b1'], final.latency_ms_b1, reference.latency_ms_b1)}"
        ),
        "like_for_like": None,
        "accuracy": f"{ratios['accuracy_change_points']:+.2f} points on the test split "
        f"({reference.test_accuracy:.4f} -> {final.test_accuracy:.4f})",
        "notes": [],
        "written": None,
        "save": _save_hint(method, final, run_dir, trial, options),
    }
    if final.packed_bytes is not None:
        story["notes"].append(f"packed B: {_packed_where(method)}")
    same64, same1 = (final.settings.get(f"float32_same_pooling_ms_b{b}") for b in (64, 1))
    x64, x1 = (final.settings.get(f"like_for_like_speedup_b{b}") for b in (64, 1))
    if method == "int8" and same64 and same1 and x64 and x1:
        story["like_for_like"] = (
            f"float32 pooled the same way as int8 (by matrix product), timed in turn with it: {same64:.2f} ms at "
            f"batch 64 and {same1:.2f} ms at batch 1; int8 is {x64:.2f}x as fast at batch 64 and {x1:.2f}x at "
            "batch 1 (narrow layers gain little from int8: benchmarks/bench_int8_kernels.py)"
        )
    epochs = final.settings.get("finetune_epochs", 0)
    if method in ("prune", "prune-unstructured", "lowrank") and epochs:
        trained = baseline.settings.get("train_epochs")
        before = f"trained {_epochs(trained)} and " if trained else ""
        story["notes"].append(
            f"the baseline was {before}not trained further, while this model was fine-tuned {_epochs(epochs)} more: "
            f"an accuracy gain can be that extra training rather than the {_noun(method)} "
            f"(without it: --param finetune_epochs=0)"
        )
    elif method in ("prune", "prune-unstructured", "lowrank"):
        story["notes"].append(
            "this model's BatchNorm statistics were re-estimated on training images and the baseline's were not: "
            f"part of an accuracy change can be that rather than the {_noun(method)}"
        )
    return story


def _smaller(ratio: float) -> str:
    """``2.58x smaller``, ``the same size`` or ``1.20x larger`` (a ratio of baseline size to this size)."""
    if ratio >= 1.005:
        return f"{ratio:.2f}x smaller"
    if ratio <= 0.995:
        return f"{1 / ratio:.2f}x larger"
    return "the same size"


def summary_lines(story: dict[str, Any]) -> list[str]:
    """The summary as lines of at most ``WIDTH`` characters, every item under its label."""
    lines = _wrapped("what it did: ", story["did"])
    lines.append(f"against {story['against']}:")
    for label in ("size", "speed", "like_for_like", "accuracy"):
        if story[label]:
            lines += _wrapped(f"  {label.replace('_', ' ') + ':':<16}", story[label])
    for note in story["notes"]:
        lines += _wrapped("  note: ", note)
    how = "run" if len(story["save"]) == 1 else "in Python"
    lines.append(f"nothing was written (the run folder is only read); to keep this model, {how}:")
    return lines + [f"    {line}" for line in story["save"]]


def _wrapped(label: str, text: str) -> list[str]:
    return textwrap.wrap(
        label + text, WIDTH, subsequent_indent=" " * min(len(label), 18), break_on_hyphens=False, break_long_words=False
    )


def _speed(ratio: float, ms: float, reference_ms: float) -> str:
    """``1.88x faster (2.76 vs 5.18 ms)``, or ``slower: 0.92x the speed (0.73 vs 0.67 ms)``."""
    times = f"({ms:.2f} vs {reference_ms:.2f} ms)"
    if ratio >= 1.005:
        return f"{ratio:.2f}x faster {times}"
    if ratio <= 0.995:
        return f"slower, {ratio:.2f}x the speed {times}"
    return f"as fast {times}"


def _epochs(n: int) -> str:
    return f"{n} epoch" if n == 1 else f"{n} epochs"


def _noun(method: str) -> str:
    return {"prune": "pruning", "prune-unstructured": "pruning", "lowrank": "factorisation"}.get(method, method)


def _did(method: str, baseline: Any, result: Any) -> str:
    """One sentence on what the technique did to the model, from its own record."""
    if method == "distill":
        s = result.settings
        network = s.get("student_network", {})
        width = f" ({network['channels']} channels)" if "channels" in network else ""
        return (
            f"trained a student{width} from scratch for {_epochs(s['epochs'])} on the teacher's softened outputs "
            f"(temperature {s['temperature']:g}, alpha {s['alpha']:g}) and the same student alone on the labels, "
            f"from the same start; the teacher is the baseline ({result.teacher_accuracy:.4f})"
        )
    s = result.settings
    if method == "int8":
        return (
            f"stored every convolution's weights and activations as int8 (static: ranges calibrated on "
            f"{s['calibration_images']} training images) and the classifier's weights as int8 (dynamic), "
            f"engine {s['engine']}; no training"
        )
    tuned = _finetuned(s)
    if method == "prune":
        before = sum(row["channels_before"] for row in result.layers if row["type"] == "Conv2d")
        after = sum(row["channels_after"] for row in result.layers if row["type"] == "Conv2d")
        return (
            f"removed {s['ratio']:.0%} of the channels of every coupled group of convolutions (smallest L2 norm; "
            f"{before:,} -> {after:,} conv output channels, parameters {baseline.params:,} -> {result.params:,}), "
            f"then {tuned}"
        )
    if method == "prune-unstructured":
        zeros = 1 - result.nonzero_params / max(1, result.params)
        return (
            f"set the {s['amount']:.0%} smallest-magnitude weights of all conv and linear layers to zero (one global "
            f"threshold; {zeros:.0%} of all parameters are now zero, but a dense file stores zeros like any number), "
            f"then {tuned}"
        )
    factored = sum(1 for row in result.layers if row.get("factorised"))
    return (
        f"factorised {factored} of {len(result.layers)} conv and linear layers into two thinner layers at "
        f"rank ratio {s['rank_ratio']:g} (parameters {baseline.params:,} -> {result.params:,}), then {tuned}"
    )


def _finetuned(settings: dict[str, Any]) -> str:
    epochs = settings.get("finetune_epochs", 0)
    if not epochs:
        return "recalibrated BatchNorm on training images; no fine-tuning (--param finetune_epochs=N adds some)"
    return (
        f"recalibrated BatchNorm and fine-tuned {_epochs(epochs)} (lr {settings['lr']:g}): validation accuracy "
        f"{settings['val_accuracy_before_finetune']:.4f} before fine-tuning, "
        f"{settings['val_accuracy_after_finetune']:.4f} after"
    )


def _save_hint(method: str, final: Any, run_dir: str, trial: str, options: dict[str, Any]) -> list[str]:
    """A command, or lines of Python, that write this model to a file (compress itself writes nothing)."""
    if method == "int8":
        return [f"nasnb export {shlex.quote(str(run_dir))} --trial {trial} --format packed-int8 --out model-int8.nasnb"]
    call = ", ".join([repr(str(run_dir)), repr(trial), repr(method), *(f"{k}={v!r}" for k, v in options.items())])
    model = "c.result.student.model" if method == "distill" else "c.result.model"
    if final.packed_bytes is None:
        return [
            "import nasnb.compress, torch",
            f"c = nasnb.compress.compress_trial({call})",
            f"torch.save({model}.state_dict(), 'model.pt')",
        ]
    lines = [
        "import nasnb.compress, nasnb.deploy",
        f"c = nasnb.compress.compress_trial({call})",
        f"record = nasnb.deploy.load_trained({str(run_dir)!r}, {trial!r}).record",
    ]
    if method == "distill":  # the student is another network than the trial's: its own arch and width
        lines.append(
            "record = {**record, 'arch': c.result.settings['student_arch'], "
            "'network': c.result.settings['student_network']}"
        )
    return [*lines, f"nasnb.deploy.save_packed('model.nasnb', {model}, record, changed_layers=True)"]


def _packed_where(method: str) -> str:
    """Which file packed B is: the one ``nasnb export`` writes, or the call that writes it."""
    if method == "int8":
        return "the file `nasnb export --format packed-int8` writes (same calibration, same bytes)"
    return "the file nasnb.deploy.save_packed(..., changed_layers=True) writes"
