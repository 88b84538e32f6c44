#!/usr/bin/env python3
"""Export a trained run as a model folder for generate.py: Keras weights +
config + vocab + TFLite of G (its moving average when the run keeps one) and
of D's autoencoder (for --best-of), and the tag checker beside them when asked.

    python export.py RUN_DIR [--out DIR] [--checker CHECKER_DIR]
    python export.py runs/default --out models/default --checker runs/checker

writes RUN_DIR/export/ (or DIR) from the run's latest checkpoint (or --step N's), plus the
tag checker's files when --checker is given (so --grade works with the
model alone). The same layout is the bundled models/default/.
"""

from __future__ import annotations

import sys

from common.env import require_packages

require_packages("export.py")  # one line, not a traceback, outside .venv

from checker.checker import copy_checker, copy_run_checker
from common.cli import ArgumentParser, ExamplesHelpFormatter, exit_on_user_error
from common.quiet import quiet_libraries
from model.config import TrainConfig
from sampling.export import export_run


@exit_on_user_error
def main(argv=None) -> int:
    parser = ArgumentParser(prog="export.py", description=__doc__, formatter_class=ExamplesHelpFormatter)
    parser.add_argument("run_dir", help="a training run directory")
    parser.add_argument("--out", default=None, help="output folder (default: RUN_DIR/export)")
    parser.add_argument(
        "--checker",
        default=None,
        help="copy this tag checker (checker.json, .tflite, "
        ".weights.h5) beside the generator (default: the "
        "run's own RUN/checker, else the one it trained "
        "with, if any)",
    )
    parser.add_argument(
        "--step",
        type=int,
        default=None,
        help="export the checkpoint of this step (one the run kept; default: the latest)",
    )
    parser.add_argument(
        "--no-ema",
        action="store_true",
        help="export G's raw weights, not their moving average (runs trained with --ema-decay)",
    )
    parser.add_argument(
        "--verbose",
        action="store_true",
        help="also show TensorFlow's and the TFLite converter's logs (or set TAGFACE_VERBOSE=1)",
    )
    args = parser.parse_args(argv)
    quiet_libraries(args.verbose)  # before TensorFlow is imported
    # the checker given, else the run's own (RUN/checker) or the one it trained with (--checker), so that
    # --grade works out of the box;
    # copied into the new export before it is swapped in, so the folder is whole or untouched
    run_config = TrainConfig.load(args.run_dir)
    finish = (
        (lambda folder: copy_checker(args.checker, folder))
        if args.checker
        else (lambda folder: copy_run_checker(run_config, folder, args.run_dir))
    )
    out = export_run(args.run_dir, args.out, use_ema=not args.no_ema, step=args.step, finish=finish)
    print(f"exported to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
