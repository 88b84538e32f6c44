"""tf.data pipeline over the cached dataset.

Each epoch's order is `numpy.random.default_rng([seed, epoch]).permutation`,
so a resumed run rebuilds the same order and skips whole batches to reach
its position, without checkpointing a shuffle buffer. Batches are gathered
from the in-memory uint8 array and scaled to [-1, 1].
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf


def epoch_order(indices: np.ndarray, seed: int, epoch: int) -> np.ndarray:
    return np.random.default_rng([seed, epoch]).permutation(np.asarray(indices))


def make_dataset(
    data,
    indices,
    batch_size: int,
    *,
    seed: int,
    epoch: int,
    skip_batches: int = 0,
    drop_remainder: bool = True,
) -> tf.data.Dataset:
    """Yields (images float32 [B,S,S,3] in [-1,1], conditions float32 [B,D], index int32 [B])."""
    order = epoch_order(indices, seed, epoch)[skip_batches * batch_size :].astype(np.int32)
    images, conditions = data.images, data.conditions
    size = images.shape[1]

    def gather(idx):
        return images[idx], conditions[idx]

    def load(idx):
        img, cond = tf.numpy_function(gather, [idx], [tf.uint8, tf.float32], stateful=False)
        img.set_shape([None, size, size, 3])
        cond.set_shape([None, conditions.shape[1]])
        return tf.cast(img, tf.float32) / 127.5 - 1.0, cond, idx

    ds = tf.data.Dataset.from_tensor_slices(order).batch(batch_size, drop_remainder=drop_remainder)
    return ds.map(load, num_parallel_calls=2, deterministic=True).prefetch(2)
