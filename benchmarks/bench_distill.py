"""Where knowledge distillation helps: several student sizes x seeds, with spread and a paired test.

Teacher: the best digits cell of the shipped table, retrained with the table's recipe (8 channels).
Students: the teacher's own cell at ``--widths`` channels, and a cell found by a size-limited search:
the best cell of the table (an exhaustive search of the tabulated space by validation accuracy) with at
most ``--param-fraction`` of the teacher's parameters, trained at the teacher's width. For every
student and seed, ``nasnb.compress.distill`` trains the same initial weights twice on the same batches,
with Hinton's loss and alone, and both are scored on the test split. Per student: mean accuracies,
mean gain and its standard deviation over seeds, wins, and a paired t-test (two-sided) of distilled
against alone; then a Wilcoxon signed-rank test over every (student, seed) pair.

    python benchmarks/bench_distill.py [--widths 2 3 4 6] [--seeds 0 1 2 3 4] [--epochs 10]

Measured here (defaults; teacher 12,722 params, test 98.06 %; test accuracy in %, gain = distilled - alone):

    student                            params   alone  distil   gain    sd  wins   p(t)
    same cell, 2 ch                       896   75.83   70.39  -5.44  6.09  1/5   0.116
    same cell, 3 ch                     1,912   88.17   92.61  +4.44  1.99  5/5   0.008
    same cell, 4 ch                     3,310   95.61   95.83  +0.22  1.10  3/5   0.675
    same cell, 6 ch                     7,252   98.44   98.00  -0.44  0.72  2/5   0.242
    searched <= 5088 params, 8 ch       5,042   98.33   98.39  +0.06  0.82  2/5   0.887
    all 25 pairs: mean gain -0.23 points, Wilcoxon signed-rank p = 0.819

Distillation helped in one regime only: a student small enough to fall well short of the teacher
alone (3 channels, 88 %) but big enough to follow its soft targets. Below it (2 channels) the soft
targets cost accuracy in 4 of 5 seeds with a wide spread; above it (4 and 6 channels, and the searched
5k-parameter cell at 8 channels) the student alone already reaches the teacher's 96-98 % and the
difference is within seed noise. 1/360 of the test split is 0.28 points.
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings

import numpy as np
import torch

from nasnb.compress import distill
from nasnb.data import load_dataset
from nasnb.evaluation import Trainer
from nasnb.evaluation.recipes import recipe
from nasnb.evaluation.table import OK, load_table
from nasnb.nn import build_model, count_params
from nasnb.spaces import CellSpace


def size_limited_student(table, limit: int) -> str:
    """The table's best cell by validation accuracy among those with at most ``limit`` parameters."""
    ok = (table.status == OK) & (table.params <= limit)
    if not ok.any():
        raise SystemExit(f"no table cell has <= {limit} parameters; raise --param-fraction")
    row = int(np.argmax(np.where(ok, table.val_accuracy, -np.inf)))
    return table.entry(row).arch


def main() -> None:
    from scipy.stats import ttest_rel, wilcoxon

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--widths", type=int, nargs="+", default=[2, 3, 4, 6], help="student widths (channels)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--temperature", type=float, default=4.0)
    parser.add_argument("--alpha", type=float, default=0.5)
    parser.add_argument(
        "--param-fraction",
        type=float,
        default=0.4,
        help="size limit of the searched student (the table's smallest cell has 31 %% of the teacher's parameters)",
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore")

    table = load_table("digits")
    space = CellSpace()
    best = table.best()
    arch = space.parse(best.arch)
    config = recipe("digits")
    width = config["network"]["channels"]
    trainer = Trainer(**config, keep_model=True)
    trainer(arch)
    teacher = trainer.last_model_.cpu().eval()
    data = load_dataset("digits")
    teacher_params = count_params(teacher)
    limit = int(args.param_fraction * teacher_params)
    searched = size_limited_student(table, limit)
    students = [(f"same cell, {w} ch", arch, w) for w in args.widths]
    students.append((f"searched <= {limit} params, {width} ch", space.parse(searched), width))
    print(f"teacher: {best.arch}, {width} channels, {teacher_params:,} params")
    print(f"searched student (best table cell with <= {limit} params): {searched}")
    print(f"distillation: T={args.temperature}, alpha={args.alpha}, {args.epochs} epochs, seeds {args.seeds}")

    start = time.perf_counter()
    all_gains = []
    header = f"{'student':<34} {'params':>6} {'alone':>7} {'distil':>7} {'gain':>6} {'sd':>5} {'wins':>5} {'p(t)':>6}"
    rows = []
    teacher_accuracy = None
    for name, student_arch, channels in students:
        alone, distilled = [], []
        for seed in args.seeds:
            with torch.random.fork_rng():
                torch.manual_seed(seed)
                student = build_model(
                    student_arch, data.input_shape, data.num_classes, **{**config["network"], "channels": channels}
                )
            result = distill(
                teacher,
                student,
                data,
                temperature=args.temperature,
                alpha=args.alpha,
                epochs=args.epochs,
                lr=0.05,
                seed=seed,
            )
            teacher_accuracy = result.teacher_accuracy
            alone.append(100 * result.alone.test_accuracy)
            distilled.append(100 * result.student.test_accuracy)
        gains = [d - a for d, a in zip(distilled, alone)]
        all_gains += gains
        p = ttest_rel(distilled, alone).pvalue if len(gains) > 1 and any(gains) else float("nan")
        rows.append(
            f"{name:<34} {count_params(student):>6,} {statistics.mean(alone):>7.2f} {statistics.mean(distilled):>7.2f} "
            f"{statistics.mean(gains):>+6.2f} {statistics.stdev(gains) if len(gains) > 1 else 0:>5.2f} "
            f"{sum(g > 0 for g in gains):>2}/{len(gains):<2} {p:>6.3f}"
        )
        print(f"  {name}: alone {[round(a, 2) for a in alone]} distilled {[round(d, 2) for d in distilled]}")
    print(f"\nteacher test accuracy {100 * teacher_accuracy:.2f} %  ({time.perf_counter() - start:.0f} s of training)")
    print(header)
    print("\n".join(rows))
    nonzero = [g for g in all_gains if g != 0]
    if len(nonzero) > 1:
        print(
            f"all {len(all_gains)} pairs: mean gain {statistics.mean(all_gains):+.2f} points, "
            f"Wilcoxon signed-rank p = {wilcoxon(all_gains).pvalue:.3f}"
        )


if __name__ == "__main__":
    main()
