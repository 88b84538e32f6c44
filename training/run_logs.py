"""Plain-file logs of a run: metrics.csv, TensorBoard events, filter logs.
Everything a user can open without the toolkit. (Images: the sample grids and
filter contact sheets are written by callbacks, see training.monitor.)

Rows carry the global step, and on resume every log is cut back to the step
of the checkpoint it resumes from, so a killed run never leaves duplicated
or torn rows behind.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

from common.files import atomic_write

METRIC_COLUMNS = [
    "step",
    "epoch",
    "loss_real",
    "loss_fake",
    "loss_wrong",
    "loss_aux",
    "loss_aux_fake",
    "kl",
    "mode_seeking",
    "loss_adv_d",
    "loss_adv_g",
    "k",
    "M",
    "lr",
    "filtered",
    "images_per_s",
    "cpu_seconds",
    "augment_p",
    "overfit_gap",
    "loss_other",
    "loss_other_fake",
    "overfit_baseline",
    "anchor",
]
FILTER_COLUMNS = ["step", "id", "path", "loss", "threshold"]
SUMMARY_COLUMNS = ["epoch", "threshold", "filtered", "seen"]
STAGE_COLUMNS = ["step", "setting", "old", "new"]
STAGES_NAME = "stages.csv"


def truncate_csv(path: Path, columns: list[str] | None, keep) -> int:
    """Rewrite `path` with `columns` as header (None: the file's own, for logs
    whose header grows, like eval.csv) and the complete rows for which
    `keep(row_dict)` is true; torn last lines and bad rows are dropped.
    Returns the number of rows kept."""
    if not path.exists():
        return 0
    raw = path.read_text(errors="replace")
    lines = raw.splitlines()
    if raw and not raw.endswith("\n") and lines:
        lines = lines[:-1]  # torn last line from a kill mid-write
    kept = []
    reader = csv.DictReader(io.StringIO("\n".join(lines)))
    columns = list(reader.fieldnames or []) if columns is None else columns
    for row in reader:
        if None in row or any(row.get(c) in (None, "") and c in ("step",) for c in columns):
            continue
        try:
            if keep(row):
                kept.append(row)
        except (ValueError, TypeError):
            continue
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows(kept)
    atomic_write(path, buf.getvalue())
    return len(kept)


class CsvAppender:
    """Appends rows to a CSV, writing the header when the file is new, and
    flushing each batch of rows so a kill loses at most the unflushed tail."""

    def __init__(self, path: Path, columns: list[str]):
        self.path = path
        self.columns = columns
        new = not path.exists() or path.stat().st_size == 0
        self._file = open(path, "a", newline="")
        self._writer = csv.DictWriter(
            self._file, fieldnames=columns, lineterminator="\n", extrasaction="ignore"
        )
        if new:
            self._writer.writeheader()
            self._file.flush()

    def write(self, rows: list[dict]) -> None:
        if rows:
            self._writer.writerows(rows)
            self._file.flush()

    def close(self) -> None:
        self._file.close()


def record_stage(run_dir: Path, step: int, before: dict, after: dict) -> list[dict]:
    """Append to RUN/stages.csv each setting a --resume changed (a new stage of
    training), so the run's history survives config.json being rewritten."""
    rows = [
        {"step": step, "setting": name, "old": before[name], "new": after[name]}
        for name in sorted(after)
        if name in before and before[name] != after[name]
    ]
    if rows:
        log = CsvAppender(Path(run_dir) / STAGES_NAME, STAGE_COLUMNS)
        try:
            log.write(rows)
        finally:
            log.close()
    return rows


def _fmt(value) -> str:
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.6g}"
    return str(value)


# TensorBoard groups (a tab per prefix): what each metrics.csv column is.
SCALAR_GROUPS = {
    "k": "control",
    "M": "control",
    "lr": "control",
    "filtered": "filter",
    "images_per_s": "speed",
    "augment_p": "augment",
    "overfit_gap": "augment",
    "overfit_baseline": "augment",
}


def tensorboard_name(column: str) -> str:
    """'loss_real' -> 'losses/loss_real', 'k' -> 'control/k', 'filtered' -> 'filter/filtered', ..."""
    return f"{SCALAR_GROUPS.get(column, 'losses')}/{column}"


def tensorboard_dir(run_dir: Path) -> Path:
    """Where a run's TensorBoard events go: the run folder itself, so that
    `tensorboard --logdir runs/` names the run after it ("mine", not "mine/tb").
    A run begun before this keeps writing to its tb/ (one curve per run)."""
    old = Path(run_dir) / "tb"
    return old if old.is_dir() and any(old.glob("events.out.tfevents.*")) else Path(run_dir)


# The figures TensorBoard's HParams tab shows beside each run's settings (their last logged values)
HPARAM_METRICS = (
    "losses/loss_real",
    "losses/loss_fake",
    "control/M",
    "control/k",
    "quality/acc_hair",
    "quality/acc_eyes",
    "quality/face_rate",
    "quality/diversity_ratio",
    "quality/frechet_generated_vs_real",
)


class MetricsLog:
    """metrics.csv + TensorBoard scalars, every `log_every` steps."""

    def __init__(self, run_dir: Path):
        import tensorflow as tf

        self.csv = CsvAppender(run_dir / "metrics.csv", METRIC_COLUMNS)
        self.writer = tf.summary.create_file_writer(str(tensorboard_dir(run_dir)))

    def hparams(self, settings: dict, run_name: str) -> None:
        """The run's settings in TensorBoard's HParams tab, with HPARAM_METRICS as its figures."""
        from tensorboard.plugins.hparams import api as hp

        values = {k: v for k, v in settings.items() if isinstance(v, (bool, int, float, str))}
        with self.writer.as_default():
            hp.hparams_config(
                hparams=[hp.HParam(k) for k in values], metrics=[hp.Metric(m) for m in HPARAM_METRICS]
            )
            hp.hparams(values, trial_id=run_name)
        self.writer.flush()

    def write(self, step: int, values: dict) -> None:
        import tensorflow as tf

        self.csv.write([{c: _fmt(values[c]) if c in values else "" for c in METRIC_COLUMNS} | {"step": step}])
        with self.writer.as_default(step=step):
            for name in METRIC_COLUMNS[2:]:
                if name in values:
                    tf.summary.scalar(tensorboard_name(name), float(values[name]))

    def reopen(self) -> None:
        """Append to metrics.csv as it is on disk now: after it was cut back and rewritten (a rollback)."""
        self.csv.close()
        self.csv = CsvAppender(self.csv.path, METRIC_COLUMNS)

    def scalars(self, step: int, values: dict, group: str) -> None:
        """More scalars in TensorBoard under `group/` (e.g. quality/ from the evaluation)."""
        import tensorflow as tf

        with self.writer.as_default(step=step):
            for name, value in values.items():
                try:
                    tf.summary.scalar(f"{group}/{name}", float(value))
                except (TypeError, ValueError):
                    continue
        self.writer.flush()

    def image(self, step: int, name: str, image_uint8: np.ndarray) -> None:
        import tensorflow as tf

        with self.writer.as_default(step=step):
            tf.summary.image(name, image_uint8[None], max_outputs=1)
        self.writer.flush()

    def close(self) -> None:
        self.csv.close()
        self.writer.close()


class FilterLog:
    """Per-epoch record of the real images the filter left out.

    During an epoch rows go to filtered/epoch_NNN.partial.csv (with the step,
    so a resume can cut it back); at the epoch's end it becomes
    filtered/epoch_NNN.csv and one line in filtered/summary.csv.
    """

    def __init__(self, run_dir: Path, ids: np.ndarray, paths: np.ndarray):
        self.dir = run_dir / "filtered"
        self.dir.mkdir(exist_ok=True)
        self.ids, self.paths = ids, paths
        self._partial: CsvAppender | None = None
        self._epoch = None

    def partial_path(self, epoch: int) -> Path:
        return self.dir / f"epoch_{epoch:03d}.partial.csv"

    def start_epoch(self, epoch: int) -> None:
        if self._partial is not None:
            self._partial.close()
        self._epoch = epoch
        self._partial = CsvAppender(self.partial_path(epoch), FILTER_COLUMNS)

    def record(self, step: int, rows: np.ndarray, per_image_loss: np.ndarray, threshold: float) -> None:
        self._partial.write(
            [
                {
                    "step": step,
                    "id": str(self.ids[r]),
                    "path": str(self.paths[r]),
                    "loss": f"{float(l):.6g}",
                    "threshold": f"{threshold:.6g}",
                }
                for r, l in zip(rows, per_image_loss)
            ]
        )

    def finish_epoch(self, epoch: int, threshold: float, seen: int) -> np.ndarray:
        """Write the epoch's final CSV and summary line; returns the data rows
        of the images left out, in the CSV's order."""
        if self._partial is not None:
            self._partial.close()
            self._partial = None
        partial = self.partial_path(epoch)
        rows = []
        if partial.exists():
            with open(partial, newline="") as fh:
                rows = [r for r in csv.DictReader(fh) if None not in r.values()]
        final = self.dir / f"epoch_{epoch:03d}.csv"
        buf = io.StringIO()
        writer = csv.DictWriter(
            buf,
            fieldnames=["id", "path", "loss", "threshold", "step"],
            lineterminator="\n",
            extrasaction="ignore",
        )
        writer.writeheader()
        writer.writerows(rows)
        atomic_write(final, buf.getvalue())
        summary = self.dir / "summary.csv"
        truncate_csv(summary, SUMMARY_COLUMNS, lambda r: int(r["epoch"]) < epoch)
        appender = CsvAppender(summary, SUMMARY_COLUMNS)
        appender.write(
            [{"epoch": epoch, "threshold": f"{threshold:.6g}", "filtered": len(rows), "seen": seen}]
        )
        appender.close()
        # The partial file is removed by the trainer only once the checkpoint after this
        # epoch is saved: a kill in between resumes mid-epoch and rebuilds this CSV from it.
        lookup = {str(i): n for n, i in enumerate(self.ids)}
        return np.array([lookup[r["id"]] for r in rows if r["id"] in lookup], np.int64)
