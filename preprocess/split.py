"""The held-out split: stratified by tag combination, fixed seed.

The trainer never trains on it; the tag checker and the quality metrics
evaluate on it. Each combination keeps at least one training image. Given
near-duplicate groups (preprocess/duplicates.py), a group is held out or
trained on as a whole, so no held-out image has a twin in training.
"""

from __future__ import annotations

import numpy as np


def stratified_holdout(
    strata: np.ndarray, fraction: float, seed: int, groups: np.ndarray | None = None
) -> np.ndarray:
    """Boolean mask: round(fraction * n) images of each stratum are held out
    (never all of a stratum), chosen with numpy's seeded generator. With
    `groups`, whole groups are held out (a group counts in the stratum of its
    first image) until the stratum's share is reached without passing it."""
    strata = np.asarray(strata)
    held = np.zeros(len(strata), bool)
    if fraction <= 0:
        return held
    rng = np.random.default_rng(seed)
    if groups is None:
        for value in np.unique(strata):
            members = np.flatnonzero(strata == value)
            n = min(int(np.floor(fraction * len(members) + 0.5)), len(members) - 1)
            if n > 0:
                held[rng.choice(members, size=n, replace=False)] = True
        return held
    groups = np.asarray(groups)
    _, first = np.unique(groups, return_index=True)  # first image of each group, by group label
    sizes = np.bincount(groups)
    group_stratum = strata[first]
    chosen = np.zeros(len(sizes), bool)
    for value in np.unique(group_stratum):
        members = np.flatnonzero(group_stratum == value)  # group labels of this stratum
        total = int(sizes[members].sum())
        target = min(int(np.floor(fraction * total + 0.5)), total - int(sizes[members].min()))
        taken = 0
        for g in rng.permutation(members):
            if taken + sizes[g] <= target:
                chosen[g] = True
                taken += int(sizes[g])
    return chosen[groups]
