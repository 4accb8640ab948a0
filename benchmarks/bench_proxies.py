"""How well zero-cost proxies rank cells, measured against the shipped table.

Scores ``--cells`` distinct trained cells of the table (drawn with ``--seed``) with every proxy on
one mini-batch at initialisation and reports Spearman's rho (and Kendall's tau) against the table's
validation and test accuracy, next to the ``params`` baseline and a rank-average vote of proxies.
Published anchor: synflow reaches rho = 0.737 on NAS-Bench-201 CIFAR-10 (Abdelfattah et al. 2021).
Goal: a proxy or a vote reaches rho >= 0.8 and beats params. One torch thread by default.
The table's own repeatability bounds what any proxy can reach: a multi-seed table measures it
itself (``table.repeatability()``); for the one-seed ``digits`` table pass ``--seed-rho`` from
bench_table_noise.py (0.52 there, seed 1 against the table). The ceiling printed is
``proxy_ceiling``'s Spearman-Brown estimate. Also scored: ``jacov`` and ``learned (cv)``, a
gradient-boosted ranking model on all proxies' scores, judged out of fold (5-fold cross-validation),
and ``learned + cell (cv)``, the same model also given the cell's operations: a performance
predictor, not a zero-cost proxy, since it learns from trained cells. How many it needs is printed
as a learning curve (fitted on m random cells, judged on all the others).

    python benchmarks/bench_proxies.py [--table digits] [--cells 1000] [--batch-size 64] [--seed 0] [--seed-rho 0.52]
"""

from __future__ import annotations

import argparse
import itertools
import time

import numpy as np
import torch
from scipy.stats import spearmanr

from nasnb.evaluation.proxies import PROXIES
from nasnb.evaluation.proxy_analysis import (
    LEARNED_CELL,
    cell_features,
    proxy_ceiling,
    proxy_correlations,
    proxy_features,
    ranking_model,
    score_cells,
)
from nasnb.evaluation.table import load_table

ANCHOR = 0.737


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--table", "--dataset", dest="dataset", default="digits")
    parser.add_argument("--seed-rho", type=float, default=None, help="one-seed tables: measured seed-to-seed rho")
    parser.add_argument("--cells", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    table = load_table(args.dataset)
    t0 = time.perf_counter()
    names = (*PROXIES, "jacov")
    scores = score_cells(table, names, n=args.cells, seed=args.seed, batch_size=args.batch_size)
    seconds = time.perf_counter() - t0
    print(
        f"table {args.dataset!r}: {table.n_trained} of {len(table)} distinct cells trained"
        f"{'' if table.complete else ' (PARTIAL table)'}; scored {len(scores)} cells, batch {args.batch_size}, "
        f"seed {args.seed}, in {seconds:.1f} s ({seconds / len(scores) * 1e3:.0f} ms per cell, all proxies)"
    )
    val = proxy_correlations(table, names, scores=scores, learned=True, cell_features=True, seed=args.seed)
    test = proxy_correlations(
        table, names, scores=scores, metric="test_accuracy", learned=True, cell_features=True, seed=args.seed
    )
    print(f"{'proxy':<20}{'rho val':>9}{'tau val':>9}{'rho test':>10}")
    for name, row in val.iterrows():
        print(f"{name:<20}{row['spearman']:9.3f}{row['kendall']:9.3f}{test.loc[name, 'spearman']:10.3f}")
    voters = [p for p in PROXIES if p != "params"]
    best_vote = max(
        (
            (combo, proxy_correlations(table, PROXIES, scores=scores, vote=combo).loc["vote", "spearman"])
            for k in (2, 3)
            for combo in itertools.combinations(voters, k)
        ),
        key=lambda item: item[1],
    )
    print(
        f"best vote of 2-3 proxies: {' + '.join(best_vote[0])}  rho = {best_vote[1]:.3f} (chosen on this sample, "
        "so optimistic)"
    )
    try:
        ceiling = proxy_ceiling(table, args.seed_rho)
        print(
            f"ceiling from the table's repeatability: seed-to-seed rho {ceiling['seed_rho']:.3f} over "
            f"{ceiling['seeds']} seed(s) -> reliability {ceiling['reliability']:.3f}, "
            f"ceiling rho ~ {ceiling['ceiling']:.3f}"
        )
    except ValueError as err:
        print(f"ceiling: {err}")
    learning_curve(scores, names, args.seed)
    params = val.loc["params", "spearman"]
    top = val.drop(index=["params", LEARNED_CELL])["spearman"].max()  # the predictor is judged on its own line
    print(
        f"anchor: synflow on NAS-Bench-201 CIFAR-10 rho = {ANCHOR}; here synflow rho = "
        f"{val.loc['synflow', 'spearman']:.3f}"
    )
    met = top >= 0.8 and top > params
    print(
        f"goal (a proxy or the vote >= 0.8 and above params {params:.3f}): best {top:.3f} -> "
        f"{'met' if met else 'NOT met'}"
    )
    predictor = val.loc[LEARNED_CELL, "spearman"]
    print(
        f"performance predictor (proxies + the cell, fitted on trained cells, out of fold): rho {predictor:.3f} "
        f"-> {'reaches' if predictor >= 0.8 else 'below'} 0.8; it needs trained cells (learning curve above)"
    )


def learning_curve(scores, names, seed: int) -> None:
    """rho of the learned predictor (proxies + cell) fitted on m random cells and judged on all the others."""
    x = np.hstack([proxy_features(scores, names), cell_features(scores["arch"])])
    y = scores["val_accuracy"].to_numpy(dtype=float)
    rng = np.random.default_rng(seed)
    sizes = [m for m in (25, 50, 100, 200, 400, 800) if m < len(y) - 20]
    line = []
    for m in sizes:
        rhos = []
        for _ in range(3):
            order = rng.permutation(len(y))
            fit, judge = order[:m], order[m:]
            model = ranking_model(cell=True, seed=seed)
            model.fit(x[fit], y[fit])
            rhos.append(spearmanr(model.predict(x[judge]), y[judge])[0])
        line.append(f"{m}: {np.mean(rhos):.3f}")
    print("learned + cell fitted on m trained cells (rho on the rest, mean of 3 draws): " + ", ".join(line))


if __name__ == "__main__":
    main()
