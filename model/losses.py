"""Every BEGAN loss and control rule, each a pure function on tensors.

Kept in one module so the maths of the method can be read (and unit-tested
against hand-computed numbers) in one place. All results are float32, even
when the networks compute in bfloat16.
"""

from __future__ import annotations

import tensorflow as tf


def _f32(x):
    return tf.cast(x, tf.float32)


def masked_mean(values, mask=None):
    """Mean of a per-image vector over the images where mask is 1 (all if None)."""
    values = _f32(values)
    if mask is None:
        return tf.reduce_mean(values)
    mask = _f32(mask)
    return tf.reduce_sum(values * mask) / tf.maximum(tf.reduce_sum(mask), 1.0)


def reconstruction_loss(images, reconstructions):
    """Per-image L1: L(v) = mean |v - D(v, c)| over pixels and channels -> [B]."""
    return tf.reduce_mean(tf.abs(_f32(images) - _f32(reconstructions)), axis=[1, 2, 3])


def capped_wrong_condition_loss(loss_wrong, loss_real, cap: float = 1.5):
    """Per-image min(L(x, c_wrong), stop_gradient(cap * L(x, c))).

    D is pushed to reconstruct real images badly under wrong tags, but only up
    to `cap` times its real loss, so it keeps its autoencoding ability. The
    stop_gradient keeps the capped branch from rewarding a larger L(x).
    """
    return tf.minimum(_f32(loss_wrong), tf.stop_gradient(cap * _f32(loss_real)))


def wrong_condition_margin(loss_wrong, loss_real, cap: float = 1.5):
    """Per-image min(L(x, c_wrong), stop_gradient(cap * L(x, c))) - L(x, c): the same
    capped term, measured as a margin over the real loss.

    Why: D's wrong-tag and right-tag reconstructions share the encoder and
    nearly all of the decoder, so while D still ignores the tags their
    gradients are nearly equal. In L(x) - w * capped term the reconstruction
    pressure is then (1 - w) of itself: at w = 1 (the default) about 4 % is
    left, Adam's normalised steps go to separating the two reconstructions,
    and the easiest way to separate them is to inflate D's outputs, so L(x)
    runs away (0.7 -> 1e20 in 90 steps on n=64). As a margin the term's
    gradient is only the difference of the two, and L(x) keeps its full pull.
    """
    return capped_wrong_condition_loss(loss_wrong, loss_real, cap) - _f32(loss_real)


def wrong_condition_term(form: str, loss_wrong, loss_real, cap: float = 1.5):
    """The wrong-condition term in the configured form: "margin" (the default) or the course's "course"."""
    if form == "margin":
        return wrong_condition_margin(loss_wrong, loss_real, cap)
    return capped_wrong_condition_loss(loss_wrong, loss_real, cap)


def discriminator_loss(loss_real, loss_fake, wrong_term, k, wrong_weight, mask=None):
    """L_D = L(x) - k_t L(G(z)) - w_wrong * capped wrong-condition term (batch means).

    `mask` (1 = kept) drops the real images the per-epoch filter left out from
    the real and wrong-condition means.
    """
    return (
        masked_mean(loss_real, mask)
        - _f32(k) * masked_mean(loss_fake)
        - _f32(wrong_weight) * masked_mean(wrong_term, mask)
    )


def out_of_bound(images):
    """mean(relu(|y| - 1)^2): zero inside [-1, 1], quadratic outside."""
    return tf.reduce_mean(tf.square(tf.nn.relu(tf.abs(_f32(images)) - 1.0)))


def generator_loss(loss_fake, oob, oob_weight, recon_weight=1.0):
    """L_G = w_rec L(G(z, c), c) + w_oob * out_of_bound(G(z, c)).

    `recon_weight` (1 in the paper) gives BEGAN's own term more say in G's loss
    against the heads beside it: every extra G term pulls G away from faces D
    reconstructs easily, and k_t can only push L(G(z)) up, never down."""
    return _f32(recon_weight) * masked_mean(loss_fake) + _f32(oob_weight) * _f32(oob)


def k_update(k, loss_real, loss_fake, gamma, lambda_k):
    """k_{t+1} = clip(k_t + lambda_k (gamma L(x) - L(G(z))), 0, 1)."""
    return tf.clip_by_value(_f32(k) + lambda_k * (gamma * _f32(loss_real) - _f32(loss_fake)), 0.0, 1.0)


def head_gain(k, floor: float):
    """How hard G follows the heads under k-scope game: k_t, but never below `floor`, so the
    pull towards sharp, on-tag faces survives when the balance settles k_t low."""
    return tf.maximum(_f32(k), floor)


def convergence_measure(loss_real, loss_fake, gamma):
    """M = L(x) + |gamma L(x) - L(G(z))|: falls as training converges."""
    loss_real = _f32(loss_real)
    return loss_real + tf.abs(gamma * loss_real - _f32(loss_fake))


def mode_seeking(images_a, images_b, z_a, z_b, eps: float = 1e-5):
    """Mode-seeking term (MSGAN, Mao et al. 2019): 1 / (mean|G(z_a,c)-G(z_b,c)| / mean|z_a-z_b|).

    Small when two noises with the same tags give different images, large
    when G ignores z (the mode collapse the course team saw). Optional
    extension, weighted by `diversity_weight`. With several replicas each
    pairs the images of its own share of the batch, so it is the one term
    that is not exactly the single-device value.
    """
    image_gap = tf.reduce_mean(tf.abs(_f32(images_a) - _f32(images_b)))
    z_gap = tf.reduce_mean(tf.abs(_f32(z_a) - _f32(z_b)))
    return 1.0 / (image_gap / z_gap + eps)


def kl_to_standard_normal(mu, log_sigma):
    """KL(N(mu, sigma^2) || N(0, 1)) per image, summed over dims, batch mean
    (the conditioning-augmentation penalty of StackGAN)."""
    mu, log_sigma = _f32(mu), _f32(log_sigma)
    kl = 0.5 * tf.reduce_sum(tf.square(mu) + tf.exp(2.0 * log_sigma) - 1.0 - 2.0 * log_sigma, axis=-1)
    return tf.reduce_mean(kl)


def tag_classification_loss(logits, labels, group_sizes, mask=None):
    """Auxiliary tag head: summed softmax cross-entropy over the single-value
    groups (labels int [B, G]); logits are the groups' blocks side by side."""
    logits = _f32(logits)
    total = 0.0
    start = 0
    for g, size in enumerate(group_sizes):
        block = logits[:, start : start + size]
        total += tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels[:, g], logits=block)
        start += size
    return masked_mean(total, mask)


def other_tag_loss(logits, targets, mask=None):
    """Auxiliary tag head, the other tags (smile, glasses...): summed sigmoid cross-entropy of each tag's
    logit against 0/1 targets [B, T] (a face may carry several, or none)."""
    per_tag = tf.nn.sigmoid_cross_entropy_with_logits(labels=_f32(targets), logits=_f32(logits))
    return masked_mean(tf.reduce_sum(per_tag, axis=1), mask)


def hinge_discriminator_loss(score_real, score_fake, mask=None, fake_weight=1.0):
    """Hinge loss of the projection head: mean relu(1 - D(x, c)) + w_fake mean relu(1 + D(G(z), c)).

    `fake_weight` is 1 in the plain hinge; with k_scope "all" it is k_t, so BEGAN's
    one controller decides how hard D pushes fakes away in every term."""
    return masked_mean(tf.nn.relu(1.0 - _f32(score_real)), mask) + _f32(fake_weight) * tf.reduce_mean(
        tf.nn.relu(1.0 + _f32(score_fake))
    )


def hinge_generator_loss(score_fake):
    """G's side of the hinge loss: -mean D(G(z), c)."""
    return -tf.reduce_mean(_f32(score_fake))


def warmup_weight(weight, step, warmup_steps: int):
    """weight x min(1, step / warmup_steps); the full weight when warmup_steps is 0."""
    if warmup_steps <= 0:
        return _f32(weight)
    return _f32(weight) * tf.minimum(1.0, _f32(step) / float(warmup_steps))


def ema_decay_at(step, decay: float):
    """EMA decay with the usual warm-up min(decay, (1 + t) / (10 + t)), so early
    averages are not dominated by the random initial weights."""
    t = _f32(step)
    return tf.minimum(decay, (1.0 + t) / (10.0 + t))
