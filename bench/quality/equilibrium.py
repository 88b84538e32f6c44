"""Does BEGAN's control act in a run? The equilibrium figures of issue 21, from its logs.

    .venv/bin/python -m bench.quality.equilibrium RUN [RUN ...] [--bins 10]

Per run (its metrics.csv, eval.csv and config.json): the share of logged steps
after the first 10 % of training with 0 < k_t < 1 (target >= 0.9), the mean
L(G(z)) / L(x) over the second half against gamma (target within +-0.05), how
often the learning rate moved, the Spearman rank correlation between the
windowed mean M at each evaluation and the Frechet distance (and KID), and the ratio
and k_t over training in --bins equal step ranges (how they move with time).
Exits 1 when a run's equilibrium does not hold.
"""

import json
import sys
from pathlib import Path

import numpy as np

from bench import parser
from evaluate.equilibrium import RATIO_TOLERANCE, balance, m_tracks_quality
from report.build import read_csv


def over_training(rows: list[dict], bins: int) -> list[tuple[int, float, float]]:
    """(first step, mean L(G(z))/L(x), mean k_t) in `bins` equal step ranges."""
    step = np.array([float(r["step"]) for r in rows])
    ratio = np.array([float(r["loss_fake"]) / max(float(r["loss_real"]), 1e-12) for r in rows])
    k = np.array([float(r["k"]) for r in rows])
    edges = np.linspace(0, step.max(), bins + 1)
    out = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        inside = (step > lo) & (step <= hi)
        if inside.any():
            out.append((int(lo), float(ratio[inside].mean()), float(k[inside].mean())))
    return out


def main(argv=None) -> int:
    p = parser(__doc__, __spec__)
    p.add_argument("runs", nargs="+", metavar="RUN")
    p.add_argument(
        "--bins", type=int, default=10, help="step ranges of the over-training table (default: 10)"
    )
    args = p.parse_args(argv)
    status = 0
    for run in map(Path, args.runs):
        if not (run / "metrics.csv").exists():
            print(f"error: {run / 'metrics.csv'} not found", file=sys.stderr)
            status = 2
            continue
        config = json.loads((run / "config.json").read_text())
        rows = read_csv(run / "metrics.csv")
        b = balance(rows, config["gamma"])
        evals, window = read_csv(run / "eval.csv"), config.get("lr_window", 1000)
        tracks = {
            name: m_tracks_quality(rows, evals, window, column)
            for name, column in (("Frechet", "frechet_generated_vs_real"), ("KID", "kid_generated_vs_real"))
        }
        print(f"{run}: gamma {b['gamma']}, steps {rows[-1]['step'] if rows else 0}")
        print(f"  0 < k_t < 1 after the first 10 %: {b['k_inside']:.3f} of logged steps (target >= 0.9)")
        print(
            f"  mean L(G(z))/L(x), second half: {b['ratio']:.3f} (target {b['gamma']} +- {RATIO_TOLERANCE})"
        )
        print(f"  learning-rate changes: {b['lr_changes']}")
        for name, q in tracks.items():
            print(
                f"  Spearman(windowed M, {name}): {q['spearman']} over {q['evaluations']} evaluations "
                f"(p {q['p_value']})"
            )
        print("  equilibrium holds" if b["holds"] else "  equilibrium does NOT hold")
        print("  from step | L(G(z))/L(x) | k_t")
        for first, ratio, k in over_training(rows, args.bins) if rows else []:
            print(f"  {first:>9} | {ratio:12.3f} | {k:.5f}")
        status = max(status, 0 if b["holds"] else 1)
    return status


if __name__ == "__main__":
    sys.exit(main())
