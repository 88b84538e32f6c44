#!/usr/bin/env python3
"""Train a conditional BEGAN on a folder of images and a tag CSV.

    python train.py --images DIR --tags-csv tags.csv --run-dir runs/mine
    python train.py --run-dir runs/mine --resume             # after a stop, a kill or Ctrl-C
    python train.py --images DIR --tags-csv new.csv --init-from models/default --run-dir runs/tuned
    python train.py ... --eval-every 1000 --checker models/default   # quality metrics into RUN/eval.csv

Every setting is a field of model.config.TrainConfig, which carries its flag's
help text and group; the flags below are generated from it. Exit status: 0
done, 2 a user error (one line on stderr), 3 the losses diverged, 128+N
stopped by signal N (a checkpoint was written; continue with --resume).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from common.env import require_packages

require_packages("train.py")  # one line, not a traceback, outside .venv

from common.cli import ArgumentParser, ExamplesHelpFormatter, UserError, exit_on_user_error, number
from common.quiet import quiet_libraries
from model.config import OPTIMISATION, ConfigError, TrainConfig
from model.precision import limit_threads
from model.run_folder import check_run_dir, default_run_dir


def _bool(text: str) -> bool:
    if text.lower() in ("1", "true", "yes", "on"):
        return True
    if text.lower() in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected on/off, not {text!r}")


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog="train.py",
        description=__doc__,
        formatter_class=ExamplesHelpFormatter,
        epilog="Resume a stopped run with --run-dir RUN --resume; watch it with tensorboard --logdir runs/.",
    )
    run = parser.add_argument_group("run")
    run.add_argument("--run-dir", default=None, help="run directory").shown_default = "runs/<date-time>"
    run.add_argument(
        "--resume", action="store_true", help="continue the run in --run-dir from its latest checkpoint"
    )
    run.add_argument(
        "--config",
        default=None,
        metavar="CONFIG_JSON",
        help="start from another run's settings (its config.json or run folder); flags given "
        "beside it override them",
    )
    run.add_argument(
        "--init-from",
        default=None,
        metavar="RUN_OR_MODEL",
        help="start from another run's or an exported model's weights (fine-tuning)",
    )
    run.add_argument("--no-progress", action="store_true", help="no progress bar")
    run.add_argument(
        "--verbose", action="store_true", help="also show TensorFlow's own logs (or set TAGFACE_VERBOSE=1)"
    )
    defaults = TrainConfig()
    groups = {}
    for f in TrainConfig.flag_fields():
        if f.metadata["group"] not in groups:
            groups[f.metadata["group"]] = parser.add_argument_group(f.metadata["group"])
        group = groups[f.metadata["group"]]
        default = getattr(defaults, f.name)
        kind = _bool if isinstance(default, bool) else type(default)
        action = group.add_argument(
            "--" + f.name.replace("_", "-"),
            dest=f.name,
            type=kind,
            default=None,
            metavar="ON|OFF" if kind is _bool else None,
            choices=f.metadata["choices"] or None,
            help=f.metadata["help"],
        )
        # default None tells "not given" (so --resume keeps the run's value); --help shows the real one
        action.shown_default = f.metadata["shown_default"] or default
    groups[OPTIMISATION].add_argument(
        "--threads", type=int, default=0, help="CPU threads for TensorFlow ops (0: all cores)"
    )
    run.add_argument(
        "--check",
        action="store_true",
        help="check the flags, the data paths and the run folder, print the settings, and stop "
        "(nothing is written)",
    )
    return parser


def config_from_args(args: argparse.Namespace, recorded: TrainConfig | None = None) -> TrainConfig:
    """The run's settings, checked (a TrainConfig checks itself when made): the flags given over
    the defaults, or over the resumed run's config.json, `recorded` (read here when not given;
    only settings --resume may change)."""
    given = {
        f.name: getattr(args, f.name)
        for f in TrainConfig.flag_fields()
        if getattr(args, f.name, None) is not None
    }
    if args.resume:
        recorded = recorded or TrainConfig.load(Path(args.run_dir))
        return recorded.resumed_with(given, str(Path(args.run_dir) / "config.json"))
    base = TrainConfig.load(Path(args.config)) if args.config else TrainConfig()
    if 0 < base.small_data_gamma == base.gamma != TrainConfig().gamma:
        # that run's gamma was its small set's, not chosen: worked out again for this run's data
        base = dataclasses.replace(base, gamma=TrainConfig().gamma)
    if "gamma" in given and "small_data_gamma" not in given:  # the gamma asked for is the one trained at
        given["small_data_gamma"] = 0.0
    if args.init_from:  # the network and its recipe come from the source
        config = TrainConfig.fine_tuned_from(
            TrainConfig.load(Path(args.init_from)), base, given, args.init_from
        )
    else:
        config = dataclasses.replace(base, **given)
    if not config.images or not config.tags_csv:
        raise ConfigError("--images and --tags-csv are required (unless --resume)")
    return config


def check_paths(args: argparse.Namespace, config: TrainConfig) -> None:
    """The data, the run folder and --threads, checked before TensorFlow loads (nothing is written)."""
    if not 0 <= args.threads <= 4096:
        raise ConfigError(f"--threads must be between 0 and 4096, not {args.threads}")
    if config.images and not Path(config.images).is_dir():
        raise ConfigError(f"image folder {config.images} does not exist (--images)")
    if config.tags_csv and not Path(config.tags_csv).is_file():
        raise ConfigError(f"tag CSV {config.tags_csv} does not exist (--tags-csv)")
    if args.run_dir and Path(args.run_dir).exists() and not Path(args.run_dir).is_dir():
        raise ConfigError(f"--run-dir {args.run_dir} is a file, not a folder")
    if args.init_from and not (Path(args.init_from) / "config.json").is_file():
        raise ConfigError(f"--init-from {args.init_from} is not a run or exported model (no config.json)")


@exit_on_user_error
def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    quiet_libraries(args.verbose)  # before TensorFlow is imported
    if args.resume and not args.run_dir:
        raise UserError("--resume needs --run-dir RUN")
    if args.resume and args.config:
        raise UserError("--resume continues with the run's own config.json; --config starts a new run")
    if args.resume and args.init_from:
        raise UserError("--resume continues the run from its own checkpoint; --init-from starts a new run")
    # A resumed run's config.json is read once, here: the new settings are built over it and the
    # trainer records in stages.csv what changed against it.
    recorded = TrainConfig.load(Path(args.run_dir)) if args.resume else None
    config = config_from_args(args, recorded)
    check_paths(args, config)
    if args.check:  # what the run would refuse, refused now; then what it would use
        run_dir = Path(args.run_dir) if args.run_dir else None
        if run_dir is not None:
            check_run_dir(run_dir, resume=args.resume)
        from preprocess.check import check_data
        from training.plan import check_lines

        data = check_data(config.images, config.tags_csv, config.tag_format)
        print("\n".join(check_lines(config, data, args.init_from, resume=args.resume)))
        print(
            f"run folder: {run_dir or 'a new runs/<date-time>'} ({'resumed' if args.resume else 'new run'})"
        )
        print(config.describe())
        print("settings ok; nothing was written")
        return 0
    # TensorFlow loads here, after the flags are checked: --help and flag errors answer at once
    # (quietly: quiet_libraries() silences its start-up lines at import).
    from checker.checker import copy_run_checker, load_checker
    from training.monitor import training_callbacks
    from training.trainer import Trainer, TrainingDiverged, TrainingInterrupted

    # A missing or broken checker stops the run before its folder or the data cache is touched.
    checker = load_checker(config.checker) if config.eval_every else None
    limit_threads(args.threads)
    trainer = Trainer(
        config,
        Path(args.run_dir) if args.run_dir else default_run_dir(),
        resume=args.resume,
        init_from=args.init_from,
        progress=not args.no_progress,
        callbacks=training_callbacks(config, checker),
        lr_override=args.lr if (args.resume or args.init_from) and args.lr is not None else None,
        recorded=recorded,
    )
    try:
        result = trainer.train()
    except TrainingInterrupted as exc:
        print(str(exc), file=sys.stderr)
        return 128 + exc.signum
    except TrainingDiverged as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    if args.resume and result.start_step >= result.total_steps:
        print(
            f"{result.run_dir} is already trained to step {result.step}, the total it was asked for; "
            "nothing to do. To train further, give a higher total: "
            f"python train.py --run-dir {result.run_dir} "
            f"--resume --steps {result.step * 2}",
            file=sys.stderr,
        )
        return 0
    copy_run_checker(config, result.export_dir, result.run_dir)  # the export grades out of the box
    print(
        f"trained to step {result.step} (epoch {result.epoch}), k={number(result.k)}, "
        f"lr={number(result.lr)}; "
        f"run: {result.run_dir}; exported model: {result.export_dir}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
