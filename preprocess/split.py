"""The held-out split: stratified by tag combination, fixed seed.

The trainer never trains on it; the tag checker and the quality metrics
evaluate on it. Each combination keeps at least one training image.
"""
from __future__ import annotations

import numpy as np


def stratified_holdout(strata: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """Boolean mask: round(fraction * n) images of each stratum are held out
    (never all of a stratum), chosen with numpy's seeded generator."""
    strata = np.asarray(strata)
    held = np.zeros(len(strata), bool)
    if fraction <= 0:
        return held
    rng = np.random.default_rng(seed)
    for value in np.unique(strata):
        members = np.flatnonzero(strata == value)
        n = min(int(np.floor(fraction * len(members) + 0.5)), len(members) - 1)
        if n > 0:
            held[rng.choice(members, size=n, replace=False)] = True
    return held
