"""ADA's controller on the host: measures BEGAN's over-fitting signal and moves p (model.augment).

Every ADA_INTERVAL steps D reconstructs a batch of held-out real faces and a batch of training faces,
plain and under their own tags; the gap between the two mean losses (model.augment.overfit_gap) above
its baseline (the mean of the first ADA_BASELINE_MEASUREMENTS: the gap the data has before D could
memorise anything), smoothed over the measurements, moves p up or down (model.augment.ada_update).
The rows measured walk through both sets in a fixed order, so a resumed run measures as an
uninterrupted one would from there.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from model.augment import ADA_BASELINE_MEASUREMENTS, ADA_INTERVAL, ada_update, baseline_update, overfit_gap
from training.plan import ADA_MIN_HELDOUT

MEASURE_IMAGES = ADA_MIN_HELDOUT  # per side and measurement
SMOOTHING = 0.9  # the gap is a moving average over measurements (one batch of 32 is noisy)


class AdaController:
    def __init__(self, model, data, batch_size: int, target: float):
        self.model, self.data, self.batch_size, self.target = model, data, batch_size, target
        self.held = np.asarray(data.holdout_indices())
        self.train = np.asarray(data.train_indices())
        self._losses = tf.function(model.real_losses, autograph=False)

    def _mean_loss(self, rows: np.ndarray, step: int) -> float:
        start = (step // ADA_INTERVAL * MEASURE_IMAGES) % len(rows)
        picked = np.take(rows, np.arange(start, start + MEASURE_IMAGES), mode="wrap")
        images = tf.constant(self.data.images[picked], tf.float32) / 127.5 - 1.0
        return float(tf.reduce_mean(self._losses(images, tf.constant(self.data.conditions[picked]))))

    def on_step(self, step: int) -> None:
        """Measure and move p every ADA_INTERVAL steps."""
        if step % ADA_INTERVAL or not len(self.held):
            return
        state = self.model.state
        gap = overfit_gap(self._mean_loss(self.held, step), self._mean_loss(self.train, step))
        count = int(state.baseline_count.numpy())
        if count < ADA_BASELINE_MEASUREMENTS:  # p waits until the data's own gap is known
            state.overfit_baseline.assign(baseline_update(float(state.overfit_baseline.numpy()), count, gap))
            state.baseline_count.assign(count + 1)
            return
        excess = gap - float(state.overfit_baseline.numpy())
        smoothed = excess if not np.isfinite(self.gap) else SMOOTHING * self.gap + (1 - SMOOTHING) * excess
        state.overfit_gap.assign(smoothed)
        p = float(state.augment_p.numpy())
        state.augment_p.assign(ada_update(p, smoothed, self.target, ADA_INTERVAL * self.batch_size))

    @property
    def gap(self) -> float:
        """The smoothed over-fitting gap above the baseline (NaN until measured), checkpointed with p."""
        return float(self.model.state.overfit_gap.numpy())

    def values(self) -> dict:
        """What metrics.csv and TensorBoard log of it."""
        state = self.model.state
        out = {"augment_p": float(state.augment_p.numpy())}
        baseline = float(state.overfit_baseline.numpy())
        return (
            out
            | ({"overfit_baseline": baseline} if np.isfinite(baseline) else {})
            | ({"overfit_gap": self.gap} if np.isfinite(self.gap) else {})
        )
