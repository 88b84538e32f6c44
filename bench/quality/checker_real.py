"""Train the tag checker on the real set and print its held-out accuracy.

    nice .venv/bin/python -m bench.quality.checker_real [--images ../shared/data/anime-faces-64/images]
    [--checker DIR]
        [--tags-csv ../shared/data/anime-faces-64/tags.csv] [--epochs 4] [--out DIR]

Trains through the data pipeline's split (the held-out 10 % is never
trained on), saves the checker to --out (default: a temporary folder), then
reloads the LiteRT export and measures again, so the printed figures are
those of the file a user grades with. Targets: hair >= 0.95, eyes >= 0.85.
"""

import sys
import tempfile
import time
from pathlib import Path

from bench import real_data


def main():
    p = real_data.parser(__doc__, __spec__)
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-robust", action="store_true", help="flips only (no blur/noise/JPEG/shift training)")
    p.add_argument("--out", default=None, help="keep the checker here (default: temporary folder)")
    p.add_argument("--checker", default=None, help="measure this existing checker instead of training one")
    args = p.parse_args()
    from checker.checker import MIN_ACCURACY, load_checker, save_checker
    from checker.training import evaluate, evaluate_degraded, train_checker
    from preprocess.cache import build_or_load
    from preprocess.spec import DataSpec

    data = build_or_load(
        DataSpec(args.images, args.tags_csv, size=64, holdout=0.1, seed=args.seed), progress=False
    )
    if args.checker:
        checker, held = load_checker(args.checker), data.holdout_indices()
        print(f"{args.checker} ({checker.backend}), {len(held)} held-out images")
        print("clean: " + ", ".join(f"{g} {a:.4f}" for g, a in evaluate(checker, data, held).items()))
        for name, accuracy in evaluate_degraded(checker, data, held, seed=args.seed).items():
            print(f"{name}: " + ", ".join(f"{g} {a:.4f}" for g, a in accuracy.items()))
        return 0
    t0 = time.perf_counter()
    model, meta = train_checker(
        data,
        epochs=args.epochs,
        batch_size=args.batch_size,
        seed=args.seed,
        progress=False,
        robust=not args.no_robust,
    )
    seconds = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(args.out or tmp)
        save_checker(model, meta, out)
        checker = load_checker(out)
        t1 = time.perf_counter()
        lite = evaluate(checker, data, data.holdout_indices())
        lite_seconds = time.perf_counter() - t1
    held = len(data.holdout_indices())
    print(
        f"trained on {meta['train_images']} images, {args.epochs} epochs, batch {args.batch_size}: "
        f"{seconds:.0f} s (incl. held-out evaluation)"
    )
    print(
        "held-out accuracy (keras):  "
        + ", ".join(f"{g} {a:.4f}" for g, a in meta["heldout_accuracy"].items())
        + f" on {held} images"
    )
    print(
        f"held-out accuracy ({checker.backend}): "
        + ", ".join(f"{g} {a:.4f}" for g, a in lite.items())
        + f" ({held / lite_seconds:.0f} images/s)"
    )
    for name, accuracy in meta["heldout_accuracy_degraded"].items():
        print(f"held-out accuracy, {name}: " + ", ".join(f"{g} {a:.4f}" for g, a in accuracy.items()))
    ok = all(lite.get(g, 0.0) >= target for g, target in MIN_ACCURACY.items())
    print(f"targets {MIN_ACCURACY}: {'met' if ok else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
