"""Every loss and control rule against numbers worked out by hand."""

import math

import numpy as np
import pytest

from training.lr_control import PlateauState, plateau_update


@pytest.fixture(scope="module")
def losses():
    """model.losses, imported by the tests that use it (it imports TensorFlow; collecting must not)."""
    from model import losses

    return losses


def test_reconstruction_loss_is_per_image_mean_absolute_error(losses):
    images = np.zeros((2, 2, 2, 1), np.float32)
    recon = np.zeros((2, 2, 2, 1), np.float32)
    recon[0] = 0.5  # image 0: every pixel off by 0.5
    recon[1, 0, 0, 0] = -2.0  # image 1: one of four pixels off by 2
    got = losses.reconstruction_loss(images, recon).numpy()
    np.testing.assert_allclose(got, [0.5, 0.5])


def test_out_of_bound_is_zero_inside_and_quadratic_outside(losses):
    inside = np.array([[-1.0, -0.3, 0.0, 1.0]], np.float32)
    assert losses.out_of_bound(inside).numpy() == 0.0
    y = np.array([[1.5, -3.0, 0.2, 0.0]], np.float32)  # excess 0.5 and 2 -> (0.25 + 4) / 4
    assert losses.out_of_bound(y).numpy() == pytest.approx(4.25 / 4)


def test_k_update_follows_the_proportional_rule_and_clips(losses):
    # 0.3 + 0.001 * (0.5 * 0.2 - 0.04) = 0.30006
    assert losses.k_update(0.3, 0.2, 0.04, gamma=0.5, lambda_k=0.001).numpy() == pytest.approx(0.30006)
    assert losses.k_update(0.0, 0.1, 5.0, gamma=0.5, lambda_k=0.001).numpy() == 0.0
    assert losses.k_update(0.9999, 10.0, 0.0, gamma=1.0, lambda_k=0.001).numpy() == 1.0


def test_convergence_measure(losses):
    # M = 0.2 + |0.4 * 0.2 - 0.1| = 0.22
    assert losses.convergence_measure(0.2, 0.1, 0.4).numpy() == pytest.approx(0.22)
    assert losses.convergence_measure(0.2, 0.08, 0.4).numpy() == pytest.approx(0.2)


def test_discriminator_and_generator_losses(tf, losses):
    real = tf.constant([0.2, 0.4])
    fake = tf.constant([0.3, 0.5])
    wrong_term = tf.constant([0.1, 0.3])
    # mean real 0.3 - k 0.5 * mean fake 0.4 - w 2 * mean wrong 0.2 = 0.3 - 0.2 - 0.4
    d = losses.discriminator_loss(real, fake, wrong_term, 0.5, 2.0)
    assert d.numpy() == pytest.approx(-0.3)
    # the mask drops image 1 from the real and wrong terms: 0.2 - 0.2 - 2 * 0.1
    d_masked = losses.discriminator_loss(real, fake, wrong_term, 0.5, 2.0, mask=tf.constant([1.0, 0.0]))
    assert d_masked.numpy() == pytest.approx(-0.2)
    g = losses.generator_loss(fake, 0.25, 2.0)
    assert g.numpy() == pytest.approx(0.4 + 0.5)
    # BEGAN's term weighted 3x, the out-of-bound penalty as it was
    assert losses.generator_loss(fake, 0.25, 2.0, 3.0).numpy() == pytest.approx(1.2 + 0.5)


def test_wrong_condition_term_is_capped_at_1_5_real_loss(tf, losses):
    real = tf.constant([0.2, 0.2])
    wrong = tf.constant([0.25, 0.9])  # image 1 is above 1.5 * 0.2 = 0.3
    np.testing.assert_allclose(losses.capped_wrong_condition_loss(wrong, real).numpy(), [0.25, 0.3])


def test_capped_wrong_term_gives_no_gradient_to_real_loss(tf, losses):
    real = tf.Variable([0.2, 0.2])
    wrong = tf.Variable([0.25, 0.9])
    with tf.GradientTape() as tape:
        total = tf.reduce_sum(losses.capped_wrong_condition_loss(wrong, real))
    d_real, d_wrong = tape.gradient(total, [real, wrong])
    # Neither image passes gradient to L(x) (the cap is stop_gradient'ed);
    # only the uncapped image passes gradient to L(x, c_wrong).
    assert d_real is None or np.allclose(d_real.numpy(), 0.0)
    np.testing.assert_allclose(d_wrong.numpy(), [1.0, 0.0])


def test_kl_to_standard_normal(losses):
    assert losses.kl_to_standard_normal(np.zeros((3, 4)), np.zeros((3, 4))).numpy() == pytest.approx(0.0)
    # mu = 1, sigma = 1 in two dims: 0.5 * (1 + 1 - 1 - 0) * 2 = 1
    assert losses.kl_to_standard_normal(np.ones((1, 2)), np.zeros((1, 2))).numpy() == pytest.approx(1.0)


def test_tag_classification_loss_sums_groups(tf, losses):
    logits = np.log(np.array([[0.5, 0.5, 0.25, 0.75, 1e-30]], np.float32) + 0)  # groups of 2 and 3
    labels = np.array([[0, 1]], np.int32)
    want = -math.log(0.5) - math.log(0.75)
    got = losses.tag_classification_loss(tf.constant(logits), labels, [2, 3]).numpy()
    assert got == pytest.approx(want, rel=1e-5)


def test_filter_threshold_is_mean_plus_two_sd_and_masks_above_it(tf):
    from model.real_filter import keep_mask, threshold_from_stats

    values = np.array([1.0, 2.0, 3.0, 4.0])
    t = threshold_from_stats(values.sum(), (values**2).sum(), len(values), 2.0)
    assert t == pytest.approx(values.mean() + 2 * values.std())
    assert threshold_from_stats(0.0, 0.0, 0, 2.0) == math.inf
    np.testing.assert_array_equal(keep_mask(tf.constant([0.1, 5.0, 2.0]), 2.0).numpy(), [1.0, 0.0, 1.0])
    np.testing.assert_array_equal(keep_mask(tf.constant([9e9]), math.inf).numpy(), [1.0])


def test_a_stale_threshold_leaves_out_at_most_half_a_batch(tf):
    from model.real_filter import keep_mask

    losses_ = tf.constant([3.0, 4.0, 5.0, 6.0])  # all above a threshold of 1
    np.testing.assert_array_equal(keep_mask(losses_, 1.0).numpy(), [1.0, 1.0, 1.0, 0.0])


def test_plateau_halves_after_patience_windows_and_respects_floor():
    s = PlateauState(lr=1e-4, best=math.inf, bad_windows=0)
    s = plateau_update(s, 0.5, patience=3, floor=3e-5)
    assert s == PlateauState(1e-4, 0.5, 0)
    s = plateau_update(s, 0.6, patience=3, floor=3e-5)
    s = plateau_update(s, 0.55, patience=3, floor=3e-5)
    assert s.lr == 1e-4 and s.bad_windows == 2
    s = plateau_update(s, 0.51, patience=3, floor=3e-5)
    assert s.lr == pytest.approx(5e-5) and s.bad_windows == 0
    for _ in range(3):
        s = plateau_update(s, 0.9, patience=3, floor=3e-5)
    assert s.lr == pytest.approx(3e-5)  # 2.5e-5 would be below the floor
    s = plateau_update(s, 0.4, patience=3, floor=3e-5)
    assert s.best == 0.4 and s.bad_windows == 0


# --- round 2: hinge/projection, warm-ups and EMA
def test_hinge_losses_by_hand(losses):
    real, fake = np.array([2.0, 0.5]), np.array([-3.0, 0.0])
    # real: relu(1-2)=0, relu(1-0.5)=0.5 -> 0.25; fake: relu(1-3)=0, relu(1+0)=1 -> 0.5
    assert losses.hinge_discriminator_loss(real, fake).numpy() == pytest.approx(0.75)
    # the filter's mask drops the second real image: 0 + 0.5
    assert losses.hinge_discriminator_loss(real, fake, np.array([1.0, 0.0])).numpy() == pytest.approx(0.5)
    assert losses.hinge_generator_loss(fake).numpy() == pytest.approx(1.5)
    # k_scope "all": the fake side is weighted by k_t (0.2 x 0.5), the real side is not
    assert losses.hinge_discriminator_loss(real, fake, None, 0.2).numpy() == pytest.approx(0.25 + 0.1)


def test_warmup_and_ema_decay_schedules(losses):
    assert losses.warmup_weight(1.0, 0, 100).numpy() == 0.0
    assert losses.warmup_weight(1.0, 25, 100).numpy() == pytest.approx(0.25)
    assert losses.warmup_weight(0.8, 500, 100).numpy() == pytest.approx(0.8)
    assert losses.warmup_weight(0.8, 0, 0).numpy() == pytest.approx(0.8)
    assert losses.ema_decay_at(0, 0.999).numpy() == pytest.approx(0.1)
    assert losses.ema_decay_at(90, 0.999).numpy() == pytest.approx(91 / 100)
    assert losses.ema_decay_at(10**6, 0.999).numpy() == pytest.approx(0.999)


def test_other_tag_loss_sums_each_tag_s_sigmoid_cross_entropy(tf, losses):
    logits = np.array([[2.0, -1.0], [0.0, 3.0]], np.float32)
    targets = np.array([[1.0, 0.0], [0.0, 0.0]], np.float32)
    sig = lambda x: 1 / (1 + np.exp(-x))  # noqa: E731
    per_image = [-np.log(sig(2.0)) - np.log(1 - sig(-1.0)), -np.log(1 - sig(0.0)) - np.log(1 - sig(3.0))]
    got = losses.other_tag_loss(tf.constant(logits), tf.constant(targets)).numpy()
    np.testing.assert_allclose(got, np.mean(per_image), rtol=1e-5)
    masked = losses.other_tag_loss(tf.constant(logits), tf.constant(targets), tf.constant([1.0, 0.0])).numpy()
    np.testing.assert_allclose(masked, per_image[0], rtol=1e-5)  # a left-out image does not count


def test_head_gain_is_k_with_a_floor(losses):
    assert losses.head_gain(0.05, 0.3).numpy() == pytest.approx(0.3)
    assert losses.head_gain(0.6, 0.3).numpy() == pytest.approx(0.6)
    assert losses.head_gain(0.05, 0.0).numpy() == pytest.approx(0.05)
