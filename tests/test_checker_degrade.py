"""Degradations for the robust checker keep colours and do what they say."""

import numpy as np
import pytest

from checker import degrade


def _faces(n=6, seed=0):
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, (n, 1, 1, 3))
    img = np.repeat(np.repeat(base, 32, 1), 32, 2).astype(np.float32)
    img[:, 8:24, 8:24] = 255 - img[:, 8:24, 8:24]  # an edge to blur and shift
    return img.astype(np.uint8)


def test_blur_softens_edges_but_keeps_the_mean_colour():
    x = _faces()
    y = degrade.apply(x, "blur", 2.0)
    assert np.abs(np.diff(y.astype(int), axis=2)).max() < np.abs(np.diff(x.astype(int), axis=2)).max()
    np.testing.assert_allclose(y.mean(axis=(1, 2)), x.mean(axis=(1, 2)), atol=2.0)


def test_noise_has_the_asked_spread_and_no_colour_shift():
    x = np.full((4, 64, 64, 3), 128, np.uint8)
    y = degrade.apply(x, "noise", 0.05, seed=3)
    assert (y.astype(float) - 128).std() == pytest.approx(0.05 * 255, rel=0.05)
    np.testing.assert_allclose(y.mean(axis=(1, 2)), 128, atol=1.0)


def test_jpeg_round_trip_changes_pixels_not_colours():
    x = _faces()
    y = degrade.apply(x, "jpeg", 30)
    assert y.shape == x.shape and not np.array_equal(x, y)
    np.testing.assert_allclose(y.mean(axis=(1, 2)), x.mean(axis=(1, 2)), atol=4.0)


def test_shift_moves_content_by_whole_pixels():
    x = _faces(1)[0]
    y = degrade.shift(x, 2, -3)
    np.testing.assert_array_equal(y[10, 10], x[8, 13])


def test_random_degrade_keeps_each_image_colour_and_is_seeded():
    x = _faces(16)
    a = degrade.random_degrade(x, np.random.default_rng(1), p=1.0)
    b = degrade.random_degrade(x, np.random.default_rng(1), p=1.0)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, x)
    np.testing.assert_allclose(a.mean(axis=(1, 2)), x.mean(axis=(1, 2)), atol=12.0)
    np.testing.assert_array_equal(degrade.random_degrade(x, np.random.default_rng(1), p=0.0), x)


def test_unknown_degradation_is_refused():
    with pytest.raises(ValueError):
        degrade.apply(_faces(1), "hue", 0.1)
