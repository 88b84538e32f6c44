"""The tag checker: a small CNN that reads hair and eye colour (and other
vocabulary tags) off a face, used to grade sample grids and to measure
tag accuracy, diversity and Frechet distance in its feature space.

    python -m checker train --images DIR --tags-csv CSV --out DIR
    python -m checker eval --checker DIR --images DIR --tags-csv CSV

It trains on the training part of the data pipeline's split (with mirror
flips and checker.degrade's colour-keeping blur, noise, JPEG and shifts, so
that it reads soft generated faces too) and records its accuracy on the
held-out part in checker.json; a checker is only trusted to judge samples once that accuracy
is high enough (see MIN_ACCURACY). The TFLite export lets grading run on the
fast path without importing TensorFlow.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from checker.checker import MIN_ACCURACY, load_checker, save_checker
from checker.training import evaluate, train_checker
from common import jsonio
from common.cli import (
    ArgumentParser,
    DefaultsHelpFormatter,
    ExamplesHelpFormatter,
    UserError,
    exit_on_user_error,
)
from common.quiet import quiet_libraries
from preprocess.cache import build_or_load
from preprocess.spec import DataSpec
from tags.vocab import Vocabulary


def _parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog="python -m checker", description=__doc__, formatter_class=ExamplesHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="train a checker", formatter_class=DefaultsHelpFormatter)
    e = sub.add_parser("eval", help="held-out accuracy of a checker", formatter_class=DefaultsHelpFormatter)
    for p in (t, e):
        p.add_argument("--images", required=True, help="image folder")
        p.add_argument("--tags-csv", required=True, help="tag CSV (any supported format)")
        p.add_argument(
            "--tag-format",
            default="auto",
            choices=["auto", "2018", "2017", "header"],
            help="tag CSV format (auto: detected from its first line)",
        )
        p.add_argument("--holdout", type=float, default=0.1, help="held-out fraction (use the model's)")
        p.add_argument(
            "--cache-dir",
            default=None,
            help="dataset cache folder (default: $TAGFACE_CACHE, else ~/.cache/tagface)",
        )
        p.add_argument("--seed", type=int, default=0, help="split and training seed")
    t.add_argument(
        "--duplicates",
        default="group",
        choices=["group", "drop", "ignore"],
        help="near-duplicate images: each group on one side of the split, one image kept, or split "
        "by id (as before this setting)",
    )
    e.add_argument(
        "--duplicates",
        default=None,
        choices=["group", "drop", "ignore"],
        help="near-duplicate handling of the split (default: the checker's own, from checker.json; "
        "ignore for checkers trained before the setting, such as the bundled one)",
    )
    t.add_argument(
        "--out",
        default="checker",
        help="folder for checker.json / .weights.h5 / .tflite (e.g. a model's export/ folder)",
    )
    t.add_argument("--vocab", default=None, help="use this vocab.json (the model's) for the data")
    t.add_argument("--epochs", type=int, default=4, help="passes over the training images")
    t.add_argument("--batch-size", type=int, default=64, help="images per step")
    t.add_argument("--image-size", type=int, default=64, help="the network's input size (images are resized)")
    t.add_argument(
        "--lr", type=float, default=2e-3, help="Adam learning rate (halved per epoch in the 2nd half)"
    )
    t.add_argument("--no-progress", action="store_true", help="no progress bar")
    e.add_argument("--checker", required=True, help="checker folder")
    return parser


@exit_on_user_error
def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    quiet_libraries()  # TensorFlow's logs only with TAGFACE_VERBOSE=1
    return _train_command(args) if args.command == "train" else _eval_command(args)


def _eval_command(args) -> int:
    checker = load_checker(args.checker)
    duplicates = args.duplicates or checker.meta.get("data", {}).get("duplicates", "ignore")
    spec = DataSpec(
        args.images,
        args.tags_csv,
        tag_format=args.tag_format,
        size=checker.image_size,
        holdout=args.holdout,
        seed=args.seed,
        duplicates=duplicates,
    )
    data = build_or_load(spec, cache_dir=args.cache_dir)
    acc = evaluate(checker, data, data.holdout_indices())
    print(jsonio.dumps({"heldout_accuracy": acc, "heldout_images": int(len(data.holdout_indices()))}))
    return 0


def _train_command(args) -> int:
    if args.epochs < 1 or args.batch_size < 1 or args.image_size < 8:
        raise UserError("--epochs and --batch-size must be >= 1, --image-size >= 8")
    vocab = Vocabulary.load(args.vocab) if args.vocab else None
    spec = DataSpec(
        args.images,
        args.tags_csv,
        tag_format=args.tag_format,
        size=args.image_size,
        holdout=args.holdout,
        seed=args.seed,
        vocab=vocab,
        duplicates=args.duplicates,
    )
    data = build_or_load(spec, cache_dir=args.cache_dir, progress=not args.no_progress)
    model, meta = train_checker(
        data,
        epochs=args.epochs,
        batch_size=args.batch_size,
        seed=args.seed,
        image_size=args.image_size,
        lr=args.lr,
        progress=not args.no_progress,
    )
    meta["data"] = {
        "images": str(args.images),
        "tags_csv": str(args.tags_csv),
        "holdout": args.holdout,
        "split_seed": args.seed,
        "duplicates": args.duplicates,
    }
    save_checker(model, meta, Path(args.out))
    acc = meta["heldout_accuracy"]
    low = [g for g, a in acc.items() if a < MIN_ACCURACY.get(g, 0.0)]
    print(
        "held-out accuracy: "
        + ", ".join(f"{g} {a:.4f}" for g, a in acc.items())
        + f" ({meta['heldout_images']} images); saved to {args.out}"
    )
    if low:
        print(
            f"warning: below the accuracy needed to judge samples ({MIN_ACCURACY}) for {low}", file=sys.stderr
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
