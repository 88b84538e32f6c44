"""The training loop around `CondBEGAN.train_step`: data, run directory,
checkpoints and resume, logs, learning-rate control, the per-epoch filter,
signals and the NaN guard.

A custom loop (rather than `fit`) because the per-epoch filter needs the
per-image losses of every step, and an exact mid-epoch resume needs the
epoch's data order rebuilt from (seed, epoch) and skipped ahead.
"""
from __future__ import annotations

import math
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from model import precision
from model.config import TrainConfig
from model.divergence import DivergenceGuard
from model.lr_control import PlateauState, plateau_update
from model.real_filter import threshold_from_stats
from model.run_dir import RunDirError, prepare_run_dir

CHECKPOINT_DIR = "checkpoints"
EARLY_CHECKPOINT = 25  # step of the first checkpoint, before --checkpoint-every is due


class TrainingDiverged(RuntimeError):
    """Losses became NaN or infinite; the last good checkpoint is kept."""


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
    export_dir: Path | None


def make_strategy(name: str):
    import tensorflow as tf

    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multiworker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    return tf.distribute.get_strategy()


def with_noise(dataset, config: TrainConfig, epoch: int, first_batch: int):
    """Add z, eps and the wrong-tag draw to each batch from a stateless seed
    (seed, epoch, batch number): a resumed or multi-replica run draws exactly
    the same noise as an uninterrupted single-device run."""
    import tensorflow as tf

    base = tf.constant(config.seed * 100003 + epoch, tf.int64)

    def add(batch_no, batch):
        images, cond, index = batch
        n = tf.shape(images)[0]
        seed = tf.stack([base, batch_no])
        z = tf.random.stateless_uniform([n, config.nz], seed=seed, minval=-1.0, maxval=1.0)
        eps = tf.random.stateless_normal([n, config.embed_dim], seed=seed + [0, 1 << 40])
        wrong_u = tf.random.stateless_uniform([n], seed=seed + [0, 2 << 40])
        z2 = tf.random.stateless_uniform([n, config.nz], seed=seed + [0, 3 << 40], minval=-1.0, maxval=1.0)
        return images, cond, tf.cast(index, tf.int32), z, eps, wrong_u, z2

    return dataset.enumerate(start=first_batch).map(add, num_parallel_calls=tf.data.AUTOTUNE)


def fixed_sample_plan(vocab, config: TrainConfig, n_rows: int = 8, n_cols: int = 8):
    """The same z and tags every epoch, so the grids form a timeline.
    Rows walk through the hair colours, pairing each with a different eye colour."""
    hair = vocab.groups.get("hair", [])
    eyes = vocab.groups.get("eyes", [])
    combos = [tuple(c["tags"].get(g) for g in vocab.groups) for c in vocab.combos] if vocab.combos else []
    rows = []
    for i in range(min(n_rows, max(len(hair), 1))):
        wanted_hair = hair[(i * max(len(hair), 1)) // n_rows % len(hair)] if hair else None
        options = [c for c in combos if c and c[0] == wanted_hair] or combos
        rows.append(options[(i * 3) % len(options)])
    rng = np.random.default_rng(config.seed + 12345)
    z = rng.uniform(-1, 1, (n_cols, config.nz)).astype(np.float32)
    eps = rng.standard_normal((n_cols, config.embed_dim)).astype(np.float32)
    return rows, z, eps


class Trainer:
    def __init__(self, config: TrainConfig, run_dir: str | Path, *, resume: bool = False,
                 init_from: str | None = None, progress: bool = True, data=None,
                 lr_override: float | None = None):
        self.run_dir = Path(run_dir)
        self.resume = resume
        self.init_from = init_from
        self.progress = progress
        self.config = config.validate()
        self._stop_signal: int | None = None
        self._data = data
        self.lr_override = lr_override  # --lr given with --resume: replaces the checkpoint's rate
        self._checker = None  # loaded in _setup when --eval-every is on

    # ------------------------------------------------------------------ setup
    def _setup(self):
        import tensorflow as tf

        from model.began import CondBEGAN
        from preprocess.cache import build_or_load
        from tags.vocab import Vocabulary

        cfg = self.config
        if cfg.eval_every:
            # Fail before the run directory or the data cache is touched, not at the first evaluation.
            from model.checker import load_checker

            self._checker = load_checker(cfg.checker)
        prepare_run_dir(self.run_dir, resume=self.resume)
        self.precision = precision.apply(cfg.precision)
        self.strategy = make_strategy(cfg.strategy)

        vocab = None
        if self.resume:
            vocab = Vocabulary.load(self.run_dir / "vocab.json")
        elif self.init_from:
            vocab = Vocabulary.load(_model_dir_of(Path(self.init_from)) / "vocab.json")
        data = self._data or build_or_load(
            cfg.images, cfg.tags_csv, tag_format=cfg.tag_format, size=cfg.image_size,
            cache_dir=cfg.cache_dir or None, holdout=cfg.holdout, vocab=vocab,
            condition_mode=cfg.condition_mode, top_k=cfg.top_k, seed=cfg.seed, progress=self.progress,
        )
        if data.images.shape[1] != cfg.image_size:
            raise RunDirError(f"the data is {data.images.shape[1]}px but the model is {cfg.image_size}px")
        self.data = data
        self.vocab = data.vocab
        cfg.cond_dim = int(self.vocab.dim)
        if not self.resume:
            cfg.save(self.run_dir)
            self.vocab.save(self.run_dir / "vocab.json")  # (+ word2vec.txt beside it in word2vec mode)

        self.train_rows = np.asarray(data.train_indices())
        self.global_batch = cfg.batch_size
        self.steps_per_epoch = len(self.train_rows) // self.global_batch
        if self.steps_per_epoch < 1:
            raise RunDirError(
                f"only {len(self.train_rows)} training images for a batch of {self.global_batch}: "
                "add images or lower --batch-size")
        self.total_steps = cfg.steps or cfg.epochs * self.steps_per_epoch

        group_sizes = [len(v) for v in self.vocab.groups.values()]
        import keras

        keras.utils.set_random_seed(cfg.seed)  # same --seed, same initial weights
        with self.strategy.scope():
            self.model = CondBEGAN(cfg, self.vocab.dim, group_sizes, data.combo, data.combo_conditions, data.labels)
            self.model.build_optimizers()
            self.ckpt = self.model.training_checkpoint()
        self.manager = tf.train.CheckpointManager(
            self.ckpt, str(self.run_dir / CHECKPOINT_DIR), max_to_keep=cfg.keep_checkpoints,
            step_counter=self.model.step, checkpoint_name="ckpt")
        if self.resume:
            self._restore_latest()
            print(f"resumed at step {int(self.model.step.numpy())} (k={float(self.model.k.numpy()):.9g}, "
                  f"lr={float(self.model.lr.numpy()):.9g}, threshold={float(self.model.threshold.numpy()):.9g})",
                  file=sys.stderr)
        elif self.init_from:
            self._init_weights(Path(self.init_from))
        self.model.set_learning_rate(self.lr_override or float(self.model.lr.numpy()))

        @tf.function
        def step_fn(batch):
            return self.strategy.run(self.model.train_step, args=(batch,))

        self.step_fn = step_fn

    def _restore_latest(self):
        """Restore the newest readable checkpoint; a truncated or corrupt newest
        one (a kill or a full disk during a save) falls back to the one before."""
        candidates = list(reversed(self.manager.checkpoints))
        if not candidates:
            raise RunDirError(f"--resume: no checkpoint in {self.run_dir / CHECKPOINT_DIR}")
        for i, path in enumerate(candidates):
            try:
                self.ckpt.restore(path).assert_existing_objects_matched()
            except (ValueError, AssertionError) as exc:
                if "shape" in str(exc).lower() or isinstance(exc, AssertionError):
                    raise RunDirError(
                        f"checkpoint {path} does not match {self.run_dir / 'config.json'} (different "
                        f"architecture or tag vocabulary): {str(exc).splitlines()[0][:200]}") from None
                reason = type(exc).__name__
            except Exception as exc:  # truncated / corrupt files raise various TF errors
                reason = type(exc).__name__
            else:
                if i:
                    print(f"warning: resumed from {path} (newer checkpoints were unreadable)", file=sys.stderr)
                return path
            print(f"warning: checkpoint {path} is unreadable ({reason}); trying an older one", file=sys.stderr)
        raise RunDirError(f"no readable checkpoint in {self.run_dir / CHECKPOINT_DIR}")

    def _init_weights(self, source: Path):
        """Fine-tuning: G (and D, when the source is a run) from another model."""
        import tensorflow as tf

        source_cfg = TrainConfig.load(_model_dir_of(source))
        for name in ("image_size", "filters", "repeats", "nz", "embed_dim", "skip",
                     "vanishing_residual", "cond_every_scale", "cond_augment", "cond_dim"):
            if getattr(source_cfg, name) != getattr(self.config, name):
                raise RunDirError(
                    f"--init-from {source}: its {name} is {getattr(source_cfg, name)!r}, this run's is "
                    f"{getattr(self.config, name)!r}; pass the same network settings")
        ckpt_dir = source / CHECKPOINT_DIR
        if ckpt_dir.is_dir() and tf.train.latest_checkpoint(str(ckpt_dir)):
            from model.began import _variables_by_path

            partial = tf.train.Checkpoint(generator=_variables_by_path(self.model.generator.variables),
                                          discriminator=_variables_by_path(self.model.discriminator.variables))
            partial.restore(tf.train.latest_checkpoint(str(ckpt_dir))).expect_partial()
            for average, w in zip(self.model.generator_ema, self.model.generator.weights):
                average.assign(tf.cast(w, tf.float32))  # the average starts from the loaded G
        else:
            weights = _model_dir_of(source) / "generator.weights.h5"
            if not weights.exists():
                raise RunDirError(f"--init-from {source}: no checkpoints/ and no generator.weights.h5")
            self.model.generator.load_weights(str(weights))
            for average, w in zip(self.model.generator_ema, self.model.generator.weights):
                average.assign(tf.cast(w, tf.float32))

    # ------------------------------------------------------------------- loop
    def _on_signal(self, signum, _frame):
        self._stop_signal = signum

    def _local(self, value):
        """Per-replica tensor -> numpy (first replica for all-reduced scalars)."""
        results = self.strategy.experimental_local_results(value)
        return results[0].numpy() if len(results) == 1 else results[0].numpy()

    def _gathered(self, value):
        results = self.strategy.experimental_local_results(value)
        return np.concatenate([r.numpy() for r in results])

    def save_checkpoint(self) -> str:
        return self.manager.save(checkpoint_number=int(self.model.step.numpy()))

    def _sample_grid(self, tag_rows, z, eps):
        from model.run_logs import to_uint8, contact_sheet

        generator = self.sampling_generator()
        rows = []
        for combo in tag_rows:
            tags = dict(zip(self.vocab.groups, combo))
            cond = np.repeat(self.vocab.condition_from_values(tags)[None], len(z), 0)
            inputs = [z, cond, eps] if self.config.cond_augment else [z, cond]
            rows.append(to_uint8(generator(inputs, training=False).numpy()))
        return contact_sheet(np.concatenate(rows), ncols=len(z))

    def run(self) -> TrainResult:
        from tqdm import tqdm

        from model.run_logs import FilterLog, MetricsLog, METRIC_COLUMNS, FILTER_COLUMNS, save_png, truncate_csv
        from preprocess.dataset import make_dataset

        self._setup()
        cfg, model, run = self.config, self.model, self.run_dir
        step = int(model.step.numpy())
        # Cut the logs back to the checkpoint we resume from (no duplicated or torn rows).
        truncate_csv(run / "metrics.csv", METRIC_COLUMNS, lambda r: int(r["step"]) <= step)
        filter_log = FilterLog(run, self.data.ids, self.data.paths, self.data.images)
        for partial in (run / "filtered").glob("epoch_*.partial.csv"):
            truncate_csv(partial, FILTER_COLUMNS, lambda r: int(r["step"]) <= step)
        metrics = MetricsLog(run)
        (run / "samples").mkdir(exist_ok=True)
        tag_rows, fixed_z, fixed_eps = fixed_sample_plan(self.vocab, cfg)
        (run / "samples" / "fixed_tags.txt").write_text(
            "".join(" ".join(f"{v} {g}" for g, v in zip(self.vocab.groups, r)) + "\n" for r in tag_rows))

        old_handlers = {s: signal.signal(s, self._on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
        bar = tqdm(total=self.total_steps, initial=step, disable=not self.progress, unit="step",
                   dynamic_ncols=True, desc=run.name)
        window_start, window_images = time.perf_counter(), 0
        images_per_s = float("nan")
        guard = DivergenceGuard()
        try:
            while step < self.total_steps:
                epoch = int(model.epoch.numpy())
                skip = int(model.batch_in_epoch.numpy())
                threshold = float(model.threshold.numpy())
                ds = make_dataset(self.data, self.train_rows, self.global_batch, seed=cfg.seed,
                                  epoch=epoch, skip_batches=skip, drop_remainder=True)
                ds = with_noise(ds, cfg, epoch, skip)
                filter_log.start_epoch(epoch + 1)
                finished_epoch = True
                for batch in self.strategy.experimental_distribute_dataset(ds):
                    out = self.step_fn(batch)
                    step += 1
                    values = {k: float(self._local(v)) for k, v in out.items()
                              if k not in ("per_image_real", "kept", "index")}
                    reason = guard.check(values)
                    if reason:
                        raise TrainingDiverged(self._divergence_message(step, reason))
                    if values["filtered"] > 0:
                        kept = self._gathered(out["kept"])
                        left_out = kept < 0.5
                        filter_log.record(step, self._gathered(out["index"])[left_out],
                                          self._gathered(out["per_image_real"])[left_out], threshold)
                    window_images += self.global_batch
                    if step % cfg.lr_window == 0:
                        self._plateau_window()
                    if step % cfg.log_every == 0 or step == self.total_steps:
                        elapsed = time.perf_counter() - window_start
                        images_per_s = window_images / max(elapsed, 1e-9)
                        window_start, window_images = time.perf_counter(), 0
                        metrics.write(step, values | {"epoch": epoch + 1, "images_per_s": images_per_s})
                        bar.set_postfix_str(
                            f"Lx {values['loss_real']:.3f} LG {values['loss_fake']:.3f} "
                            f"k {values['k']:.3f} M {values['M']:.3f} lr {values['lr']:.1e} "
                            f"{images_per_s:.0f} img/s", refresh=False)
                    bar.update(1)
                    if cfg.sample_every and step % cfg.sample_every == 0:
                        grid = self._sample_grid(tag_rows, fixed_z, fixed_eps)
                        save_png(run / "samples" / f"step_{step:07d}.png", grid)
                    if step % cfg.checkpoint_every == 0 or step == EARLY_CHECKPOINT:
                        self.save_checkpoint()  # (an early one too, so a run that stops soon keeps a state)
                    if cfg.eval_every and step % cfg.eval_every == 0:
                        self._evaluate(step)
                    if self._stop_signal is not None:
                        path = self.save_checkpoint()
                        name = signal.Signals(self._stop_signal).name
                        raise TrainingInterrupted(
                            f"{name} at step {step}: checkpoint {path} written; continue with "
                            f"python train.py --run-dir {run} --resume", self._stop_signal)
                    if step >= self.total_steps:
                        finished_epoch = int(model.batch_in_epoch.numpy()) >= self.steps_per_epoch
                        break
                if finished_epoch:
                    self._end_epoch(epoch, threshold, filter_log, metrics, tag_rows, fixed_z, fixed_eps)
                self.save_checkpoint()
                if finished_epoch:
                    filter_log.partial_path(epoch + 1).unlink(missing_ok=True)
        finally:
            bar.close()
            metrics.close()
            for s, h in old_handlers.items():
                signal.signal(s, h)
        export_dir = self._export()
        return TrainResult(run, step, int(model.epoch.numpy()), float(model.k.numpy()),
                           float(model.lr.numpy()), float(model.threshold.numpy()), export_dir)

    def _divergence_message(self, step: int, reason: str) -> str:
        latest = self.manager.latest_checkpoint
        lower = float(self.model.lr.numpy()) / 2
        if latest is None:
            return (f"training stopped at step {step}: {reason}. It stopped before its first checkpoint; "
                    f"start again with a lower rate, e.g. --lr {lower:.2g}")
        return (f"training stopped at step {step}: {reason}. The last good checkpoint is {latest}; "
                f"continue from it with a lower rate: python train.py --run-dir {self.run_dir} --resume "
                f"--lr {lower:.2g}")

    def _plateau_window(self):
        model, cfg = self.model, self.config
        count = float(model.m_count.numpy())
        if count <= 0:
            return
        state = PlateauState(float(model.lr.numpy()), float(model.best_m.numpy()), int(model.bad_windows.numpy()))
        new = plateau_update(state, float(model.m_sum.numpy()) / count,
                             patience=cfg.lr_patience, floor=cfg.lr_floor)
        model.best_m.assign(new.best)
        model.bad_windows.assign(new.bad_windows)
        if new.lr != state.lr:
            model.set_learning_rate(new.lr)
        model.m_sum.assign(0.0)
        model.m_count.assign(0.0)

    def _end_epoch(self, epoch, threshold, filter_log, metrics, tag_rows, fixed_z, fixed_eps):
        from model.run_logs import save_png

        model, cfg = self.model, self.config
        seen = int(model.real_count.numpy())
        if math.isfinite(threshold):  # nothing is filtered in the first epoch
            filter_log.finish_epoch(epoch + 1, threshold, seen)
        new_threshold = threshold_from_stats(float(model.real_sum.numpy()), float(model.real_sq_sum.numpy()),
                                             float(model.real_count.numpy()), cfg.filter_sd)
        model.threshold.assign(new_threshold)
        for v in (model.real_sum, model.real_sq_sum, model.real_count):
            v.assign(0.0)
        model.epoch.assign_add(1)
        model.batch_in_epoch.assign(0)
        grid = self._sample_grid(tag_rows, fixed_z, fixed_eps)
        save_png(self.run_dir / "samples" / f"epoch_{epoch + 1:03d}.png", grid)
        metrics.image(int(model.step.numpy()), "samples", grid)

    def _evaluate(self, step: int) -> None:
        """Quality metrics with the tag checker, appended to RUN/eval.csv. Uses
        the generator in memory (no export, no reload) and the checker loaded in _setup."""
        from model.runtime import LoadedGenerator, keras_runner
        from report.metrics import evaluate_generator, write_results

        generator = LoadedGenerator(self.run_dir, self.config, self.vocab, "tensorflow",
                                    keras_runner(self.sampling_generator()))
        result = evaluate_generator(generator, self._checker, self.data, n_per_combo=2, seed=self.config.seed)
        write_results(self.run_dir, result, step)

    def sampling_generator(self):
        """A float32 generator with the weights used for samples, evaluation and
        export (G's moving average when --ema-decay is on); built once, refreshed per call."""
        if getattr(self, "_sampler", None) is None:
            self._sampler = generator_float32_copy(self.model.generator, self.config)
        self._sampler.set_weights(self.model.sampling_weights())
        return self._sampler

    def _export(self) -> Path | None:
        try:
            from model.export import export_generator
        except ImportError:
            return None
        generator = self.sampling_generator()
        out = self.run_dir / "export"
        export_generator(generator, self.config, self.run_dir / "vocab.json", out)
        return out


def generator_float32_copy(generator, config: TrainConfig):
    """The same weights in a float32 model (for export and evaluation)."""
    from model.networks import build_generator

    with precision.float32_policy():
        g32 = build_generator(config, config.cond_dim)
    g32.set_weights(generator.get_weights())
    return g32


def _model_dir_of(path: Path) -> Path:
    """A run directory or an exported model directory -> where config.json is."""
    return path


def load_generator_from_run(run_dir: str | Path, *, use_ema: bool = True):
    """Rebuild the generator in float32 from a run's latest checkpoint.

    With an EMA of G in the run (--ema-decay), the averaged weights are loaded
    unless use_ema is False. Returns (generator, config, vocab_path). A checkpoint that does not match
    the run's config.json raises RunDirError with a one-line reason.
    """
    import tensorflow as tf

    from model.networks import build_generator

    run_dir = Path(run_dir)
    config = TrainConfig.load(run_dir)
    latest = tf.train.latest_checkpoint(str(run_dir / CHECKPOINT_DIR))
    if latest is None:
        raise RunDirError(f"no checkpoint in {run_dir / CHECKPOINT_DIR}")
    with precision.float32_policy():
        generator = build_generator(config, config.cond_dim)
    try:
        from model.began import _variables_by_path

        # With an EMA, the averaged weights are what samples, evaluation and export use.
        key = "generator_ema" if config.ema_decay > 0 and use_ema else "generator"
        tf.train.Checkpoint(**{key: _variables_by_path(generator.variables)}).restore(
            latest).expect_partial().assert_existing_objects_matched()
    except (ValueError, AssertionError) as exc:
        raise RunDirError(f"checkpoint {latest} does not match {run_dir / 'config.json'}: "
                          f"{str(exc).splitlines()[0]}") from None
    return generator, config, run_dir / "vocab.json"
