"""python -m report RUN_DIR: build RUN_DIR/report/report.html and report.md offline."""
import argparse
import sys

from common.cli import ArgumentParser, DefaultsHelpFormatter, exit_on_user_error
from common.quiet import quiet_libraries
from report.build import build_report


@exit_on_user_error
def main(argv=None) -> int:
    p = ArgumentParser(prog="python -m report", description=__doc__,
                                formatter_class=DefaultsHelpFormatter)
    p.add_argument("run_dir", help="a training run directory")
    p.add_argument("--no-grade", action="store_true",
                   help="skip the graded grid even when a tag checker is beside the model")
    p.add_argument("--verbose", action="store_true",
                   help="also show TensorFlow's and LiteRT's logs (or set TAGFACE_VERBOSE=1)")
    args = p.parse_args(argv)
    quiet_libraries(args.verbose)  # before TensorFlow is imported
    path = build_report(args.run_dir, check_tags=not args.no_grade)
    print(f"wrote {path} and {path.with_suffix('.md')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
