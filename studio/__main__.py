"""python -m studio [--model DIR] [--port 8765] [--host 127.0.0.1]"""

import argparse
import sys

from common.cli import ArgumentParser, DefaultsHelpFormatter
from sampling.options import COMMAND_LINE, flag
from studio.server import ROOT, serve


def main(argv=None) -> int:
    p = ArgumentParser(
        prog="python -m studio",
        formatter_class=DefaultsHelpFormatter,
        description="A local web page to make, compare and grade faces.",
    )
    p.add_argument(
        "--model",
        default=None,
        help="model selected first (default: models/default); every "
        "model under models/ and runs/*/export is listed too",
    )
    for name in ("port", "host"):  # generate.py --serve's
        p.add_argument(flag(name), **COMMAND_LINE[name].argparse)
    p.add_argument("--root", default=ROOT, help=argparse.SUPPRESS)  # another project folder (tests)
    args = p.parse_args(argv)
    return serve(args.model, args.host, args.port, args.root)


if __name__ == "__main__":
    sys.exit(main())
