"""Training throughput: train.py end to end vs the bare update step.

Prints images/s for
  (a) train.py end to end (default logging and checkpointing), steady state:
      the mean of metrics.csv's images_per_s over the steps after --warmup;
  (b) the bare update step of the same network and losses on one fixed batch
      (bench.speed.update_step, in a fresh process),
for fp32 and bf16. Defaults: n=64, batch 16, 64x64, synthetic faces (pass
--images/--tags-csv for the real set); `--set NAME=VALUE` changes a training
setting in both, e.g. the cost of the mode-seeking term's second G batch:

    .venv/bin/python -m bench.speed.train_throughput [--filters 64] [--steps 90]
    .venv/bin/python -m bench.speed.train_throughput --filters 32 --set diversity_weight=0
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import ROOT, parser
from bench.settings import parse_setting, train_flags


def bare_step(
    precision_name: str, filters: int, batch: int, size: int, steps: int, settings: dict | None = None
) -> float:
    """Images/s of CondBEGAN.train_step alone (bench.speed.update_step), in a fresh process per precision."""
    cmd = [
        sys.executable,
        "-m",
        "bench.speed.update_step",
        "--precision",
        precision_name,
        "--filters",
        str(filters),
        "--batch",
        str(batch),
        "--image-size",
        str(size),
        "--steps",
        str(steps),
    ]
    for name, value in (settings or {}).items():
        cmd += ["--set", f"{name}={json.dumps(value)}"]
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def end_to_end(precision_name: str, args, images: str, tags_csv: str, workdir: Path) -> float:
    run = workdir / f"run-{precision_name}"
    cmd = [
        sys.executable,
        str(ROOT / "train.py"),
        "--images",
        images,
        "--tags-csv",
        tags_csv,
        "--run-dir",
        str(run),
        "--filters",
        str(args.filters),
        "--batch-size",
        str(args.batch),
        "--image-size",
        str(args.size),
        "--steps",
        str(args.steps),
        "--precision",
        precision_name,
        "--no-progress",
        "--cache-dir",
        str(workdir / "cache"),
        "--holdout",
        "0.1",
    ]
    cmd += train_flags(dict(args.set))
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    with open(run / "metrics.csv") as fh:
        rows = [r for r in csv.DictReader(fh) if r["images_per_s"] and int(r["step"]) > args.warmup]
    # steady state: skip the window that contains the export at the very end
    rates = [float(r["images_per_s"]) for r in rows[:-1]] or [float(r["images_per_s"]) for r in rows]
    return sum(rates) / len(rates)


def main() -> None:
    p = parser(__doc__, __spec__)
    p.add_argument("--filters", type=int, default=64)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument(
        "--image-size", "--size", dest="size", type=int, default=64, help="image size (default 64)"
    )
    p.add_argument("--steps", type=int, default=90, help="train.py steps (>= warmup + 50)")
    p.add_argument("--warmup", type=int, default=30)
    p.add_argument("--bare-steps", type=int, default=20)
    p.add_argument("--images", default=None)
    p.add_argument("--tags-csv", default=None)
    p.add_argument("--precisions", default="fp32,bf16")
    p.add_argument(
        "--set",
        type=parse_setting,
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a TrainConfig field (JSON value) for both measurements, e.g. diversity_weight=0",
    )
    args = p.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        images, tags_csv = args.images, args.tags_csv
        if not images:
            from preprocess.synthetic import write_synthetic_set

            write_synthetic_set(tmp / "faces", 3, size=args.size, seed=0)
            images, tags_csv = str(tmp / "faces" / "images"), str(tmp / "faces" / "tags_2018.csv")
        results = {}
        for p in args.precisions.split(","):
            t0 = time.perf_counter()
            bare = bare_step(p, args.filters, args.batch, args.size, args.bare_steps, dict(args.set))
            e2e = end_to_end(p, args, images, tags_csv, tmp)
            results[p] = (e2e, bare)
            print(
                f"{p}: train.py end to end {e2e:.2f} img/s, bare step {bare:.2f} img/s, "
                f"ratio {e2e / bare:.2f} (n={args.filters}, batch {args.batch}, {args.size}x{args.size}"
                + "".join(f", {k}={v}" for k, v in args.set)
                + "; "
                f"{time.perf_counter() - t0:.0f} s)",
                flush=True,
            )
        if "fp32" in results and "bf16" in results:
            print(f"bf16 / fp32 (bare step): {results['bf16'][1] / results['fp32'][1]:.2f}x")


if __name__ == "__main__":
    main()
