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
