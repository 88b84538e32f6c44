"""The per-epoch real-image filter of the course report.

Before each epoch the threshold is the previous epoch's mean real loss plus
`n_sd` standard deviations; during the epoch real images whose loss is above
it are left out of D's real and wrong-condition terms (they were mostly
non-faces and washed-out images). Nothing is filtered in the first epoch
(threshold = +inf). The statistics are running sums so they live in three
checkpointed scalars and survive a resume mid-epoch.
"""

from __future__ import annotations

import math

import tensorflow as tf

NO_THRESHOLD = math.inf


def threshold_from_stats(total: float, total_sq: float, count: float, n_sd: float = 2.0) -> float:
    """mean + n_sd * sd of the losses summarised by (sum, sum of squares, count)."""
    if count <= 0:
        return NO_THRESHOLD
    mean = total / count
    variance = max(total_sq / count - mean * mean, 0.0)
    return mean + n_sd * math.sqrt(variance)


def keep_mask(per_image_loss, threshold):
    """1.0 for images at or below the threshold, 0.0 for those left out.

    A threshold gone stale (D's real loss jumped since the last epoch) would
    leave out whole batches and starve D of real images, so the effective
    threshold is never below the batch median: at most half a batch is left out.
    """
    per_image_loss = tf.cast(per_image_loss, tf.float32)
    n = tf.shape(per_image_loss)[0]
    median = tf.sort(per_image_loss)[n // 2]
    effective = tf.maximum(tf.cast(threshold, tf.float32), median)
    return tf.cast(per_image_loss <= effective, tf.float32)
