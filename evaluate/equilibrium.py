"""Does BEGAN's own control act in a run? Read from its plain logs.

BEGAN balances D against G through k_t: D's loss is L(x) - k_t L(G(z)), and
k_t moves by lambda_k (gamma L(x) - L(G(z))) each step, clipped to [0, 1].
The balance holds when k_t lives inside (0, 1), so that L(G(z)) / L(x) is held
near gamma; when k_t sits on a bound the controller is inert and gamma changes
nothing. The convergence measure M = L(x) + |gamma L(x) - L(G(z))| is meant to
track quality, and its plateau halves the learning rate.

Every figure here comes from metrics.csv (and eval.csv for M against the
Frechet distance), so a student can check them in a spreadsheet.
"""

from __future__ import annotations

import math

import numpy as np

BURN_IN = 0.1  # the first 10 % of training is left out of the k_t band figure
K_BAND_TARGET = 0.9  # k_t strictly inside (0, 1) in at least this share of the steps after burn-in
RATIO_TOLERANCE = 0.05  # mean L(G(z)) / L(x) over the second half within gamma +- this (issue 35)


def _column(rows: list[dict], name: str) -> np.ndarray:
    return np.array([float(r[name]) for r in rows], np.float64)


def balance(metrics_rows: list[dict], gamma: float) -> dict:
    """The equilibrium figures of one run's metrics.csv rows:
    k_inside (share of logged steps after the burn-in with 0 < k_t < 1), ratio (mean
    L(G(z)) / L(x) over the second half of the steps), lr_changes (how often the
    learning rate moved) and holds (both targets met)."""
    if not metrics_rows:
        return {"k_inside": math.nan, "ratio": math.nan, "gamma": gamma, "lr_changes": 0, "holds": False}
    step = _column(metrics_rows, "step")
    k = _column(metrics_rows, "k")
    ratio = _column(metrics_rows, "loss_fake") / np.maximum(_column(metrics_rows, "loss_real"), 1e-12)
    lr = _column(metrics_rows, "lr")
    last = step.max()
    after = step > BURN_IN * last
    second_half = step > 0.5 * last
    k_inside = float(np.mean((k[after] > 0) & (k[after] < 1))) if after.any() else math.nan
    mean_ratio = float(ratio[second_half].mean()) if second_half.any() else math.nan
    holds = (k_inside >= K_BAND_TARGET) and abs(mean_ratio - gamma) <= RATIO_TOLERANCE
    return {
        "k_inside": round(k_inside, 4),
        "ratio": round(mean_ratio, 4),
        "gamma": gamma,
        "lr_changes": int(np.count_nonzero(np.diff(lr))),
        "holds": bool(holds),
    }


def windowed_m(metrics_rows: list[dict], steps, window: int) -> np.ndarray:
    """Mean M over the logged rows in (s - window, s] for each step s (nan where none)."""
    step = _column(metrics_rows, "step")
    m = _column(metrics_rows, "M")
    out = []
    for s in steps:
        inside = (step > s - window) & (step <= s)
        out.append(m[inside].mean() if inside.any() else math.nan)
    return np.array(out)


def m_tracks_quality(
    metrics_rows: list[dict], eval_rows: list[dict], window: int, measure: str = "frechet_generated_vs_real"
) -> dict:
    """Spearman rank correlation between the windowed mean M at each evaluation and a fidelity
    `measure` of eval.csv there (the Frechet distance, or kid_generated_vs_real; positive: M falls as
    the faces get closer to real ones)."""
    from scipy.stats import spearmanr

    rows = [r for r in eval_rows if r.get(measure) not in (None, "")]
    steps = [float(r["step"]) for r in rows]
    quality = np.array([float(r[measure]) for r in rows])
    m = windowed_m(metrics_rows, steps, window) if metrics_rows else np.array([])
    ok = np.isfinite(m) & np.isfinite(quality) if len(m) else np.zeros(0, bool)
    if ok.sum() < 3:
        return {"spearman": math.nan, "p_value": math.nan, "evaluations": int(ok.sum())}
    result = spearmanr(m[ok], quality[ok])
    return {
        "spearman": round(float(result.statistic), 4),
        "p_value": round(float(result.pvalue), 4),
        "evaluations": int(ok.sum()),
    }
