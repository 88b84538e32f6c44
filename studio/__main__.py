"""python -m studio [--model DIR] [--port 8765] [--host 127.0.0.1]"""

import argparse
import sys

from common.cli import ArgumentParser, DefaultsHelpFormatter
from studio.server import DEFAULT_PORT, ROOT, serve


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
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help="port; 0 = any free port")
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on; 127.0.0.1 is this machine only, 0.0.0.0 the network",
    )
    p.add_argument("--root", default=ROOT, help=argparse.SUPPRESS)  # another project folder (tests)
    args = p.parse_args(argv)
    return serve(args.model, args.host, args.port, args.root)


if __name__ == "__main__":
    sys.exit(main())
