"""model.augment: DiffAugment's translation and cutout (round 2) do what they say, per seed, and let
gradients through; ADA's adaptive transforms and its p (issue 34)."""

import numpy as np
import pytest


def _ramp_images(b=4, size=16):
    x = np.linspace(-1, 1, size * size * 3, dtype=np.float32).reshape(1, size, size, 3)
    return np.repeat(x, b, 0) + np.arange(b, dtype=np.float32)[:, None, None, None] * 0.01


def test_translation_shifts_whole_images_and_fills_with_zero(tf):
    from model.augment import translate

    x = _ramp_images()
    out = translate(x, tf.constant([0, 7], tf.int64)).numpy()
    assert out.shape == x.shape
    for i in range(len(x)):
        # find the shift that reproduces this output from the zero-padded input
        pad = 2
        padded = np.pad(x[i], [(pad, pad), (pad, pad), (0, 0)])
        matches = [
            (dy, dx)
            for dy in range(-pad, pad + 1)
            for dx in range(-pad, pad + 1)
            if np.array_equal(padded[pad - dy : pad - dy + 16, pad - dx : pad - dx + 16], out[i])
        ]
        assert len(matches) == 1


def test_cutout_blanks_one_square_of_half_the_side(tf):
    from model.augment import cutout

    x = np.ones((3, 16, 16, 3), np.float32)
    out = cutout(x, tf.constant([1, 2], tf.int64)).numpy()
    blank = (out == 0).all(-1)
    assert (blank.sum(axis=(1, 2)) == 64).all()  # an 8x8 square per image
    for mask in blank:
        rows, cols = np.where(mask)
        assert rows.max() - rows.min() == 7 and cols.max() - cols.min() == 7
    np.testing.assert_array_equal(out[~blank], 1.0)


def test_diff_augment_is_deterministic_per_seed_and_lets_gradients_through(tf):
    from model.augment import diff_augment

    x = tf.constant(_ramp_images())
    seed = tf.constant([3, 4], tf.int64)
    a = diff_augment(x, "translation,cutout", seed)
    np.testing.assert_array_equal(a.numpy(), diff_augment(x, "translation,cutout", seed).numpy())
    assert not np.array_equal(a.numpy(), diff_augment(x, "translation,cutout", seed + 1).numpy())
    np.testing.assert_array_equal(diff_augment(x, "", seed).numpy(), x.numpy())
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.reduce_sum(diff_augment(x, "translation,cutout", seed))
    grad = tape.gradient(y, x).numpy()
    assert set(np.unique(grad)) <= {0.0, 1.0} and grad.sum() > 0


def test_ada_p_rises_while_d_overfits_falls_when_the_gap_closes_and_stays_in_its_bounds():
    from model.augment import ADA_ADJUST_IMAGES, ADA_MAX_P, ada_update, overfit_gap

    step = 128 / ADA_ADJUST_IMAGES
    assert ada_update(0.3, gap=0.2, target=0.05, images=128) == pytest.approx(0.3 + step)
    assert ada_update(0.3, gap=0.01, target=0.05, images=128) == pytest.approx(0.3 - step)
    assert ada_update(0.0, gap=-1.0, target=0.05, images=128) == 0.0
    assert ada_update(ADA_MAX_P, gap=5.0, target=0.05, images=128) == ADA_MAX_P  # never where it leaks
    assert overfit_gap(0.22, 0.2) == pytest.approx(0.1) and overfit_gap(0.2, 0.2) == 0.0


def test_adaptive_augment_changes_each_image_with_probability_p_and_keeps_p_0_plain(tf):
    from model.augment import adaptive_augment

    rng = np.random.default_rng(0)
    images = tf.constant(rng.uniform(-1, 1, (400, 16, 16, 3)), tf.float32)  # asymmetric: a flip shows
    seed = tf.constant([3, 4], tf.int64)

    def changed(p):
        return np.abs(adaptive_augment(images, p, seed).numpy() - images.numpy()).max(axis=(1, 2, 3)) > 0

    assert not changed(0.0).any()
    assert changed(1.0).all()
    # three transforms each on with p = 0.3: an image is untouched with probability 0.7^3 = 0.343
    assert 1 - changed(0.3).mean() == pytest.approx(0.343, abs=0.06)
    np.testing.assert_array_equal(
        adaptive_augment(images, 0.5, seed).numpy(), adaptive_augment(images, 0.5, seed).numpy()
    )  # a resumed run draws the same
