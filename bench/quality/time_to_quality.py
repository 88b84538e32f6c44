"""CPU-hours until a run first reached each quality target, from its evaluation log.

    .venv/bin/python -m bench.quality.time_to_quality RUN [RUN ...]

Reads RUN/eval.csv (written by train.py --eval-every N --checker DIR; each row
carries the run's CPU time so far, over every sitting) and prints, per run,
the CPU-hours (and step) at which the course baseline first passed (>= 20
faces on a 5x5 grid of samples) and each target of bench/quality/default_model.py
was first met (round 3, issue 21: face rate >= 0.95, hair and eyes >= 0.95,
Frechet <= 16.5, diversity >= 0.76 x real; --targets round2 for issue 11's
0.85, 0.95, 0.80, 40, 0.7); and when they were all met together (the
18-of-20 random grids target is not in eval.csv: bench/quality/default_model.py
measures it). Then the evaluation with the lowest Frechet distance and the one with
the lowest KID, each with its KID (spread, real-vs-real floor) and sharpness
beside its Frechet, and the evaluations within one KID spread of the lowest (KID
cannot tell those apart): the checkpoints to choose from (export.py RUN --step N).
These are the checker's figures at the evaluation seed: confirm a chosen
checkpoint with bench/quality/default_model.py at another.
"""

import csv
import sys
from pathlib import Path

from bench import parser
from bench.quality.default_model import TARGET_SETS, met
from evaluate.metrics import fidelity_text, finite

EVAL_COLUMN = {"testing_grid_faces": "baseline_faces"}  # eval.csv's 5x5 grid of the evaluation
SHORT = {
    "face_rate": "face rate",
    "acc_hair": "hair",
    "acc_eyes": "eyes",
    "frechet_generated_vs_real": "Frechet",
    "diversity_ratio": "diversity",
}


def _label(name: str, target, higher: bool) -> str:
    if name == "testing_grid_faces":
        return f"baseline passed (>= {target} faces)"
    return f"{SHORT[name]} {'>=' if higher else '<='} {target:g}" + (
        " x real" if name == "diversity_ratio" else ""
    )


def eval_targets(which: str = "round3") -> list[tuple]:
    """Every target of bench/quality/default_model.py's set that eval.csv records (not the 20 random
    grids)."""
    return [
        (_label(name, target, higher), EVAL_COLUMN.get(name, name), target, higher)
        for name, target, higher in TARGET_SETS[which]
        if name != "grids_passed"
    ]


ALL_TARGETS = "every target at once (of these)"


def _meets(row: dict, column: str, target, higher: bool) -> bool:
    try:
        return met(float(row[column]), target, higher)
    except (KeyError, TypeError, ValueError):
        return False


def first_met(rows: list[dict], which: str = "round3") -> dict[str, tuple[float, int] | None]:
    """{target: (cpu_hours, step) of the first evaluation that met it, or None}; ALL_TARGETS is
    the first evaluation that met them all together (a target met once may be lost later)."""
    targets = eval_targets(which)
    checks = [(name, lambda row, t=target: _meets(row, *t)) for name, *target in targets]
    checks.append((ALL_TARGETS, lambda row: all(_meets(row, *t) for _, *t in targets)))
    out = {}
    for name, check in checks:
        hit = next((row for row in rows if check(row)), None)
        out[name] = None if hit is None else (float(hit["cpu_seconds"]) / 3600, int(float(hit["step"])))
    return out


def lowest(rows: list[dict], column: str) -> dict | None:
    """The evaluation with the lowest `column` (a checkpoint chosen by it); None when no row has it
    (an eval.csv from before KID)."""
    scored = [(finite(row.get(column)), k) for k, row in enumerate(rows)]
    scored = [(value, k) for value, k in scored if value is not None]
    return rows[min(scored)[1]] if scored else None


def within_kid_spread(rows: list[dict], best: dict) -> list[dict]:
    """The evaluations whose KID is within the lowest's standard deviation over subsets of it."""
    bar = finite(best.get("kid_generated_vs_real")) + (finite(best.get("kid_generated_vs_real_std")) or 0.0)
    return [row for row in rows if (finite(row.get("kid_generated_vs_real")) or float("inf")) <= bar]


def choice_lines(rows: list[dict]) -> list[str]:
    """The evaluation of the lowest Frechet and that of the lowest KID, each figure beside the other."""
    lines = []
    for label, column in (
        ("lowest Frechet", "frechet_generated_vs_real"),
        ("lowest KID", "kid_generated_vs_real"),
    ):
        best = lowest(rows, column)
        if best is None:
            continue
        cpu = finite(best.get("cpu_seconds"))
        where = f"step {best['step']}" + (f" ({cpu / 3600:.2f} CPU-hours)" if cpu is not None else "")
        figures = f"Frechet {best.get('frechet_generated_vs_real', '-')}; {fidelity_text(best) or 'no KID'}"
        lines.append(f"  {label:<32} {where}: {figures}")
        if column == "kid_generated_vs_real":
            steps = ", ".join(str(row["step"]) for row in within_kid_spread(rows, best))
            lines.append(f"  {'  within its KID spread':<32} steps {steps}")
    return lines


def main(argv=None) -> int:
    p = parser(__doc__, __spec__)
    p.add_argument("runs", nargs="+", metavar="RUN")
    p.add_argument(
        "--targets",
        choices=sorted(TARGET_SETS),
        default="round3",
        help="round3: issue 21's; round2: issue 11's (default: round3)",
    )
    args = p.parse_args(argv)
    status = 0
    for run in args.runs:
        path = Path(run) / "eval.csv"
        if not path.exists():
            print(f"error: {path} not found (train with --eval-every N --checker DIR)", file=sys.stderr)
            status = 2
            continue
        with open(path, newline="") as fh:
            rows = list(csv.DictReader(fh))
        timed = [r for r in rows if r.get("cpu_seconds")]
        last = timed[-1] if timed else None
        print(
            f"{run}: {len(rows)} evaluations"
            + (
                f", {float(last['cpu_seconds']) / 3600:.2f} CPU-hours to step {last['step']}"
                if last
                else ", none with CPU time"
            )
        )
        for name, hit in first_met(timed, args.targets).items():
            print(f"  {name:<32} " + (f"{hit[0]:.2f} CPU-hours (step {hit[1]})" if hit else "not yet"))
        for line in choice_lines(rows):
            print(line)
    return status


if __name__ == "__main__":
    sys.exit(main())
