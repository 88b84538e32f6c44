"""Training settings compared at equal CPU time on the real set, then scored.

    .venv/bin/python -m bench.quality.compare_equal_cpu --out runs/cmp --cpu-minutes 30 [--start RUN]
    [--no-score] \\
        --variant base= --variant proj="--projection-weight 0.1 --aux-weight 0" [--parallel 2] [--threads 1]

Each variant is a real `train.py` run (run folder OUT/NAME; an existing one is
resumed, so a comparison can be extended in a later sitting). It is stopped
with SIGTERM (a checkpoint is written) once the process has used the CPU
budget (user + system time of all its threads, read from /proc), so runs
made side by side or one after another get the same CPU time. Then each is
exported (G's moving average, and the raw G when the run keeps an average)
and scored: `evaluate.metrics` (checker accuracy, per-image face rate,
within-tag diversity, Frechet in checker features; --n-per-combo samples per
pair, noise --score-seed), and the course baseline (evaluate.baseline) on
samples/cgan.png of `./run.sh testing_tags.txt --seed S` and on --grids 5x5
grids of random pairs and seeds (bench/default_model.baseline_grids; before
commit 7956ff6 the testing grid came from `generate.py --n 1`, other noise).
Prints a Markdown table and writes OUT/comparison.csv.
"""

import csv
import json
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from bench import ROOT, cpu_seconds, real_data
from bench.quality.default_model import baseline_grids

PY = sys.executable


def prepare_start(start: Path, run_dir: Path) -> None:
    """A copy of a start run (config, vocab, checkpoints, logs) without its exports or reports, so
    several variants continue from one state; an existing copy is left as it is (resumed)."""
    if run_dir.exists():
        return
    shutil.copytree(
        start, run_dir, ignore=shutil.ignore_patterns("export*", "report", ".lock", "cpu_seconds.txt")
    )


def start(name: str, flags: str, args) -> tuple:
    run_dir = Path(args.out) / name
    if (run_dir / "checkpoints").is_dir():
        cmd = [
            PY,
            str(ROOT / "train.py"),
            "--run-dir",
            str(run_dir),
            "--resume",
            "--no-progress",
            "--threads",
            str(args.threads),
            *shlex.split(flags),
        ]  # a stage may change resumable settings
    else:
        cmd = [
            PY,
            str(ROOT / "train.py"),
            "--images",
            args.images,
            "--tags-csv",
            args.tags_csv,
            "--run-dir",
            str(run_dir),
            "--steps",
            "10000000",
            "--no-progress",
            "--threads",
            str(args.threads),
            "--checkpoint-every",
            "500",
            *shlex.split(flags),
        ]
    spent = (
        float((run_dir / "cpu_seconds.txt").read_text()) if (run_dir / "cpu_seconds.txt").exists() else 0.0
    )
    log = open(Path(args.out) / f"{name}.log", "a")
    return name, subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT), spent, run_dir


def train_all(variants: dict, args) -> dict:
    """Run the variants, at most --parallel at once, each to the CPU budget."""
    budget = args.cpu_minutes * 60
    pending = list(variants.items())
    running, used = [], {}
    while pending or running:
        while pending and len(running) < args.parallel:
            running.append(start(*pending.pop(0), args))
        time.sleep(5)
        for item in list(running):
            name, proc, spent, run_dir = item
            if proc.poll() is None:
                try:
                    now = spent + cpu_seconds(proc.pid)
                except (FileNotFoundError, ProcessLookupError):
                    continue
                if now >= budget:
                    proc.send_signal(signal.SIGTERM)
                    proc.wait()
                    used[name] = now
            else:
                used.setdefault(name, spent)  # ended by itself (or failed: see OUT/NAME.log)
            if proc.poll() is not None:
                (run_dir / "cpu_seconds.txt").write_text(f"{used[name]:.1f}\n")
                running.remove(item)
                print(
                    f"{name}: stopped after {used[name] / 60:.1f} CPU-minutes (exit {proc.returncode})",
                    file=sys.stderr,
                    flush=True,
                )
    return used


def score(name: str, run_dir: Path, args) -> list[dict]:
    rows = []
    config = json.loads((run_dir / "config.json").read_text())
    exports = [("ema", [])] if config.get("ema_decay", 0) > 0 else []
    exports.append(("raw", ["--no-ema"]) if exports else ("raw", []))
    step = max(int(p.stem.split("-")[1]) for p in (run_dir / "checkpoints").glob("ckpt-*.index"))
    for kind, extra in exports:
        out = run_dir / f"export-{kind}"
        subprocess.run(
            [PY, str(ROOT / "export.py"), str(run_dir), "--out", str(out), "--checker", args.checker, *extra],
            check=True,
            capture_output=True,
            cwd=ROOT,
        )
        subprocess.run(
            [
                PY,
                "-m",
                "evaluate.metrics",
                str(out),
                "--images",
                args.images,
                "--tags-csv",
                args.tags_csv,
                "--n-per-combo",
                str(args.n_per_combo),
                "--seed",
                str(args.score_seed),
                "--step",
                str(step),
            ],
            check=True,
            capture_output=True,
            cwd=ROOT,
        )
        metrics = json.loads((out / "metrics.json").read_text())
        grids = baseline_grids(out, args.score_seed, args.grids, [])
        testing, passed, tried = grids["testing_grid_faces"], grids["grids_passed"], grids["grids_tried"]
        rows.append(
            {
                "variant": name,
                "weights": kind,
                "step": step,
                **{
                    k: metrics.get(k)
                    for k in (
                        "acc_hair",
                        "acc_eyes",
                        "face_rate",
                        "diversity_ratio",
                        "frechet_generated_vs_real",
                    )
                },
                "testing_grid_faces": testing,
                "grids_passed": f"{passed}/{tried}",
            }
        )
    return rows


def main():
    p = real_data.parser(__doc__, __spec__)
    p.add_argument("--out", required=True, help="folder of the runs (one per variant)")
    p.add_argument("--variant", action="append", default=[], metavar='NAME="FLAGS"')
    p.add_argument("--cpu-minutes", type=float, default=30.0)
    p.add_argument("--parallel", type=int, default=2)
    p.add_argument("--threads", type=int, default=1, help="TensorFlow threads per run")
    p.add_argument("--checker", default=str(ROOT / "models" / "default"))
    p.add_argument("--n-per-combo", type=int, default=4)
    p.add_argument("--score-seed", type=int, default=1)
    p.add_argument("--grids", type=int, default=10)
    p.add_argument("--score-only", action="store_true", help="score the existing runs, train nothing")
    p.add_argument(
        "--start",
        default=None,
        help="run folder every variant continues from (a copy each; "
        "default: every variant trains from scratch)",
    )
    p.add_argument(
        "--no-score", action="store_true", help="train only (e.g. to read the equilibrium figures)"
    )
    args = p.parse_args()
    variants = dict(v.split("=", 1) for v in args.variant)
    Path(args.out).mkdir(parents=True, exist_ok=True)
    if args.start:
        for name in variants:
            prepare_start(Path(args.start), Path(args.out) / name)
        variants = {name: f"--steps 10000000 {flags}" for name, flags in variants.items()}
    used = {} if args.score_only else train_all(variants, args)
    if args.no_score:
        return 0
    table = []
    for name in variants:
        run_dir = Path(args.out) / name
        cpu = used.get(name) or float((run_dir / "cpu_seconds.txt").read_text())
        for row in score(name, run_dir, args):
            row |= {
                "flags": variants[name],
                "cpu_minutes": round(cpu / 60, 1),
                "images_per_cpu_s": round(
                    row["step"] * json.loads((run_dir / "config.json").read_text())["batch_size"] / cpu, 2
                ),
            }
            table.append(row)
            print("| " + " | ".join(str(v) for v in row.values()) + " |", flush=True)
    with open(Path(args.out) / "comparison.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(table[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(table)
    print("| " + " | ".join(table[0]) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
