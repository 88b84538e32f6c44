"""python -m report RUN_DIR: build RUN_DIR/report/report.html and report.md offline."""
import argparse
import sys

from model.help_format import DefaultsHelpFormatter


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m report", description=__doc__,
                                formatter_class=DefaultsHelpFormatter)
    p.add_argument("run_dir", help="a training run directory")
    p.add_argument("--no-grade", action="store_true",
                   help="skip the graded grid even when a tag checker is beside the model")
    args = p.parse_args(argv)
    from report.build import ReportError, build_report

    try:
        path = build_report(args.run_dir, grade=not args.no_grade)
    except (ReportError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {path} and {path.with_suffix('.md')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
