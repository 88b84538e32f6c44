"""python -m report RUN_DIR: build RUN_DIR/report/report.html and report.md offline.
python -m report RUN_A RUN_B ... (runs that differ in gamma, e.g. bench/quality/gamma_sweep.py's): the
sweep page,
one row of faces per gamma with the same noise and tags, and each run's equilibrium and quality figures."""

import sys
from pathlib import Path

from common.cli import ArgumentParser, DefaultsHelpFormatter, exit_on_user_error
from common.quiet import quiet_libraries
from report.build import build_report
from report.sweep import build_sweep_report


@exit_on_user_error
def main(argv=None) -> int:
    p = ArgumentParser(prog="python -m report", description=__doc__, formatter_class=DefaultsHelpFormatter)
    p.add_argument(
        "run_dirs",
        nargs="+",
        metavar="RUN_DIR",
        help="a training run directory (several: the gamma sweep page)",
    )
    p.add_argument(
        "--out", default=None, help="folder of the sweep page (default: the first run's parent /sweep-report)"
    )
    p.add_argument(
        "--no-grade",
        action="store_true",
        help="skip the graded grid even when a tag checker is beside the model",
    )
    p.add_argument(
        "--verbose",
        action="store_true",
        help="also show TensorFlow's and LiteRT's logs (or set TAGFACE_VERBOSE=1)",
    )
    args = p.parse_args(argv)
    quiet_libraries(args.verbose)  # before TensorFlow is imported
    if len(args.run_dirs) > 1:
        out = Path(args.out) if args.out else Path(args.run_dirs[0]).resolve().parent / "sweep-report"
        path = build_sweep_report(args.run_dirs, out)
    else:
        path = build_report(args.run_dirs[0], check_tags=not args.no_grade)
    print(f"wrote {path} and {path.with_suffix('.md')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
