"""python -m report RUN_DIR: build RUN_DIR/report/report.html and report.md offline."""
import argparse
import sys


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m report", description=__doc__)
    p.add_argument("run_dir", help="a training run directory")
    args = p.parse_args(argv)
    from report.build import ReportError, build_report

    try:
        path = build_report(args.run_dir)
    except (ReportError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {path} and {path.with_suffix('.md')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
