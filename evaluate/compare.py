"""Compare training runs on the checker's metrics (not by eye).

    python -m evaluate.compare RUN [RUN ...] --checker DIR --images DIR --tags-csv CSV [--out table.md]

Each run's latest checkpoint is exported (RUN/export) and scored with
evaluate.metrics; the table lists steps, wall time, images/s and the metrics.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

from checker.checker import load_checker
from common.cli import ArgumentParser, ExamplesHelpFormatter, exit_on_user_error
from common.quiet import quiet_libraries
from evaluate.metrics import data_for, evaluate_generator, write_results
from model.config import TrainConfig
from model.run_folder import EXPORT_DIR
from sampling.export import export_run
from sampling.runtime import load_generator

COLUMNS = [
    "run",
    "step",
    "minutes",
    "images_per_s",
    "acc_hair",
    "acc_eyes",
    "diversity_ratio",
    "frechet_generated_vs_real",
    "frechet_real_vs_real",
]


def training_facts(run_dir: Path) -> dict:
    """Step, training minutes and mean images/s from metrics.csv."""
    with open(run_dir / "metrics.csv", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r.get("images_per_s")]
    rates = [float(r["images_per_s"]) for r in rows[1:]] or [0.0]
    step = int(rows[-1]["step"]) if rows else 0
    mean_rate = sum(rates) / len(rates)
    batch = TrainConfig.load(run_dir).batch_size
    minutes = step * batch / mean_rate / 60 if mean_rate else 0.0
    return {"step": step, "minutes": round(minutes, 1), "images_per_s": round(mean_rate, 1)}


@exit_on_user_error
def main(argv=None) -> int:
    p = ArgumentParser(
        prog="python -m evaluate.compare", description=__doc__, formatter_class=ExamplesHelpFormatter
    )
    p.add_argument("runs", nargs="+", help="training run directories")
    p.add_argument("--checker", required=True, help="the tag checker folder that judges every run")
    p.add_argument("--images", required=True, help="the image folder the runs were trained on")
    p.add_argument("--tags-csv", required=True, help="its tag CSV")
    p.add_argument("--n-per-combo", type=int, default=4, help="samples per hair x eye combination")
    p.add_argument("--out", default=None, help="also write the table as markdown here")
    p.add_argument("--no-export", action="store_true", help="score the existing RUN/export as it is")
    args = p.parse_args(argv)
    quiet_libraries()  # before TensorFlow is imported (TAGFACE_VERBOSE=1 shows its logs)
    checker = load_checker(args.checker)
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for run_dir in map(Path, args.runs):
        if not args.no_export:
            export_run(run_dir)
        generator = load_generator(run_dir / EXPORT_DIR)
        data = data_for(generator, args.images, args.tags_csv)
        result = evaluate_generator(generator, checker, data, n_per_combo=args.n_per_combo)
        facts = training_facts(run_dir)
        write_results(run_dir, result, facts["step"])
        row = {"run": run_dir.name} | facts | result
        lines.append("| " + " | ".join(str(row.get(c, "")) for c in COLUMNS) + " |")
        print(lines[-1], flush=True)
    table = "\n".join(lines) + "\n"
    print(table)
    if args.out:
        Path(args.out).write_text(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
