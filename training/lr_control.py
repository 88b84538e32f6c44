"""Learning-rate control from the convergence measure M.

The course team halved the rate when M stopped improving; a floor keeps it
from shrinking to the point where BEGAN ports were seen to collapse suddenly.
M is averaged over a window of steps (one step's M is too noisy); the rate
halves after `patience` windows without a new best mean.
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
