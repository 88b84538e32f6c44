"""Learning-rate control from the convergence measure M.

The course team halved the rate when M stopped improving; a floor keeps it
from shrinking to the point where BEGAN ports were seen to collapse suddenly.
M is averaged over a window of steps (one step's M is too noisy); the rate
halves after `patience` windows without a new best mean. After a run-away the
trainer rolls back and lowers both the rate and its floor (lowered_after_run_away).
"""

from __future__ import annotations

from typing import NamedTuple


class PlateauState(NamedTuple):
    lr: float
    best: float  # best windowed mean of M so far (+inf before the first window)
    bad_windows: int  # windows since the last improvement


def plateau_update(
    state: PlateauState, window_mean: float, *, patience: int, floor: float, factor: float = 0.5
) -> PlateauState:
    """Fold one finished window's mean M into the state."""
    if window_mean < state.best:
        return PlateauState(state.lr, window_mean, 0)
    bad = state.bad_windows + 1
    if bad >= patience:
        return PlateauState(max(state.lr * factor, floor), state.best, 0)
    return PlateauState(state.lr, state.best, bad)


RUN_AWAY_FACTOR = 0.5  # the rate and its floor after a rollback from a run-away (training.trainer)


def lowered_after_run_away(lr: float, floor: float, factor: float = RUN_AWAY_FACTOR) -> tuple[float, float]:
    """(rate, floor) after a run-away: both x `factor`, as round 3's default was resumed by hand
    (2e-4 -> 1e-4, floor 2e-5 -> 1e-5), so the plateau rule keeps its room below the new rate;
    the floor never above the rate."""
    lowered = lr * factor
    return lowered, min(floor * factor, lowered)
