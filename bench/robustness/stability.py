"""Stability matrix: short runs over the settings users try; every row must finish.

    .venv/bin/python -m bench.robustness.stability [--steps 300] [--sample 12] [--rows 0,5,17] [--out
    stability.csv]

Rows: filters {32, 64, 128} x auxiliary head {on, off} x mode-seeking term
{on, off} x condition at every scale {on, off} x wrong-condition weight
{1.0, k} x precision {bf16, fp32}, plus the course report's own settings
(n=128, lr 5e-5, gamma 0.4, batch 16, wrong weight k, no extras). Each row
is a real `train.py` run of --steps steps on the real set at 64x64 (the
synthetic faces where ../shared is absent), everything else default. Prints
per row: finished or the step of failure, M averaged over steps 41-60 and
over the last 20 steps, and the final k_t. Target: every row finishes with
finite losses and a lower M at the end than at step 50.
--sample N runs the issue-16 row, the course row and N rows drawn at random
(--seed); --rows picks rows by number (--list shows them).
"""

import csv
import itertools
import subprocess
import sys
import tempfile
from pathlib import Path

from bench import ROOT, real_data
from bench.settings import ROUND2_CONTROL, train_flags

COURSE = {
    **ROUND2_CONTROL,
    "filters": 128,
    "lr": 5e-5,
    "lr_floor": 5e-6,
    "gamma": 0.4,
    "batch_size": 16,
    "wrong_weight": "k",
    "aux_weight": 0.0,
    "diversity_weight": 0.0,
    "projection_weight": 0.0,
    "cond_every_scale": False,
    "precision": "auto",
}


def matrix() -> list[dict]:
    rows = []
    for filters, aux, ms, every, wrong, prec in itertools.product(
        (32, 64, 128), (True, False), (True, False), (True, False), ("1.0", "k"), ("bf16", "fp32")
    ):
        rows.append(
            {
                "filters": filters,
                "aux_weight": 0.2 if aux else 0.0,
                **ROUND2_CONTROL,
                "diversity_weight": 0.05 if ms else 0.0,
                "cond_every_scale": every,
                "wrong_weight": wrong,
                "precision": prec,
            }
        )
    rows.append(COURSE)
    return rows


ISSUE_16_ROW = {
    **ROUND2_CONTROL,
    "filters": 64,
    "aux_weight": 0.0,
    "diversity_weight": 0.0,
    "cond_every_scale": False,
    "wrong_weight": "1.0",
    "precision": "bf16",
}


def label(settings: dict) -> str:
    if settings is COURSE:
        return "course report (n=128, lr 5e-5, gamma 0.4, wrong k)"
    return (
        f"n={settings['filters']} aux={'on' if settings['aux_weight'] else 'off'} "
        f"ms={'on' if settings['diversity_weight'] else 'off'} "
        f"every={'on' if settings['cond_every_scale'] else 'off'} wrong={settings['wrong_weight']} "
        f"{settings['precision']}"
    )


def run_row(settings: dict, images: str, tags_csv: str, steps: int, workdir: Path) -> dict:
    run_dir = workdir / "run"
    cmd = [
        sys.executable,
        str(ROOT / "train.py"),
        "--images",
        images,
        "--tags-csv",
        tags_csv,
        "--steps",
        str(steps),
        "--log-every",
        "1",
        "--checkpoint-every",
        str(steps),
        "--no-progress",
        "--run-dir",
        str(run_dir),
        *train_flags(settings),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True)
    rows = list(csv.DictReader(open(run_dir / "metrics.csv"))) if (run_dir / "metrics.csv").exists() else []
    m = [(int(r["step"]), float(r["M"])) for r in rows if r["M"]]
    early = [v for s, v in m if 41 <= s <= 60]
    late = [v for s, v in m[-20:]]
    result = {
        "row": label(settings),
        "exit": done.returncode,
        "finished": done.returncode == 0 and bool(m) and m[-1][0] >= steps,
        "last_step": m[-1][0] if m else 0,
        "M_50": sum(early) / len(early) if early else float("nan"),
        "M_end": sum(late) / len(late) if late else float("nan"),
        "k_end": float(rows[-1]["k"]) if rows else float("nan"),
        "error": done.stderr.strip().splitlines()[-1][:200] if done.returncode else "",
    }
    result["M_fell"] = result["M_end"] < result["M_50"]
    return result


def main():
    p = real_data.parser(__doc__, __spec__)
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--sample", type=int, default=0, help="random rows besides the issue-16 and course rows")
    p.add_argument("--rows", default="", help="comma-separated row numbers (see --list)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--list", action="store_true")
    p.add_argument("--out", default=None, help="also write the table as CSV here")
    args = p.parse_args()
    import numpy as np

    rows = matrix()
    if args.list:
        for i, r in enumerate(rows):
            print(i, label(r))
        return 0
    images, tags_csv = args.images, args.tags_csv
    tmp = Path(tempfile.mkdtemp(prefix="stability-"))
    if not Path(tags_csv).exists():
        from preprocess.synthetic import write_synthetic_set

        print("real set not found: using 480 synthetic 64x64 faces", file=sys.stderr)
        write_synthetic_set(tmp / "faces", 4, size=64, seed=0, formats=("2018",))
        images, tags_csv = str(tmp / "faces" / "images"), str(tmp / "faces" / "tags_2018.csv")
    if args.rows:
        chosen = [int(i) for i in args.rows.split(",")]
    elif args.sample:
        rng = np.random.default_rng(args.seed)
        chosen = sorted(
            {
                rows.index(ISSUE_16_ROW),
                len(rows) - 1,
                *rng.choice(len(rows) - 1, args.sample, replace=False).tolist(),
            }
        )
    else:
        chosen = list(range(len(rows)))
    print(f"{'row':>3}  {'settings':<58} {'result':<12} {'M@50':>7} {'M end':>7} {'k end':>7}  M fell")
    results = []
    for i in chosen:
        r = run_row(rows[i], images, tags_csv, args.steps, Path(tempfile.mkdtemp(dir=tmp)))
        results.append({"index": i} | r)
        status = "finished" if r["finished"] else f"failed @{r['last_step']}"
        print(
            f"{i:3d}  {r['row']:<58} {status:<12} {r['M_50']:7.4f} {r['M_end']:7.4f} {r['k_end']:7.4f}  "
            f"{'yes' if r['M_fell'] else 'NO'}" + (f"  ({r['error']})" if r["error"] else ""),
            flush=True,
        )
    if args.out:
        with open(args.out, "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(results[0]), lineterminator="\n")
            writer.writeheader()
            writer.writerows(results)
    ok = all(r["finished"] and r["M_fell"] for r in results)
    print(
        f"{sum(r['finished'] for r in results)}/{len(results)} rows finished; "
        f"{sum(r['M_fell'] for r in results)}/{len(results)} with M lower at the end than at step 50"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
