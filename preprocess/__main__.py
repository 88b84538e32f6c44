"""python -m preprocess --images DIR --tags-csv CSV: build (or reuse) the dataset cache."""

import argparse
import sys

from common.env import quiet_ctrl_c_while_starting

if __name__ == "__main__":  # python -m preprocess (not a test importing main)
    quiet_ctrl_c_while_starting()  # a Ctrl-C during the imports below: one line, exit 130

from common.cli import ArgumentParser, DefaultsHelpFormatter, exit_on_user_error  # noqa: E402
from model.config import TrainConfig  # noqa: E402
from preprocess.spec import DUPLICATE_MODES  # noqa: E402


@exit_on_user_error
def main(argv=None) -> int:
    p = ArgumentParser(
        prog="python -m preprocess", description=__doc__, formatter_class=DefaultsHelpFormatter
    )
    p.add_argument("--images", required=True, help="folder of training images")
    p.add_argument("--tags-csv", required=True, help="tag CSV (2018, 2017 or header format)")
    p.add_argument("--tag-format", default="auto", choices=["auto", "2018", "2017", "header"])
    # the same flag names as train.py; --size and --cache (older spellings) stay as hidden aliases
    p.add_argument("--image-size", dest="size", type=int, default=64, help="image size of the cache")
    p.add_argument("--size", dest="size", type=int, default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    p.add_argument(
        "--cache-dir",
        dest="cache",
        default=None,
        help="cache folder (default: $TAGFACE_CACHE, else ~/.cache/tagface)",
    )
    p.add_argument("--cache", dest="cache", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    p.add_argument("--holdout", type=float, default=0.1, help="held-out fraction (stratified by tags)")
    p.add_argument("--condition-mode", default="onehot", choices=["onehot", "word2vec"])
    p.add_argument(
        "--top-k",
        type=int,
        default=TrainConfig.top_k,
        help="other tags kept (tag-rich CSVs; those on fewer than 10 images are left out)",
    )
    p.add_argument("--keep-grayscale", action="store_true", help="keep grayscale images (skipped by default)")
    p.add_argument("--strict", action="store_true", help="any skipped row is an error")
    p.add_argument("--seed", type=int, default=0, help="seed of the held-out split")
    p.add_argument(
        "--duplicates",
        default="group",
        choices=list(DUPLICATE_MODES),
        help="near-duplicate images: " + "; ".join(f"{k}: {v}" for k, v in DUPLICATE_MODES.items()),
    )
    p.add_argument("--no-progress", action="store_true")
    args = p.parse_args(argv)
    from preprocess.cache import build_or_load, duplicate_summary
    from preprocess.spec import DataSpec

    spec = DataSpec(
        args.images,
        args.tags_csv,
        tag_format=args.tag_format,
        size=args.size,
        holdout=args.holdout,
        strict=args.strict,
        condition_mode=args.condition_mode,
        top_k=args.top_k,
        seed=args.seed,
        keep_grayscale=args.keep_grayscale,
        duplicates=args.duplicates,
    )
    data = build_or_load(spec, cache_dir=args.cache, progress=not args.no_progress, log=print)
    if data.loaded_from_cache:
        total = sum(data.skipped.values())
        print(f"kept {len(data)}, skipped {total}; report: {data.report_path}")
        print(duplicate_summary(data.duplicates, data.cache_path.parent / "duplicates.csv"))
    print(
        f"{len(data.train_indices())} training images, {len(data.holdout_indices())} held out; "
        f"conditions: {data.vocab.mode}, {data.vocab.dim} dims"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
