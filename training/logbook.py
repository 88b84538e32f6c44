"""The logs one sitting of the training loop keeps (the formats are training.run_logs'): metrics.csv
and TensorBoard with the speed and the CPU time over every sitting, and the filter's per-epoch logs.

Opened at the step the sitting starts from: every log is cut back to it, so a resumed run has no
duplicated or torn rows. Apart from the loop so that the loop says what happened and this says how
it is written down.
"""

from __future__ import annotations

import csv
import math
import os
import time
from pathlib import Path

import numpy as np

from common.cli import number
from model.run_folder import CHECKPOINT_DIR
from training.run_logs import FILTER_COLUMNS, METRIC_COLUMNS, STAGES_NAME, FilterLog, MetricsLog, truncate_csv


def last_cpu_seconds(metrics_csv: Path) -> float:
    """The cpu_seconds of the last row of metrics.csv (0 when absent: runs logged before the column)."""
    value = 0.0
    with open(metrics_csv, newline="") as fh:
        for row in csv.DictReader(fh):
            try:
                value = float(row.get("cpu_seconds") or value)
            except ValueError:
                pass
    return value


def cut_back(run_dir: Path, step: int) -> int:
    """Cut metrics.csv, eval.csv, stages.csv and the filter's unfinished-epoch logs back to `step`
    (the rows after it came from steps no checkpoint kept); returns the metrics rows kept."""
    # a run resumed from an earlier checkpoint than its last evaluation does not log that step twice
    kept = truncate_csv(run_dir / "metrics.csv", METRIC_COLUMNS, lambda r: int(r["step"]) <= step)
    for log in ("eval.csv", STAGES_NAME):  # stages recorded at this resume carry this very step
        truncate_csv(run_dir / log, None, lambda r: int(r["step"]) <= step)
    for partial in (run_dir / "filtered").glob("epoch_*.partial.csv"):
        truncate_csv(partial, FILTER_COLUMNS, lambda r: int(r["step"]) <= step)
    return kept


class Logbook:
    """metrics.csv, eval.csv, stages.csv, TensorBoard and the filter logs of `run_dir` from `step` on
    (the step of the checkpoint resumed from, 0 for a new run); `ids` and `paths` name the data's rows
    in the filter logs, `settings` go to TensorBoard's HParams tab."""

    def __init__(self, run_dir: Path, step: int, ids: np.ndarray, paths: np.ndarray, settings: dict):
        self.run_dir = run_dir
        self.filter = FilterLog(run_dir, ids, paths)
        for parked in (run_dir / CHECKPOINT_DIR).glob("epoch_*.partial.csv"):  # a finished run continued
            os.replace(parked, run_dir / "filtered" / parked.name)
        kept = cut_back(run_dir, step)
        # CPU time over every sitting of the run: the last logged total up to the checkpoint we resume
        # from (CPU spent after that checkpoint in a killed sitting is not counted), plus this process's.
        self._cpu_before = last_cpu_seconds(run_dir / "metrics.csv") if kept else 0.0
        self._cpu_start = time.process_time()
        self.metrics = MetricsLog(run_dir)
        self.metrics.hparams(settings, run_dir.name)
        self._window_start: float | None = None  # the clock starts after the sitting's first step (tracing)
        self._window_images = 0

    def rewind(self, step: int) -> None:
        """Back to `step` after a rollback to its checkpoint: every log cut back as at a resume, but the
        CPU clock goes on (the steps thrown away were paid for) and the speed is timed afresh. The
        filter's epoch log is reopened when the trainer starts the epoch again (FilterLog.start_epoch)."""
        cut_back(self.run_dir, step)
        self.metrics.reopen()
        self._window_start, self._window_images = None, 0

    def step_done(self, images: int) -> None:
        """A step of `images` images ended (the sitting's first, graph tracing and the data skip, untimed)."""
        if self._window_start is None:
            self._window_start = time.perf_counter()
        else:
            self._window_images += images

    def write(self, step: int, values: dict) -> str:
        """A metrics row (with the images per second since the last one and the CPU time); returns the
        progress bar's text."""
        elapsed = time.perf_counter() - self._window_start
        # no images timed yet (the first step of a sitting): no rate rather than a wrong one
        images_per_s = self._window_images / elapsed if self._window_images and elapsed > 0 else float("nan")
        self._window_start, self._window_images = time.perf_counter(), 0
        speed = {"images_per_s": images_per_s} if math.isfinite(images_per_s) else {}  # else an empty cell
        self.metrics.write(step, values | speed | {"cpu_seconds": self.cpu_seconds()})
        return (
            f"Lx {values['loss_real']:.3f} LG {values['loss_fake']:.3f} "
            f"k {values['k']:.3f} M {values['M']:.3f} lr {number(values['lr'])}"
            + (f" {images_per_s:.0f} img/s" if math.isfinite(images_per_s) else "")
        )

    def cpu_seconds(self) -> float:
        """CPU time (user + system, all threads) the run has used so far, over every sitting."""
        return self._cpu_before + time.process_time() - self._cpu_start

    def park_partial_filter_logs(self) -> None:
        """A finished run keeps no *.partial.csv in filtered/: the unfinished epoch's filter rows
        wait in checkpoints/ (with the rest of the resumable state) for a --resume --steps N."""
        for partial in (self.run_dir / "filtered").glob("epoch_*.partial.csv"):
            os.replace(partial, self.run_dir / CHECKPOINT_DIR / partial.name)

    def close(self) -> None:
        self.metrics.close()
