"""BEGAN's equilibrium figures (evaluate.equilibrium), the sharpness figure, and the gamma
sweep page, on hand-made logs and the tiny trained run."""

import json
import math
import shutil

import numpy as np
import pytest

from evaluate.equilibrium import balance, m_tracks_quality, windowed_m
from evaluate.metrics import high_frequency_energy


def _rows(steps, k, real, fake, lr=None, m=None):
    lr = lr or [2e-4] * len(steps)
    m = m or [0.0] * len(steps)
    return [
        {"step": str(s), "k": str(a), "loss_real": str(r), "loss_fake": str(f), "lr": str(x), "M": str(mm)}
        for s, a, r, f, x, mm in zip(steps, k, real, fake, lr, m)
    ]


def test_balance_counts_k_inside_after_the_burn_in_and_the_second_half_ratio():
    steps = list(range(10, 101, 10))  # 10 rows; burn-in is steps <= 10
    k = [0.0, 0.0, 0.01, 0.02, 1.0, 0.03, 0.02, 0.01, 0.02, 0.02]  # after burn-in: 9 rows, 7 strictly inside
    real = [0.2] * 10
    fake = [0.2] * 5 + [0.1, 0.1, 0.12, 0.08, 0.1]  # second half (steps 60..100): ratio 0.5 on average
    lr = [2e-4] * 6 + [1e-4] * 4
    b = balance(_rows(steps, k, real, fake, lr), gamma=0.5)
    assert b["k_inside"] == pytest.approx(7 / 9, abs=1e-4)
    assert b["ratio"] == pytest.approx(0.5)
    assert b["lr_changes"] == 1
    assert b["holds"] is False  # 7/9 < 0.9
    held = balance(_rows(steps, [0.01] * 10, real, fake), gamma=0.5)
    assert held["k_inside"] == 1.0 and held["holds"] is True
    assert (
        balance(_rows(steps, [0.01] * 10, real, fake), gamma=0.3)["holds"] is False
    )  # 0.5 is not 0.3 +- 0.05
    assert balance(_rows(steps, [0.01] * 10, real, fake), gamma=0.56)["holds"] is False  # 0.06 off


def test_balance_of_an_empty_log_does_not_hold():
    b = balance([], gamma=0.5)
    assert math.isnan(b["k_inside"]) and b["holds"] is False


def test_windowed_m_and_its_rank_correlation_with_frechet():
    steps = list(range(1, 41))
    m = [1.0 / s for s in steps]  # M falls over training
    rows = _rows(steps, [0.0] * 40, [0.2] * 40, [0.2] * 40, m=m)
    assert windowed_m(rows, [10], 2)[0] == pytest.approx((1 / 9 + 1 / 10) / 2)
    falling = [{"step": str(s), "frechet_generated_vs_real": str(100.0 / s)} for s in (10, 20, 30, 40)]
    rising = [{"step": str(s), "frechet_generated_vs_real": str(float(s))} for s in (10, 20, 30, 40)]
    assert m_tracks_quality(rows, falling, 5)["spearman"] == pytest.approx(1.0)
    assert m_tracks_quality(rows, rising, 5)["spearman"] == pytest.approx(-1.0)
    too_few = m_tracks_quality(rows, falling[:2], 5)
    assert too_few["evaluations"] == 2 and math.isnan(too_few["spearman"])


def test_high_frequency_energy_ranks_detail():
    flat = np.full((2, 16, 16, 3), 128, np.uint8)
    checker = np.indices((16, 16)).sum(0) % 2 * 255
    sharp = np.repeat(np.stack([checker, checker]).astype(np.uint8)[..., None], 3, axis=-1)
    from scipy.ndimage import uniform_filter

    blurred = uniform_filter(sharp.astype(np.float64), size=(1, 3, 3, 1)).astype(np.uint8)
    assert high_frequency_energy(flat) == 0.0
    assert high_frequency_energy(sharp) > 4 * high_frequency_energy(blurred) > 0


@pytest.mark.slow
def test_the_sweep_page_has_one_row_per_gamma_in_gamma_order(tiny_run, tmp_path):
    """Two copies of one trained run under different gammas: the figure's rows are the same
    faces (same z and tags in every row) and the table lists the runs by gamma."""
    import imageio.v3 as iio

    from report.__main__ import main

    runs = []
    for name, gamma in (("high", 0.7), ("low", 0.3)):
        run = tmp_path / name
        shutil.copytree(tiny_run, run, ignore=shutil.ignore_patterns(".lock", "report"))
        for config in (run / "config.json", run / "export" / "config.json"):
            data = json.loads(config.read_text())
            config.write_text(json.dumps(data | {"gamma": gamma}))
        runs.append(run)
    assert main([str(r) for r in runs] + ["--out", str(tmp_path / "page")]) == 0
    md = (tmp_path / "page" / "report.md").read_text()
    assert md.index("| low | 0.3") < md.index("| high | 0.7")
    figure = iio.imread(tmp_path / "page" / "gamma_rows.png")
    cell = 32 + 2  # the tiny run's image size plus the grid's padding
    top = figure[figure.shape[0] - 2 * cell - 2 : figure.shape[0] - cell - 2, -8 * cell :]
    bottom = figure[figure.shape[0] - cell - 2 : figure.shape[0] - 2, -8 * cell :]
    np.testing.assert_array_equal(top, bottom)


def test_m_tracks_any_fidelity_column_of_eval_csv():
    """The same ranking against KID: a column that falls with M gives +1; rows without it are left out."""
    rows = [{"step": s, "M": 1.0 - s / 100} for s in range(1, 41)]
    evals = [{"step": s, "kid_generated_vs_real": 1.0 - s / 50} for s in (10, 20, 30, 40)]
    evals.append({"step": 5, "kid_generated_vs_real": ""})
    kid = m_tracks_quality(rows, evals, 5, "kid_generated_vs_real")
    assert kid["spearman"] == pytest.approx(1.0) and kid["evaluations"] == 4
    assert m_tracks_quality(rows, evals, 5)["evaluations"] == 0  # no Frechet column in these rows
