"""Near-duplicates and the held-out figures on the real set (issue 24).

    nice .venv/bin/python -m bench.quality.heldout_twins [--checker models/checker] [--seed 2] [--n-fd 476]

Prints how long the near-duplicate grouping takes and what it finds; the
bundled checker's accuracy on the held-out split it was trained beside (by id,
`--duplicates ignore`) and on the part of it with no twin in its training
images; and the Frechet real-vs-real floor (evaluate.metrics: two halves of the
held-out images, --n-fd images against half B, seed --seed) on the split by
id with random halves, and on the split by group with halves by group.
"""

import sys
import time

from bench import real_data


def main():
    p = real_data.parser(__doc__, __spec__)
    p.add_argument("--checker", default="models/checker")
    p.add_argument(
        "--seed", type=int, default=2, help="noise seed of evaluate.metrics (docs/default-model.md's: 2)"
    )
    p.add_argument("--n-fd", type=int, default=476, help="images per Frechet side (4 x 119 pairs)")
    args = p.parse_args()
    import numpy as np

    from checker.checker import load_checker
    from checker.training import evaluate
    from evaluate.metrics import frechet_distance, group_halves
    from preprocess.cache import build_or_load
    from preprocess.duplicates import near_duplicate_groups
    from preprocess.spec import DataSpec

    by_id = build_or_load(DataSpec(args.images, args.tags_csv, size=64, duplicates="ignore"), progress=False)
    t0, c0 = time.perf_counter(), time.process_time()
    groups = near_duplicate_groups(by_id.images)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    sizes = np.bincount(groups)
    print(
        f"grouping {len(groups)} images: {wall:.1f} s wall, {cpu:.1f} s CPU; {len(sizes)} groups, "
        f"{int(sizes[sizes > 1].sum())} images ({sizes[sizes > 1].sum() / len(groups):.1%}) in "
        f"{int((sizes > 1).sum())} groups of 2 or more (largest {sizes.max()})"
    )
    checker = load_checker(args.checker)
    held, train = by_id.holdout_indices(), by_id.train_indices()
    clean = held[~np.isin(groups[held], groups[train])]
    for name, rows in (("held out by id", held), ("of them, no twin in training", clean)):
        accuracy = evaluate(checker, by_id, rows)
        print(
            f"checker {args.checker}, {name}: "
            + ", ".join(f"{g} {a:.4f}" for g, a in accuracy.items())
            + f" ({len(rows)} images)"
        )
    by_group = build_or_load(
        DataSpec(args.images, args.tags_csv, size=64, duplicates="group"), progress=False
    )
    for name, data, halves_by in (
        ("split by id, random halves", by_id, None),
        ("split by group, halves by group", by_group, by_group.groups),
    ):
        rows = data.holdout_indices()
        feats = checker.features(data.images[rows])
        a, b = group_halves(
            np.arange(len(rows)) if halves_by is None else halves_by[rows], np.random.default_rng(args.seed)
        )
        n = min(args.n_fd, len(a))
        print(
            f"Frechet real vs real, {name}: {frechet_distance(feats[a[:n]], feats[b]):.3f} "
            f"({n} against {len(b)} of {len(rows)} held-out images)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
