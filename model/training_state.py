"""The one training state: everything beside the networks' weights that a checkpoint saves, a resume
restores and a fine-tune carries over.

- BEGAN's control: k_t;
- the learning rate and its plateau rule: the rate, M's running window, the best windowed M and the
  count of windows without a better one (training.lr_control);
- the per-epoch real-image filter: its threshold and this epoch's running loss statistics
  (model.real_filter);
- the position in the data: the step, the epoch in progress and the batch within it (the data order and
  every noise draw are functions of (seed, epoch, batch), so no random generator state is kept);
- ADA's probability p and its smoothed over-fitting gap, when adaptive augmentation is on (model.augment).

Each is a float32 or int64 scalar variable aggregated ONLY_FIRST_REPLICA (every replica assigns the
same all-reduced value), named in checkpoints as `variables()` lists them. Which entries a fine-tune
keeps, and why, is CARRIED. The data a run trains on is recorded beside it in RUN/data.csv
(training.run_data), which a resume checks before this state is restored.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from model.real_filter import NO_THRESHOLD, threshold_from_stats

# The entries a fine-tuning run keeps from its source: BEGAN's balance, the filter's measure of a bad
# real image and the rate hold for faces like the source's; the position, M's window, the plateau
# counters and the epoch's statistics count or measure the new data, so they start afresh.
CARRIED = ("k", "threshold", "lr")


def _scalar(name: str, value, dtype=tf.float32) -> tf.Variable:
    return tf.Variable(
        value, dtype=dtype, trainable=False, name=name, aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA
    )


class TrainingState:
    """Create it inside the distribution strategy's scope (CondBEGAN does)."""

    def __init__(self, lr: float, adaptive: bool = False, baseline_saved: bool = True):
        self.k = _scalar("k", 0.0)
        self.lr = _scalar("lr", lr)
        self.step = _scalar("step", 0, tf.int64)
        self.epoch = _scalar("epoch", 0, tf.int64)  # epoch in progress (0-based)
        self.batch_in_epoch = _scalar("batch_in_epoch", 0, tf.int64)
        self.m_sum = _scalar("m_window_sum", 0.0)
        self.m_count = _scalar("m_window_count", 0.0)
        self.best_m = _scalar("best_m", np.inf)
        self.bad_windows = _scalar("bad_windows", 0, tf.int64)
        self.threshold = _scalar("filter_threshold", NO_THRESHOLD)
        self.real_sum = _scalar("epoch_real_sum", 0.0)
        self.real_sq_sum = _scalar("epoch_real_sq_sum", 0.0)
        self.real_count = _scalar("epoch_real_count", 0.0)
        self.adaptive = adaptive
        self.augment_p = _scalar("augment_p", 0.0)
        self.overfit_gap = _scalar("overfit_gap", np.nan)  # ADA's smoothed measure (NaN: none yet)
        # the gap the data itself has (held-out faces differ from training faces by chance), measured first
        self.overfit_baseline = _scalar("overfit_baseline", np.nan)
        self.baseline_count = _scalar("overfit_baseline_count", 0.0)
        self.baseline_saved = baseline_saved  # False for a run whose checkpoints are from before the baseline

    def variables(self) -> dict[str, tf.Variable]:
        """{checkpoint name: variable}. ADA's p only when it is on, so that runs from before it (and runs
        without it) restore as they were saved."""
        return dict(
            k=self.k,
            lr=self.lr,
            step=self.step,
            epoch=self.epoch,
            batch_in_epoch=self.batch_in_epoch,
            m_sum=self.m_sum,
            m_count=self.m_count,
            best_m=self.best_m,
            bad_windows=self.bad_windows,
            threshold=self.threshold,
            real_sum=self.real_sum,
            real_sq_sum=self.real_sq_sum,
            real_count=self.real_count,
            **(
                {
                    "augment_p": self.augment_p,
                    "overfit_gap": self.overfit_gap,
                    **(
                        {
                            "overfit_baseline": self.overfit_baseline,
                            "overfit_baseline_count": self.baseline_count,
                        }
                        if self.baseline_saved
                        else {}
                    ),
                }
                if self.adaptive
                else {}
            ),
        )

    def carry_from(self, source: "TrainingState") -> None:
        """A fine-tune's start: CARRIED from `source`, the rest as new."""
        mine, theirs = self.variables(), source.variables()
        for name in CARRIED:
            mine[name].assign(theirs[name])

    # ------------------------------------------------------------- host side
    def value(self, name: str):
        """A scalar's value as a Python number."""
        return self.variables()[name].numpy().item()

    def position(self) -> tuple[int, int, int]:
        """(step, epoch in progress (0-based), batches done in it)."""
        return int(self.step.numpy()), int(self.epoch.numpy()), int(self.batch_in_epoch.numpy())

    def take_m_window(self) -> float | None:
        """The mean of M over the window just ended (None when empty); the window starts again."""
        count = float(self.m_count.numpy())
        mean = float(self.m_sum.numpy()) / count if count > 0 else None
        self.m_sum.assign(0.0)
        self.m_count.assign(0.0)
        return mean

    def end_epoch(self, filter_sd: float) -> float:
        """Close the epoch: the filter's next threshold from this epoch's real losses (mean + filter_sd
        standard deviations; returned), its running statistics reset, the position at the next epoch."""
        threshold = threshold_from_stats(
            float(self.real_sum.numpy()),
            float(self.real_sq_sum.numpy()),
            float(self.real_count.numpy()),
            filter_sd,
        )
        self.threshold.assign(threshold)
        for v in (self.real_sum, self.real_sq_sum, self.real_count):
            v.assign(0.0)
        self.epoch.assign_add(1)
        self.batch_in_epoch.assign(0)
        return threshold

    def describe(self) -> str:
        """'step 1200 (k=0.118, lr=0.0001, threshold=0.23)', for the lines a resume or a fine-tune prints."""
        from common.cli import number

        return (
            f"step {int(self.step.numpy())} (k={number(self.value('k'))}, lr={number(self.value('lr'))}, "
            f"threshold={number(self.value('threshold'))})"
        )
