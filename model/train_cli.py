"""Command-line flags of train.py, generated from TrainConfig so that every
setting has exactly one name, one default and one help text."""
from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from model.config import ConfigError, TrainConfig

HELP = {
    "images": "folder of training images",
    "tags_csv": "tag CSV (MLDS-2018 'id,blue hair red eyes', MLDS-2017 'id,tag:count<TAB>...', or a header CSV)",
    "tag_format": "auto | 2018 | 2017 | header",
    "holdout": "fraction kept out of training (stratified by tags; used by the checker and metrics)",
    "condition_mode": "onehot | word2vec condition vectors",
    "top_k": "other (non-colour) tags kept as multi-hot, for tag-rich CSVs",
    "cache_dir": "dataset cache folder (default ~/.cache/tagface or $TAGFACE_CACHE)",
    "image_size": "image size: 32, 64 or 128",
    "filters": "filters n of the first level (grows n, 2n, 3n... in D's encoder)",
    "repeats": "3x3 conv + ELU layers per level",
    "nz": "size of z and of D's bottleneck h (Nz = Nh)",
    "embed_dim": "size of the condition embedding",
    "skip": "skip connections from h0 to every decoder scale",
    "vanishing_residual": "vanishing residual inside each level (carry 1 -> 0)",
    "vanishing_steps": "steps over which the vanishing residual's carry falls to 0",
    "cond_every_scale": "also feed the tiled condition embedding to every decoder scale",
    "cond_augment": "StackGAN conditioning augmentation (c = mu + sigma * eps, KL penalty)",
    "ca_kl_weight": "weight of the conditioning-augmentation KL penalty",
    "gamma": "BEGAN diversity ratio gamma (lower: sharper, less diverse)",
    "lambda_k": "k_t proportional gain lambda_k",
    "wrong_weight": "weight of the capped wrong-condition term: a number, or k to reuse k_t",
    "wrong_cap": "cap of the wrong-condition loss, in multiples of L(x)",
    "oob_weight": "weight of the out-of-bound pixel penalty on G's output",
    "aux_weight": "weight of the auxiliary tag head on D's encoder (0 turns it off)",
    "diversity_weight": "weight of the mode-seeking term (different z, same tags -> different faces; 0 = off)",
    "filter_sd": "real-image filter threshold: previous epoch's mean + this many sd",
    "projection_weight": "weight of the hinge projection head on D's encoder (Miyato & Koyama 2018; 0 = off)",
    "augment": "DiffAugment on everything D sees: translation and/or cutout, comma-separated (none: off)",
    "wrong_warmup": "steps over which the wrong-condition weight ramps from 0 to its value (0: no ramp)",
    "ema_decay": "moving average of G's weights used for samples, evaluation and export (0 = off)",
    "lr_d": "D's own Adam rate (two time-scale update rule); 0 = the same as --lr",
    "batch_size": "global batch size",
    "lr": "Adam learning rate (both networks)",
    "lr_floor": "the learning rate never halves below this",
    "lr_window": "steps per window of the convergence measure M",
    "lr_patience": "windows without a better mean M before the rate halves",
    "beta1": "Adam beta_1",
    "epochs": "epochs to train (ignored when --steps is set)",
    "steps": "total steps to train (0: use --epochs)",
    "seed": "random seed (data order, noise, initial weights)",
    "precision": "auto | fp32 | bf16 (auto: bf16 when the CPU supports it)",
    "strategy": "tf.distribute strategy: default | mirrored | multiworker (reads TF_CONFIG)",
    "sample_every": "extra fixed-noise sample grid every N steps (0: only at epoch ends)",
    "checkpoint_every": "checkpoint every N steps (and at each epoch end)",
    "keep_checkpoints": "how many recent checkpoints to keep",
    "log_every": "write metrics.csv / TensorBoard every N steps",
    "eval_every": "run the quality metrics every N steps into RUN/eval.csv (0: off; needs --checker)",
    "checker": "tag checker folder used by --eval-every",
}
NOT_FLAGS = {"cond_dim", "format_version", "extra"}
# Settings that may change when a run is resumed (everything else is fixed by its config.json).
RESUMABLE = {"epochs", "steps", "checkpoint_every", "keep_checkpoints", "log_every",
             "sample_every", "eval_every", "checker", "cache_dir", "images", "tags_csv", "precision", "strategy",
             "lr", "lr_floor"}  # a new rate replaces the checkpoint's (after a divergence)


def _bool(text: str) -> bool:
    if text.lower() in ("1", "true", "yes", "on"):
        return True
    if text.lower() in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected on/off, not {text!r}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="train.py",
        description="Train a conditional BEGAN on a folder of images and a tag CSV.",
        epilog="Resume a stopped run with --run-dir RUN --resume; watch it with tensorboard --logdir runs/.")
    parser.add_argument("--run-dir", default=None, help="run directory (default runs/<date-time>)")
    parser.add_argument("--resume", action="store_true", help="continue the run in --run-dir from its latest checkpoint")
    parser.add_argument("--init-from", default=None, metavar="RUN_OR_MODEL",
                        help="start from another run's or an exported model's weights (fine-tuning)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--threads", type=int, default=0,
                        help="CPU threads for TensorFlow ops (0: all cores)")
    defaults = TrainConfig()
    groups = {}
    for f in dataclasses.fields(TrainConfig):
        if f.name in NOT_FLAGS:
            continue
        group_name = ("data" if f.name in ("images", "tags_csv", "tag_format", "holdout", "condition_mode",
                                           "top_k", "cache_dir") else
                      "network" if f.name in ("image_size", "filters", "repeats", "nz", "embed_dim", "skip",
                                              "vanishing_residual", "vanishing_steps", "cond_every_scale",
                                              "cond_augment", "ca_kl_weight") else
                      "losses and control" if f.name in ("gamma", "lambda_k", "wrong_weight", "wrong_cap",
                                                         "oob_weight", "aux_weight", "diversity_weight", "filter_sd",
                                                         "projection_weight", "augment", "wrong_warmup",
                                                         "ema_decay") else
                      "logging and checkpoints" if f.name in ("sample_every", "checkpoint_every",
                                                              "keep_checkpoints", "log_every", "eval_every", "checker") else
                      "optimisation")
        group = groups.setdefault(group_name, parser.add_argument_group(group_name))
        default = getattr(defaults, f.name)
        kind = _bool if isinstance(default, bool) else type(default)
        group.add_argument("--" + f.name.replace("_", "-"), dest=f.name, type=kind, default=None,
                           metavar="ON|OFF" if kind is _bool else None,
                           help=f"{HELP.get(f.name, f.name)} (default: {default if default != '' else 'none'})")
    return parser


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    given = {f.name: getattr(args, f.name) for f in dataclasses.fields(TrainConfig)
             if f.name not in NOT_FLAGS and getattr(args, f.name, None) is not None}
    if args.resume:
        config = TrainConfig.load(Path(args.run_dir))
        fixed = sorted(set(given) - RESUMABLE)
        if fixed:
            raise ConfigError(f"--resume keeps the run's settings; these cannot change: "
                              f"{', '.join('--' + n.replace('_', '-') for n in fixed)}")
        return dataclasses.replace(config, **given).validate()
    config = dataclasses.replace(TrainConfig(), **given).validate()
    if not config.images or not config.tags_csv:
        raise ConfigError("--images and --tags-csv are required (unless --resume)")
    return config


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from model.run_dir import RunDirError, default_run_name

    if args.resume and not args.run_dir:
        print("error: --resume needs --run-dir RUN", file=sys.stderr)
        return 2
    try:
        config = config_from_args(args)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    run_dir = Path(args.run_dir or Path("runs") / default_run_name())
    from model.precision import limit_threads

    limit_threads(args.threads)

    from model.runtime import ModelError
    from model.trainer import Trainer, TrainingDiverged, TrainingInterrupted
    from tags import TagError

    try:
        lr_override = args.lr if args.resume and args.lr is not None else None
        result = Trainer(config, run_dir, resume=args.resume, init_from=args.init_from,
                         progress=not args.no_progress, lr_override=lr_override).run()
    except (RunDirError, ConfigError, TagError, ModelError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except TrainingInterrupted as exc:
        print(str(exc), file=sys.stderr)
        return 128 + exc.signum
    except TrainingDiverged as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    print(f"trained to step {result.step} (epoch {result.epoch}), k={result.k:.4f}, lr={result.lr:.2e}; "
          f"run: {result.run_dir}" + (f"; exported model: {result.export_dir}" if result.export_dir else ""))
    return 0
