"""DiffAugment (Zhao et al. 2020) for everything D sees: translation and cutout.

Both are differentiable (G's gradient flows through them) and change no
colour, because colours are the labels. Random draws come from a stateless
seed, so a resumed run augments exactly as an uninterrupted one.
"""

from __future__ import annotations

import tensorflow as tf

TRANSLATION_RATIO = 0.125  # shift up to 1/8 of the image size each way (zero padding)
CUTOUT_RATIO = 0.5  # a square of half the image size is blanked


def translate(images, seed, ratio: float = TRANSLATION_RATIO):
    """Shift each image by a random whole number of pixels, filling with 0 (mid-grey)."""
    shape = tf.shape(images)
    b, h, w = shape[0], images.shape[1], images.shape[2]
    pad = max(int(h * ratio + 0.5), 1)
    shift = tf.random.stateless_uniform([b, 2], seed, -pad, pad + 1, dtype=tf.int32)
    padded = tf.pad(images, [[0, 0], [pad, pad], [pad, pad], [0, 0]])
    rows = tf.range(h)[None, :] + pad - shift[:, :1]
    cols = tf.range(w)[None, :] + pad - shift[:, 1:]
    out = tf.gather(padded, rows, axis=1, batch_dims=1)
    return tf.gather(out, cols, axis=2, batch_dims=1)


def cutout(images, seed, ratio: float = CUTOUT_RATIO):
    """Blank (set to 0) one random square per image, of side ratio x size."""
    shape = tf.shape(images)
    b, h, w = shape[0], images.shape[1], images.shape[2]
    side = int(h * ratio + 0.5)
    corner = tf.random.stateless_uniform([b, 2], seed, 0, h - side + 1, dtype=tf.int32)
    ys = tf.range(h)[None, :]
    xs = tf.range(w)[None, :]
    inside_y = (ys >= corner[:, :1]) & (ys < corner[:, :1] + side)  # [b, h]
    inside_x = (xs >= corner[:, 1:]) & (xs < corner[:, 1:] + side)  # [b, w]
    inside = inside_y[:, :, None] & inside_x[:, None, :]
    keep = tf.cast(~inside, images.dtype)[..., None]
    return images * keep


def diff_augment(images, policy: str, seed):
    """Apply the comma-separated policy ("translation", "cutout") in that order."""
    ops = [p for p in policy.split(",") if p]
    seed = tf.cast(seed, tf.int64)
    if "translation" in ops:
        images = translate(images, seed)
    if "cutout" in ops:
        images = cutout(images, seed + tf.constant([0, 1], tf.int64))
    return images


# ---------------------------------------------------------------- adaptive (ADA)
# Adaptive augmentation (Karras et al. 2020) with BEGAN's own over-fitting signal. Every image D sees,
# real and generated alike, is mirrored, shifted and cut out, each with probability p. p follows the gap
# between D's reconstruction loss on held-out real faces and on training faces: while D reconstructs the
# faces it trains on better than faces it never saw (it memorises them), p rises; when the gap closes, p
# falls. The transforms keep colours (the labels) and, with p below ADA_MAX_P, do not leak into G's faces:
# G cannot tell a mirrored or shifted D input from a plain one when plain ones are still the most common.
ADA_MAX_P = 0.8
ADA_ADJUST_IMAGES = 50_000  # images seen for p to move from 0 to 1 at a steady sign (ADA: 500k, longer runs)
ADA_INTERVAL = 8  # steps between two measurements of the gap
# The gap's first measurements, averaged, are its baseline: what the data itself has (a small held-out set
# differs from the training set by chance: 0.06-0.36 on 1,200 faces before D had seen any of them), not
# over-fitting. p follows the gap above it; it stays at 0 while the baseline is measured.
ADA_BASELINE_MEASUREMENTS = 4


def ada_update(p: float, gap: float, target: float, images: int) -> float:
    """The next p: up by images / ADA_ADJUST_IMAGES while the over-fitting gap is above its target, down
    by as much while it is below; within [0, ADA_MAX_P]."""
    step = images / ADA_ADJUST_IMAGES
    return float(min(max(p + (step if gap > target else -step), 0.0), ADA_MAX_P))


def baseline_update(baseline: float, count: int, gap: float) -> float:
    """The running mean of the first gaps: `baseline` over `count` measurements, with `gap` added."""
    return gap if count == 0 else (baseline * count + gap) / (count + 1)


def overfit_gap(heldout_loss: float, train_loss: float) -> float:
    """D's relative advantage on its training faces: L(held-out) / L(train) - 1 (0: none)."""
    return float(heldout_loss / max(train_loss, 1e-8) - 1.0)


def adaptive_augment(images, p, seed):
    """Mirror, translate and cut out each image, each transform on its own with probability p."""
    seed = tf.cast(seed, tf.int64)
    n = tf.shape(images)[0]
    draw = tf.random.stateless_uniform([n, 3], seed) < tf.cast(p, tf.float32)
    chosen = lambda k, changed, plain: tf.where(draw[:, k, None, None, None], changed, plain)  # noqa: E731
    images = chosen(0, tf.reverse(images, axis=[2]), images)
    images = chosen(1, translate(images, seed + tf.constant([0, 1], tf.int64)), images)
    return chosen(2, cutout(images, seed + tf.constant([0, 2], tf.int64)), images)
