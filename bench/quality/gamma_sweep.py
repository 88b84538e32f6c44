"""BEGAN's gamma, swept at equal CPU time: diversity should rise with gamma, detail fall.

    .venv/bin/python -m bench.quality.gamma_sweep --out runs/gamma --cpu-minutes 20 [--gammas 0.3,0.5,0.7] \\
        [--start RUN] [--flags "--aux-weight 0.1 ..."] [--checker models/checker] [--score-seed 2]

Each gamma is a real train.py run (OUT/gamma_<g>), stopped at the same CPU
budget (bench/quality/compare_equal_cpu.py's harness; an existing run is resumed).
With --start RUN, every gamma starts from a copy of that run's latest
checkpoint (one start, then gamma alone differs); without it, every run starts
from scratch with the same seed and --flags. Then each run is exported
(RUN/export, G's moving average) and scored with evaluate.metrics at
--score-seed: checker accuracy, face rate, Frechet, within-tag diversity and
sharpness (high-frequency energy), all against real held-out faces; and its
equilibrium figures from metrics.csv (evaluate.equilibrium). Prints the table,
writes OUT/gamma_sweep.csv and the sweep page OUT/sweep-report/ (one row of
faces per gamma with the same z and tags; `python -m report OUT/gamma_*`
rebuilds it). Exits 1 unless diversity rises strictly with gamma.
"""

import csv
import subprocess
import sys
from pathlib import Path

from bench import ROOT, real_data
from bench.quality.compare_equal_cpu import PY, prepare_start, train_all
from report.sweep import build_sweep_report, sweep_rows


def score(run_dir: Path, args) -> None:
    export = run_dir / "export"
    subprocess.run(
        [PY, str(ROOT / "export.py"), str(run_dir), "--out", str(export), "--checker", args.checker],
        check=True,
        capture_output=True,
        cwd=ROOT,
    )
    subprocess.run(
        [
            PY,
            "-m",
            "evaluate.metrics",
            str(export),
            "--images",
            args.images,
            "--tags-csv",
            args.tags_csv,
            "--n-per-combo",
            str(args.n_per_combo),
            "--seed",
            str(args.score_seed),
        ],
        check=True,
        capture_output=True,
        cwd=ROOT,
    )


def rises(values: list[float]) -> bool:
    return all(b > a for a, b in zip(values, values[1:]))


def main(argv=None) -> int:
    p = real_data.parser(__doc__, __spec__)
    p.add_argument("--out", required=True, help="folder of the runs (one per gamma)")
    p.add_argument("--gammas", default="0.3,0.5,0.7", help="comma-separated gammas (default: 0.3,0.5,0.7)")
    p.add_argument("--cpu-minutes", type=float, default=20.0, help="CPU budget per run (default: 20)")
    p.add_argument("--start", default=None, help="run folder every gamma starts from (default: from scratch)")
    p.add_argument("--flags", default="", help="train.py flags shared by every run (the default's settings)")
    p.add_argument("--parallel", type=int, default=2, help="runs at once (default: 2)")
    p.add_argument("--threads", type=int, default=1, help="TensorFlow threads per run (default: 1)")
    p.add_argument(
        "--checker", default=str(ROOT / "models" / "checker"), help="tag checker (default: models/checker)"
    )
    p.add_argument("--n-per-combo", type=int, default=4, help="samples per hair x eye pair (default: 4)")
    p.add_argument("--score-seed", type=int, default=2, help="noise seed of the scores (default: 2)")
    args = p.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    gammas = [float(g) for g in args.gammas.split(",")]
    steps = "--steps 10000000 " if args.start else ""  # a copied start resumes past its own --steps
    variants = {f"gamma_{g:g}": f"{steps}{args.flags} --gamma {g:g}" for g in gammas}
    if args.start:
        for name in variants:
            prepare_start(Path(args.start), out / name)
    train_all(variants, args)
    runs = [out / name for name in variants]
    for run in runs:
        score(run, args)
    rows = sweep_rows(runs)
    with open(out / "gamma_sweep.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    print("| " + " | ".join(rows[0]) + " |")
    for r in rows:
        print("| " + " | ".join(str(v) for v in r.values()) + " |")
    page = build_sweep_report(runs, out / "sweep-report")
    ok = rises([float(r["diversity_ratio"] or 0) for r in rows])
    print(f"wrote {out / 'gamma_sweep.csv'} and {page}")
    print("diversity rises strictly with gamma" if ok else "diversity does NOT rise strictly with gamma")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
