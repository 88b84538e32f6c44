"""The divergence guard: what trips it, and what it says."""

import math

from training.divergence import DivergenceGuard


def _healthy(step):
    return {
        "d_loss": 0.1,
        "g_loss": 0.05,
        "loss_real": 0.3 + 0.01 * math.sin(step),
        "loss_wrong": 0.35,
        "loss_fake": 0.1,
        "loss_aux": 4.0,
    }


def test_healthy_losses_and_slow_drift_never_trip_it():
    guard = DivergenceGuard()
    for step in range(2000):
        values = _healthy(step)
        values["loss_fake"] = 0.1 + step * 1e-4  # slow growth of L(G(z)) is normal
        assert guard.check(values) is None


def test_a_finite_blow_up_of_the_real_loss_is_named_with_the_setting_to_change():
    guard = DivergenceGuard()
    for step in range(50):
        assert guard.check(_healthy(step)) is None
    blown = _healthy(50) | {"loss_real": 9.5, "loss_wrong": 9.6}
    message = guard.check(blown)
    assert message is not None and "loss_real" in message and "--lr" in message and "9.5" in message


def test_nan_or_inf_is_reported_at_once_even_in_the_warm_up():
    guard = DivergenceGuard()
    assert "g_loss became nan" in guard.check(_healthy(0) | {"g_loss": float("nan")})
    assert "loss_fake became inf" in DivergenceGuard().check(_healthy(0) | {"loss_fake": float("inf")})


def test_a_jump_below_the_absolute_floor_is_not_divergence():
    guard = DivergenceGuard()
    for step in range(50):
        guard.check(_healthy(step) | {"loss_fake": 0.01})
    # x30 but still a sane L1 (an early G often jumps like this)
    assert guard.check(_healthy(50) | {"loss_fake": 0.3}) is None


def test_the_term_that_ran_away_most_is_named():
    guard = DivergenceGuard()
    for step in range(50):
        guard.check(_healthy(step))
    message = guard.check(_healthy(50) | {"loss_real": 3.0, "loss_wrong": 30.0})
    assert "loss_wrong" in message and "--wrong-warmup" in message


def test_a_rollback_halves_the_rate_and_its_floor_and_never_puts_the_floor_above_the_rate():
    from training.lr_control import lowered_after_run_away

    assert lowered_after_run_away(2e-4, 2e-5) == (1e-4, 1e-5)  # round 3's resume by hand
    assert lowered_after_run_away(1e-5, 2e-5) == (5e-6, 5e-6)  # a rate set below its floor by --lr
