"""The training loop around `CondBEGAN.train_step`: data, run directory, resume,
learning-rate control, the per-epoch filter, signals, the divergence guard and
the rollback that recovers from a run-away, and the hooks. Checkpoints are
training.checkpoints' (RunCheckpoints), the logs of a sitting training.logbook's
(Logbook).

A custom loop (rather than `fit`) because the per-epoch filter needs the
per-image losses of every step, and an exact mid-epoch resume needs the
epoch's data order rebuilt from (seed, epoch) and skipped ahead. What is
written beside the logs (sample grids, filter contact sheets, quality
metrics) comes from `TrainerCallback`s passed in by the caller (train.py
wires training.monitor's), so the loop does not know how samples are judged
or drawn.
"""

from __future__ import annotations

import dataclasses
import math
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from tqdm import tqdm

from common.cli import number
from model import precision
from model.began import Batch, CondBEGAN
from model.config import TrainConfig
from model.run_folder import (
    CHECKPOINT_DIR,
    EXPORT_DIR,
    VOCAB_NAME,
    RunDirError,
    float32_generator,
    float32_reconstructor,
    prepare_run_dir,
    saved_names,
)
from preprocess.cache import build_or_load, with_vocabulary
from preprocess.dataset import make_dataset
from preprocess.spec import DataSpec
from sampling.export import export_generator
from tags.vocab import Vocabulary
from training import ada, fine_tune
from training.checkpoints import RunCheckpoints
from training.divergence import ROLLBACKS, DivergenceGuard
from training.logbook import Logbook
from training.lr_control import PlateauState, lowered_after_run_away, plateau_update
from training.plan import (
    ADA_MIN_HELDOUT,
    adaptive_augmentation,
    gamma_line,
    plan,
    probe_description,
    run_gamma,
)
from training.run_data import DATA_RECORD, current_record, data_changes, read_record, write_record
from training.run_logs import record_stage

PER_IMAGE_OUTPUTS = ("per_image_real", "kept", "index")
EARLY_CHECKPOINT = 25  # step of the first checkpoint, before --checkpoint-every is due


class TrainingDiverged(RuntimeError):
    """The losses ran away (or became NaN/inf) once more than the trainer rolls back for (ROLLBACKS),
    or before the first checkpoint; the last good checkpoint is kept."""


class RunAway(Exception):
    """The divergence guard fired at `step` (the loop's signal to roll back)."""

    def __init__(self, step: int, reason: str):
        super().__init__(reason)
        self.step, self.reason = step, reason


class TrainingInterrupted(RuntimeError):
    """SIGINT/SIGTERM: a checkpoint was written before stopping."""

    def __init__(self, message: str, signum: int):
        super().__init__(message)
        self.signum = signum


@dataclass
class TrainResult:
    run_dir: Path
    step: int
    epoch: int
    k: float
    lr: float
    threshold: float
    export_dir: Path
    start_step: int = 0  # where this call started (a resumed run: its checkpoint's step)
    total_steps: int = 0  # the step it was asked to reach (--steps, or --epochs x steps per epoch)


class TrainerCallback:
    """What the loop calls besides its own logging; every hook does nothing by
    default. `trainer` gives the run (run_dir, config, vocab, data, model)."""

    def on_train_begin(self, trainer: "Trainer") -> None:
        pass

    def on_step_end(self, trainer: "Trainer", step: int) -> None:
        pass

    def on_epoch_end(self, trainer: "Trainer", epoch: int, left_out: np.ndarray | None) -> None:
        """`epoch` 1-based; `left_out`: data rows the filter left out in it (None in epoch 1)."""

    def on_train_end(self, trainer: "Trainer", step: int) -> None:
        """The run reached its total (not called when it stops early), before the export."""


def make_strategy(name: str):
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multiworker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    return tf.distribute.get_strategy()


def with_noise(dataset, config: TrainConfig, epoch: int, first_batch: int):
    """Add z, eps and the wrong-tag draw to each batch from a stateless seed
    (seed, epoch, batch number): a resumed or multi-replica run draws exactly
    the same noise as an uninterrupted single-device run."""
    base = tf.constant(config.seed * 100003 + epoch, tf.int64)

    def add(batch_no, batch):
        images, cond, index = batch
        n = tf.shape(images)[0]
        seed = tf.stack([base, batch_no])
        z = tf.random.stateless_uniform([n, config.nz], seed=seed, minval=-1.0, maxval=1.0)
        eps = tf.random.stateless_normal([n, config.embed_dim], seed=seed + [0, 1 << 40])
        wrong_u = tf.random.stateless_uniform([n], seed=seed + [0, 2 << 40])
        z2 = tf.random.stateless_uniform([n, config.nz], seed=seed + [0, 3 << 40], minval=-1.0, maxval=1.0)
        return Batch(images, cond, tf.cast(index, tf.int32), z, eps, wrong_u, z2)

    return dataset.enumerate(start=first_batch).map(add, num_parallel_calls=tf.data.AUTOTUNE)


class Trainer:
    """`prepare()` checks the run folder, loads the data, builds the model and
    restores a resumed run (or fine-tuning weights); `train()` prepares if
    needed, trains to the configured step and exports the generator.

    `config` is frozen and was checked when it was made (TrainConfig validates itself), so
    the trainer checks nothing again and never changes it: what it derives (cond_dim, from
    the vocabulary) goes into its own copy, `self.config`. On --resume, `recorded` is the
    run's config.json as the caller read it to build `config` (train.py reads it once);
    stages.csv compares against it. It is read from the run folder when not given."""

    def __init__(
        self,
        config: TrainConfig,
        run_dir: str | Path,
        *,
        resume: bool = False,
        init_from: str | None = None,
        progress: bool = True,
        data=None,
        callbacks: list[TrainerCallback] = (),
        lr_override: float | None = None,
        recorded: TrainConfig | None = None,
    ):
        self.run_dir = Path(run_dir)
        self.resume = resume
        self.init_from = init_from
        self.progress = progress
        self.config = config
        self._recorded = recorded
        self.callbacks = list(callbacks)
        self.model: CondBEGAN | None = None
        self._data = data
        self._stop_signal: int | None = None
        self._sampler = None
        self.lr_override = lr_override  # --lr given with --resume: replaces the checkpoint's rate

    # ------------------------------------------------------------------ setup
    def prepare(self) -> None:
        if self.model is not None:
            return
        self._lock = prepare_run_dir(self.run_dir, resume=self.resume)  # held until train() ends
        try:
            self._prepare_locked()
        except BaseException:
            self._lock.release()
            raise

    def _prepare_locked(self) -> None:
        self.precision = precision.apply(self.config.precision)
        self.strategy = make_strategy(self.config.strategy)
        self._load_data()
        self._build_model()
        if self.resume:
            self.checkpoints.restore_latest()
            # --steps/--epochs and the other settings --resume may change are what the run is asked to
            # do now: stages.csv first, then config.json, so a stop in between loses no change.
            recorded = self._recorded or TrainConfig.load(self.run_dir)
            record_stage(
                self.run_dir, self.model.state.value("step"), recorded.to_dict(), self.config.to_dict()
            )
            self.config.save(self.run_dir)
            print(f"resumed at {self.model.state.describe()}", file=sys.stderr)
        elif self.init_from:
            self.say(fine_tune.transfer(self.model, Path(self.init_from), self.vocab).describe())
        self.model.set_learning_rate(self.lr_override or self.model.state.value("lr"))
        self._ada = (
            ada.AdaController(self.model, self.data, self.global_batch, self.config.ada_target)
            if self.model.adaptive
            else None
        )

        # autograph off: the step's branches are on settings, not tensors, and converting its source
        # took 4 of the 12 CPU-seconds a tiny run's start costs (AMD EPYC Zen 5); the graph is the same
        @tf.function(autograph=False)
        def step_fn(batch):
            return self.strategy.run(self.model.train_step, args=(batch,))

        @tf.function(autograph=False)
        def probe_fn(batch):
            return self.strategy.run(self.model.train_step, args=(batch,), kwargs={"probe": True})

        self.step_fn, self.probe_fn = step_fn, probe_fn
        # a fine-tune whose vocabulary grew probes first (its masks mark the new tags' weights)
        grew = any(float(tf.reduce_sum(m)) > 0 for m in self.model.probe_masks.values())
        self.probe_steps = self.config.probe_steps if grew else 0
        if self.probe_steps and self.model.state.value("step") < self.probe_steps:
            self.say(probe_description(self.config, self.total_steps))

    def _load_data(self) -> None:
        """The cached data, in the resumed run's vocabulary, or in a fine-tuned run's: the source's
        grown by the data's (said in one line); a new run saves its config.json and vocab.json."""
        cfg = self.config
        # a fine-tuned run's data is read in the data's own vocabulary, then put in the grown one (the same
        # way at every sitting: fine_tune.SOURCE_RECORD says a resumed run was one)
        fine_tuned = bool(self.init_from) or (
            self.resume and (self.run_dir / fine_tune.SOURCE_RECORD).exists()
        )
        vocab = Vocabulary.load(self.run_dir / VOCAB_NAME) if self.resume else None
        self.tags_grew = False  # (a new fine-tune's; a resumed one's checkpoint says)
        data = self._data or build_or_load(
            DataSpec.from_config(cfg, None if fine_tuned else vocab),
            cache_dir=cfg.cache_dir or None,
            progress=self.progress,
        )
        if self.init_from and not self.resume:
            growth = fine_tune.source_vocabulary(Path(self.init_from)).grown_by(data.vocab)
            data = with_vocabulary(data, growth.vocab)
            self.tags_grew = bool(growth.added)
            self.say(growth.describe())
            fine_tune.record_source(self.run_dir, self.init_from)
        elif fine_tuned:
            data = with_vocabulary(data, vocab)
        if data.images.shape[1] != cfg.image_size:
            raise RunDirError(f"the data is {data.images.shape[1]}px but the model is {cfg.image_size}px")
        self._keep_recorded_data(data)
        self.data = data
        self.fine_tuned = fine_tuned
        self.vocab = data.vocab
        self.train_rows = np.asarray(data.train_indices())
        self.global_batch = cfg.batch_size
        self.steps_per_epoch = len(self.train_rows) // self.global_batch
        if self.steps_per_epoch < 1:
            raise RunDirError(
                f"only {len(self.train_rows)} training images for a batch of {self.global_batch}: "
                "add images or lower --batch-size"
            )
        self.plan = plan(cfg, len(self.train_rows), fine_tune=bool(self.init_from))
        self.total_steps = self.plan.steps
        gamma_said = None if self.resume else gamma_line(cfg, self.plan)
        # derived, into the trainer's own copy (the caller's stays as it was): the condition size from the
        # vocabulary, and the length rule's steps, so that a resumed run keeps the length it planned
        self.config = cfg = dataclasses.replace(
            cfg,
            cond_dim=int(self.vocab.dim),
            steps=cfg.steps or (0 if cfg.epochs else self.total_steps),
            ada=adaptive_augmentation(cfg, self.plan, len(data.holdout_indices())),
            gamma=cfg.gamma if self.resume else run_gamma(cfg, self.plan),  # (a resumed run's is recorded)
        )
        if cfg.ada == "on" and len(data.holdout_indices()) < ADA_MIN_HELDOUT:
            raise RunDirError(
                f"--ada on measures D's over-fitting on held-out faces and needs {ADA_MIN_HELDOUT}; this run "
                f"holds out {len(data.holdout_indices())}: raise --holdout, or use --ada off"
            )
        if not self.resume:  # a resumed run saves its settings once its checkpoint is restored
            cfg.save(self.run_dir)
            self.vocab.save(self.run_dir / VOCAB_NAME)  # (+ word2vec.txt beside it in word2vec mode)
            write_record(self.run_dir, current_record(data))
            self.say(self.plan.describe())
            if self.plan.advice():
                self.say(self.plan.advice())
            if gamma_said:
                self.say(gamma_said)
            if cfg.ada == "on":
                self.say(
                    "adaptive augmentation on (--ada): D's inputs are mirrored, shifted and cut out "
                    "with a probability that follows its over-fitting (augment_p in metrics.csv)"
                )

    def _keep_recorded_data(self, data) -> None:
        """A resumed run goes on with the data and the split it recorded (RUN/data.csv):
        a changed data set is refused in one line naming the change; a split drawn
        differently today (another version of the toolkit) gives way to the recorded one."""
        if not self.resume:
            return
        current, recorded = current_record(data), read_record(self.run_dir)
        if recorded is None:  # a run from before data.csv: its data is recorded from now on
            write_record(self.run_dir, current)
            return
        changes = data_changes(recorded, current)
        if changes:
            raise RunDirError(
                f"--resume: the data changed since the run started: {'; '.join(changes)}; its held-out split "
                f"would not hold: restore the data, or train on it in a new run (--init-from {self.run_dir} "
                "--run-dir NEW)"
            )
        held = np.array([recorded[i][0] == "holdout" for i in data.ids.tolist()])
        if not np.array_equal(held, data.holdout):
            print(
                f"note: kept the held-out split recorded in {self.run_dir / DATA_RECORD} "
                f"({int((held != data.holdout).sum())} images would have moved)",
                file=sys.stderr,
            )
            data.holdout = held

    def _build_model(self) -> None:
        cfg, data = self.config, self.data
        keras.utils.set_random_seed(cfg.seed)  # same --seed, same initial weights
        saved = saved_names(self.run_dir / CHECKPOINT_DIR) if self.resume else None
        # a run resumed from checkpoints without the probe (made before it) goes on without one
        probe = self.fine_tuned and cfg.probe_steps > 0 and (saved is None or "probe_masks" in saved)
        # the anchor: a fine-tune to new tags, or a resumed one that saved it
        anchored = self.tags_grew if saved is None else "anchor_generator" in saved
        anchor = self.fine_tuned and cfg.anchor_weight > 0 and anchored
        with self.strategy.scope():
            self.model = CondBEGAN(
                cfg,
                self.vocab.dim,
                [len(v) for v in self.vocab.groups.values()],
                data.combo,
                data.combo_conditions,
                data.labels,
                n_other=len(self.vocab.other_tags),
                probe=probe,
                saved=saved,
                anchor=anchor,
            )
            self.model.build_optimizers()
            checkpoint = self.model.training_checkpoint()
        self.checkpoints = RunCheckpoints(
            checkpoint, self.model.state.step, self.run_dir, cfg.keep_checkpoints, resume=self.resume
        )

    # ------------------------------------------------------------------- loop
    def train(self) -> TrainResult:
        self.prepare()
        try:
            return self._train_locked()
        finally:
            self._lock.release()

    def _train_locked(self) -> TrainResult:
        model = self.model
        self._step = start_step = model.state.value("step")
        self.logs = Logbook(self.run_dir, self._step, self.data.ids, self.data.paths, self.config.to_dict())
        for callback in self.callbacks:
            callback.on_train_begin(self)
        old_handlers = {s: signal.signal(s, self._on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
        self._bar = self._progress_bar()
        self._guard = DivergenceGuard()
        self._rollbacks = 0
        try:
            while self._step < self.total_steps:
                try:
                    self._train_epoch()
                except RunAway as run_away:
                    self._roll_back(run_away)
            for callback in self.callbacks:
                callback.on_train_end(self, self._step)
            self.logs.park_partial_filter_logs()
        finally:
            self._bar.close()
            self.logs.close()
            for s, h in old_handlers.items():
                signal.signal(s, h)
        export_dir = export_generator(
            self.sampling_generator(),
            self.config,
            self.run_dir / VOCAB_NAME,
            self.run_dir / EXPORT_DIR,
            float32_reconstructor(model.discriminator, self.config),
        )
        return TrainResult(
            self.run_dir,
            self._step,
            self.current_epoch(),
            model.state.value("k"),
            model.state.value("lr"),
            model.state.value("threshold"),
            export_dir,
            start_step,
            self.total_steps,
        )

    def _progress_bar(self) -> tqdm:
        """The progress bar from the current step (a new one after a rollback: its speed starts again)."""
        return tqdm(
            total=self.total_steps,
            initial=self._step,
            disable=not self.progress,
            unit="step",
            dynamic_ncols=True,
            desc=self.run_dir.name,
        )

    def current_epoch(self) -> int:
        """The 1-based epoch of the last step, as metrics.csv's epoch column and the progress bar count."""
        _, done, batch = self.model.state.position()
        return done + 1 if batch or done == 0 else done

    @property
    def total_epochs(self) -> int:
        return -(-self.total_steps // self.steps_per_epoch)

    def say(self, line: str) -> None:
        """A line for the user while training (on stderr, above the progress bar)."""
        tqdm.write(line, file=sys.stderr)

    def _train_epoch(self) -> None:
        """The rest of the epoch in progress (all of it unless resumed mid-epoch),
        or up to the last step; then the epoch's end and a checkpoint."""
        model = self.model
        _, epoch, _ = model.state.position()
        threshold = model.state.value("threshold")
        batches = self._epoch_batches()
        self.logs.filter.start_epoch(epoch + 1)
        self._bar.set_description_str(
            f"{self.run_dir.name} epoch {epoch + 1}/{self.total_epochs}", refresh=False
        )
        finished_epoch = True
        for batch in batches:
            self._train_step(batch, epoch, threshold)
            if self._step >= self.total_steps:
                finished_epoch = model.state.position()[2] >= self.steps_per_epoch
                break
        if finished_epoch:
            self._end_epoch(epoch, threshold)
        self.checkpoints.save()
        if finished_epoch:
            self.logs.filter.partial_path(epoch + 1).unlink(missing_ok=True)

    def _epoch_batches(self):
        """The batches (with their noise) left in the epoch in progress, over the strategy's replicas."""
        _, epoch, skip = self.model.state.position()
        ds = make_dataset(
            self.data,
            self.train_rows,
            self.global_batch,
            seed=self.config.seed,
            epoch=epoch,
            skip_batches=skip,
            drop_remainder=True,
        )
        return self.strategy.experimental_distribute_dataset(with_noise(ds, self.config, epoch, skip))

    def _train_step(self, batch, epoch: int, threshold: float) -> None:
        """One update, then what follows it: divergence guard, filter log, lr windows,
        metrics, checkpoints, callbacks, and a stop on SIGINT/SIGTERM."""
        cfg = self.config
        out = (self.probe_fn if self._step < self.probe_steps else self.step_fn)(batch)
        self._step += 1
        step = self._step
        values = {k: float(self._first_replica(v)) for k, v in out.items() if k not in PER_IMAGE_OUTPUTS}
        reason = self._guard.check(values)
        if reason:
            raise RunAway(step, reason)  # before this step's checkpoint: the newest one is still good
        if values["filtered"] > 0:
            left_out = self._gathered(out["kept"]) < 0.5
            self.logs.filter.record(
                step,
                self._gathered(out["index"])[left_out],
                self._gathered(out["per_image_real"])[left_out],
                threshold,
            )
        self.logs.step_done(self.global_batch)
        if step % cfg.lr_window == 0:
            self._plateau_window()
        if self._ada is not None:
            self._ada.on_step(step)
            values |= self._ada.values()
        if step % cfg.log_every == 0 or step == self.total_steps:
            self._bar.set_postfix_str(self.logs.write(step, values | {"epoch": epoch + 1}), refresh=False)
        self._bar.update(1)
        if step % cfg.checkpoint_every == 0 or step == EARLY_CHECKPOINT:
            self.checkpoints.save()  # (an early one too, so a run that stops soon keeps a state)
        for callback in self.callbacks:
            callback.on_step_end(self, step)
        if self._stop_signal is not None:
            path = self.checkpoints.save()
            name = signal.Signals(self._stop_signal).name
            raise TrainingInterrupted(
                f"{name} at step {step}: checkpoint {path} written; continue with "
                f"python train.py --run-dir {self.run_dir} --resume",
                self._stop_signal,
            )

    def _roll_back(self, run_away: RunAway) -> None:
        """Recover from a run-away: back to the newest checkpoint (written before it) with the rate and its
        floor halved (lowered_after_run_away) and a new guard, then on to the planned step (the data
        order is a function of the position, so the steps are replayed). Said in one line, and kept in
        stages.csv (lr, lr_floor, and rollback: the step it ran away at -> the step it went back to), in
        config.json and in the checkpoint written again at once, so a --resume keeps the lowered rate;
        TensorBoard counts the rollbacks (control/rollbacks). Past ROLLBACKS, or before the first
        checkpoint, the run stops (TrainingDiverged)."""
        latest = self.checkpoints.latest
        if latest is None or self._rollbacks >= ROLLBACKS:
            raise TrainingDiverged(self._divergence_message(run_away.step, run_away.reason))
        # the rate as float32 holds it, in its shortest decimal (0.0002, not 0.000199999995): what
        # stages.csv and config.json say, and the start of the lowered one
        rate, before = float(str(np.float32(self.model.state.value("lr")))), self.config
        lr, lr_floor = lowered_after_run_away(rate, before.lr_floor)
        self.config = dataclasses.replace(before, lr=lr, lr_floor=lr_floor)
        restored = self.checkpoints.restore_latest()
        self._step = back = self.model.state.value("step")
        self.model.set_learning_rate(lr)
        self._guard = DivergenceGuard()
        self._rollbacks += 1
        self.logs.rewind(back)
        record_stage(
            self.run_dir,
            back,
            before.to_dict() | {"lr": rate, "rollback": run_away.step},
            self.config.to_dict() | {"rollback": back},
        )
        self.config.save(self.run_dir)
        self.checkpoints.save()  # the same step, now with the lowered rate
        self.logs.metrics.scalars(back, {"rollbacks": self._rollbacks}, "control")
        self._bar.close()
        self._bar = self._progress_bar()
        self.say(
            f"step {run_away.step}: {run_away.reason}; rolled back to {Path(restored).name} at half the "
            f"rate (lr {number(rate)} -> {number(lr)}, lr_floor {number(before.lr_floor)} -> "
            f"{number(lr_floor)}; rollback {self._rollbacks} of {ROLLBACKS})"
        )

    def _divergence_message(self, step: int, reason: str) -> str:
        latest = self.checkpoints.latest
        lr, lr_floor = lowered_after_run_away(self.model.state.value("lr"), self.config.lr_floor)
        if latest is None:
            return (
                f"training stopped at step {step}: {reason}. It stopped before its first checkpoint; "
                f"start again with a lower rate, e.g. --lr {number(lr)}"
            )
        tried = f" after {self._rollbacks} rollbacks at lower rates" if self._rollbacks else ""
        return (
            f"training stopped at step {step}{tried}: {reason}. The last good checkpoint is {latest}; "
            f"continue from it with a lower rate: python train.py --run-dir {self.run_dir} --resume "
            f"--lr {number(lr)} --lr-floor {number(lr_floor)}"
        )

    def sampling_generator(self):
        """A float32 generator with the weights used for samples, evaluation and
        export (G's moving average when --ema-decay is on); built once, refreshed per call."""
        if self._sampler is None:
            self._sampler = float32_generator(self.model.generator, self.config)
        self._sampler.set_weights(self.model.sampling_weights())
        return self._sampler

    def _plateau_window(self):
        """At a window's end: the rate halves when mean M has not improved for --lr-patience windows."""
        state, cfg = self.model.state, self.config
        mean_m = state.take_m_window()
        if mean_m is None:
            return
        old = PlateauState(state.value("lr"), state.value("best_m"), state.value("bad_windows"))
        new = plateau_update(old, mean_m, patience=cfg.lr_patience, floor=cfg.lr_floor)
        state.best_m.assign(new.best)
        state.bad_windows.assign(new.bad_windows)
        if new.lr != old.lr:
            self.model.set_learning_rate(new.lr)

    def _end_epoch(self, epoch: int, threshold: float) -> None:
        """The filter's record and next threshold, the epoch counter, the callbacks."""
        state = self.model.state
        left_out = None
        if math.isfinite(threshold):  # nothing is filtered in the first epoch
            left_out = self.logs.filter.finish_epoch(epoch + 1, threshold, int(state.value("real_count")))
        state.end_epoch(self.config.filter_sd)
        for callback in self.callbacks:
            callback.on_epoch_end(self, epoch + 1, left_out)

    # ---------------------------------------------------------------- helpers
    def cpu_seconds(self) -> float:
        """CPU time (user + system, all threads) the run has used so far, over every sitting
        (for callbacks)."""
        return self.logs.cpu_seconds()

    def log_image(self, name: str, image_uint8: np.ndarray) -> None:
        """An image in TensorBoard at the current step (for callbacks)."""
        self.logs.metrics.image(self.model.state.value("step"), name, image_uint8)

    def log_scalars(self, values: dict, group: str) -> None:
        """Scalars in TensorBoard under `group/` at the current step (for callbacks)."""
        self.logs.metrics.scalars(self.model.state.value("step"), values, group)

    def _on_signal(self, signum, _frame):
        self._stop_signal = signum

    def _first_replica(self, value):
        """Per-replica tensor -> numpy (all-reduced scalars are the same on every replica)."""
        return self.strategy.experimental_local_results(value)[0].numpy()

    def _gathered(self, value):
        results = self.strategy.experimental_local_results(value)
        return np.concatenate([r.numpy() for r in results])
