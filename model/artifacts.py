"""What a run folder and an exported model hold, and the one way to read and
write them: file names, the checks made before a run starts, export, and
loading a generator from a run's checkpoint (for generation, metrics, export
and fine-tuning alike).

Imported by the fast generation path, so TensorFlow is only imported inside
the functions that build or restore networks.
"""
from __future__ import annotations

import os
import shutil
import sys
import time
import uuid
from pathlib import Path

from common.cli import UserError
from common.files import atomic_folder, atomic_path
from common.lock import FolderLock
from model import precision
from model.config import CONFIG_NAME, TrainConfig

# A run folder (written by the trainer)
CHECKPOINT_DIR = "checkpoints"
VOCAB_NAME = "vocab.json"
WORD2VEC_NAME = "word2vec.txt"
EXPORT_DIR = "export"
RUN_SUBDIRS = (CHECKPOINT_DIR, "samples", "filtered")
# An exported model (RUN/export/, models/default/)
GENERATOR_WEIGHTS = "generator.weights.h5"
GENERATOR_TFLITE = "generator.tflite"
# D's autoencoder (no heads), for best-of-K sampling (model.runtime)
RECONSTRUCTOR_WEIGHTS = "reconstructor.weights.h5"
RECONSTRUCTOR_TFLITE = "reconstructor.tflite"
# The tag checker's files, shipped beside an exported model (see report.checker)
CHECKER_JSON = "checker.json"
CHECKER_WEIGHTS = "checker.weights.h5"
CHECKER_TFLITE = "checker.tflite"
CHECKER_FILES = (CHECKER_JSON, CHECKER_TFLITE, CHECKER_WEIGHTS)


class RunDirError(UserError):
    """A run directory that cannot be used as asked (message fit for a user)."""


class ModelError(UserError):
    """A model directory that cannot be used; the message names the file and the fix."""


# ---------------------------------------------------------------- run folders
def ensure_writable_dir(path: Path, what: str = "directory") -> None:
    """Create `path` if needed and prove it is writable with a probe file, so a
    user learns about an unwritable disk in the first second, not after the
    dataset cache has been built."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".write-probe-{uuid.uuid4().hex}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise RunDirError(f"cannot write the {what} {path}: {exc.strerror or exc}; "
                          "choose another path") from None


def check_run_dir(run_dir: Path, *, resume: bool) -> None:
    """The run-folder rules, read-only (train.py --check runs them too): --resume needs
    a run, a new run needs a folder that holds none."""
    if resume and not (run_dir / CONFIG_NAME).exists():
        raise RunDirError(f"--resume: {run_dir} is not a run directory (no {CONFIG_NAME})")
    if run_dir.exists() and not run_dir.is_dir():
        raise RunDirError(f"run directory {run_dir} is a file; choose a new --run-dir")
    if not resume and (run_dir / CHECKPOINT_DIR).is_dir() and any((run_dir / CHECKPOINT_DIR).iterdir()):
        raise RunDirError(f"{run_dir} already holds a run; pass --resume to continue it "
                          "or choose a new --run-dir")


def prepare_run_dir(run_dir: Path, *, resume: bool) -> FolderLock:
    """Refuse a clashing or missing run before any work starts, take the run's
    exclusive lock (one writer per run: a second train.py on it stops with the
    PID of the first), create its folders. Returns the held lock."""
    check_run_dir(run_dir, resume=resume)
    ensure_writable_dir(run_dir, "run directory")
    lock = FolderLock(run_dir).acquire()
    try:
        check_run_dir(run_dir, resume=resume)  # again under the lock: another writer may have started it
        for sub in RUN_SUBDIRS:
            ensure_writable_dir(run_dir / sub, "run directory")
    except BaseException:
        lock.release()
        raise
    return lock


def default_run_dir() -> Path:
    return Path("runs") / (time.strftime("%Y%m%d-%H%M%S") + f"-{os.getpid()}")


def resolve_model_dir(path: str | Path) -> Path:
    """A run directory (its export/ when there is one) or an exported model directory."""
    path = Path(path)
    if not path.exists():
        raise ModelError(f"model {path} does not exist; pass --model with a run or exported model "
                         "directory (train one with train.py)")
    if not path.is_dir():
        raise ModelError(f"model {path} is not a directory; pass --model with a run or exported model directory")
    if (path / EXPORT_DIR / CONFIG_NAME).exists():
        return path / EXPORT_DIR
    return path


# ------------------------------------------------------------------ checkpoints
def checkpoint_paths(ckpt_dir: Path, *, warn: bool = True) -> tuple[list[str], bool]:
    """(checkpoint prefixes oldest -> newest, whether the state file is sound).
    A garbage or empty `checkpoints/checkpoint` state file does not hide
    intact ckpt-N files: they are listed from the folder instead (with a note)."""
    import tensorflow as tf

    ckpt_dir = Path(ckpt_dir)
    state_file = ckpt_dir / "checkpoint"
    if state_file.exists():
        try:
            state = tf.train.get_checkpoint_state(str(ckpt_dir))
            if state is not None and state.model_checkpoint_path:
                paths = list(state.all_model_checkpoint_paths) or [state.model_checkpoint_path]
                if state.model_checkpoint_path not in paths:
                    paths.append(state.model_checkpoint_path)
                return [str(p) for p in paths], True  # TensorFlow already joined relative ones to ckpt_dir
        except Exception:  # noqa: BLE001 - a damaged text proto raises several types
            pass
    def number(p: Path) -> int:
        tail = p.name[len("ckpt-"):-len(".index")]
        return int(tail) if tail.isdigit() else -1
    found = sorted((p for p in ckpt_dir.glob("ckpt-*.index") if number(p) >= 0), key=number)
    paths = [str(p.with_suffix("")) for p in found]
    if state_file.exists() and paths and warn:
        print(f"warning: {state_file} is damaged; using the {len(paths)} checkpoint files beside it "
              f"(newest {Path(paths[-1]).name})", file=sys.stderr)
    return paths, not state_file.exists() and not paths


def repair_checkpoint_state(ckpt_dir: Path) -> None:
    """Rewrite a damaged state file from the ckpt-N files found (the run's writer only)."""
    import tensorflow as tf

    paths, sound = checkpoint_paths(ckpt_dir)
    if not sound and not paths:
        raise RunDirError(f"{Path(ckpt_dir) / 'checkpoint'} is damaged and no ckpt-N files are beside it: "
                          "nothing to resume; start a new --run-dir")
    if not sound and paths:
        names = [Path(p).name for p in paths]  # relative, as the CheckpointManager writes them
        stamps = [Path(p + ".index").stat().st_mtime for p in paths]  # the manager keeps only stamped ones
        tf.compat.v1.train.update_checkpoint_state(str(ckpt_dir), names[-1], all_model_checkpoint_paths=names,
                                                   all_model_checkpoint_timestamps=stamps,
                                                   last_preserved_timestamp=min(stamps) - 1)


def remove_checkpoint_leftovers(ckpt_dir: Path) -> list[str]:
    """Remove the ckpt-N_temp folders of saves a kill interrupted (TensorFlow
    writes a checkpoint's shards there and renames them when it is whole); the
    run's writer only, under its lock. Returns their names."""
    removed = []
    for leftover in sorted(Path(ckpt_dir).glob("ckpt-*_temp")):
        if leftover.is_dir() and not leftover.is_symlink():
            shutil.rmtree(leftover, ignore_errors=True)
            removed.append(leftover.name)
    return removed


def latest_checkpoint(ckpt_dir: Path) -> str | None:
    paths, _ = checkpoint_paths(ckpt_dir)
    return paths[-1] if paths else None


def checkpoint_step(path: str | Path) -> int:
    """The training step in a checkpoint's name (RUN/checkpoints/ckpt-<step>)."""
    return int(Path(path).name.rsplit("-", 1)[-1])


def checkpoint_at(ckpt_dir: Path, step: int | None) -> str | None:
    """The checkpoint of `step` (None: the latest); RunDirError naming the steps kept when it is gone."""
    if step is None:
        return latest_checkpoint(ckpt_dir)
    paths, _ = checkpoint_paths(ckpt_dir, warn=False)
    for path in paths:
        if Path(path).name == f"ckpt-{step}":
            return path
    kept = ", ".join(str(checkpoint_step(p)) for p in paths) or "none"
    raise RunDirError(f"no checkpoint of step {step} in {ckpt_dir} (steps kept: {kept})")


# ------------------------------------------------------------------ networks
def float32_generator(generator, config: TrainConfig):
    """The same weights in a float32 model (for export and evaluation)."""
    from model.networks import build_generator

    with precision.float32_policy():
        g32 = build_generator(config, config.cond_dim)
    g32.set_weights(generator.get_weights())
    return g32


def float32_reconstructor(discriminator, config: TrainConfig):
    """D's encoder and decoder (a training D, any precision) as a float32 reconstructor."""
    from model.networks import build_reconstructor

    with precision.float32_policy():
        reconstructor = build_reconstructor(config, config.cond_dim)
    for part in ("d_encoder", "d_decoder"):
        reconstructor.get_layer(part).set_weights(discriminator.get_layer(part).get_weights())
    return reconstructor


def _restore_from_run(run_dir: Path, key: str, network, step: int | None = None):
    """Restore `network`'s variables from the entry `key` of the run's checkpoint of
    `step` (None: the latest); RunDirError with a one-line reason when there is none
    or it does not match."""
    import tensorflow as tf

    from model.began import variables_by_path

    latest = checkpoint_at(run_dir / CHECKPOINT_DIR, step)
    if latest is None:
        raise RunDirError(f"no checkpoint in {run_dir / CHECKPOINT_DIR}")
    try:
        tf.train.Checkpoint(**{key: variables_by_path(network.variables)}).restore(
            latest).expect_partial().assert_existing_objects_matched()
    except (ValueError, AssertionError) as exc:
        raise RunDirError(f"checkpoint {latest} does not match {run_dir / CONFIG_NAME}: "
                          f"{str(exc).splitlines()[0]}") from None
    return network


def load_reconstructor_from_run(run_dir: str | Path, step: int | None = None):
    """D's autoencoder in float32 from a run's checkpoint (the "discriminator"
    entry, whose heads are left out: best-of-K scores by reconstruction only)."""
    from model.networks import build_reconstructor

    run_dir = Path(run_dir)
    config = TrainConfig.load(run_dir)
    with precision.float32_policy():
        reconstructor = build_reconstructor(config, config.cond_dim)
    return _restore_from_run(run_dir, "discriminator", reconstructor, step)


def load_generator_from_run(run_dir: str | Path, *, use_ema: bool = True, step: int | None = None):
    """Rebuild the generator in float32 from a run's latest checkpoint: G's
    moving average when the run keeps one (--ema-decay) and use_ema is True,
    else G's raw weights. Returns (generator, config, vocab_path). A checkpoint that does not match
    the run's config.json raises RunDirError with a one-line reason.
    """
    from model.networks import build_generator

    run_dir = Path(run_dir)
    config = TrainConfig.load(run_dir)
    with precision.float32_policy():
        generator = build_generator(config, config.cond_dim)
    key = "generator_ema" if config.ema_decay > 0 and use_ema else "generator"
    return _restore_from_run(run_dir, key, generator, step), config, run_dir / VOCAB_NAME


# -------------------------------------------------------------------- export
# What an export writes of the model itself; any other file of an earlier export in the same folder
# (the tag checker, metrics.json) is carried over into the new one, as it was kept before exports were whole.
EXPORT_OWN_FILES = (CONFIG_NAME, VOCAB_NAME, WORD2VEC_NAME, GENERATOR_WEIGHTS, GENERATOR_TFLITE,
                    RECONSTRUCTOR_WEIGHTS, RECONSTRUCTOR_TFLITE)


def export_generator(generator, config: TrainConfig, vocab_path, out_dir, reconstructor=None,
                     finish=None) -> Path:
    """Write config.json, vocab.json (+ word2vec.txt), generator.weights.h5 and
    generator.tflite, and D's autoencoder (reconstructor.*, for best-of-K
    sampling) when given, then `finish(folder)` (e.g. the tag checker's files).
    The .tflite files are left out under the test-only switch TAGFACE_TEST_SKIP_TFLITE=1
    (model.tflite.tflite_export_skipped); the Keras weights are always written.
    The folder is built beside out_dir and swapped in whole (common.files.atomic_folder),
    so a kill leaves the old export or the new one, never one of mixed steps.
    The networks must be float32 models."""
    out = Path(out_dir)
    with atomic_folder(out) as stage:
        _write_export(stage, generator, config, vocab_path, reconstructor)
        _carry_over(out, stage)
        if finish is not None:
            finish(stage)
    return out


def _carry_over(old: Path, new: Path) -> None:
    """Files of the earlier export that are not the model's own (EXPORT_OWN_FILES)."""
    if not old.is_dir() or old.is_symlink():
        return
    for item in old.iterdir():
        if item.is_file() and not item.is_symlink() and item.name not in EXPORT_OWN_FILES \
                and not (new / item.name).exists():
            shutil.copy2(item, new / item.name)


def _write_export(out: Path, generator, config: TrainConfig, vocab_path, reconstructor) -> None:
    from model.tflite import convert, tflite_export_skipped

    with_tflite = not tflite_export_skipped()
    config.save(out)
    vocab_path = Path(vocab_path)
    if vocab_path.resolve() != (out / VOCAB_NAME).resolve():
        shutil.copyfile(vocab_path, out / VOCAB_NAME)
        w2v = vocab_path.with_name(WORD2VEC_NAME)
        if w2v.exists():
            shutil.copyfile(w2v, out / WORD2VEC_NAME)
    with atomic_path(out / GENERATOR_WEIGHTS, suffix=".weights.h5") as tmp:
        generator.save_weights(str(tmp))
    if with_tflite:
        convert(generator, out / GENERATOR_TFLITE)
    if reconstructor is not None:
        with atomic_path(out / RECONSTRUCTOR_WEIGHTS, suffix=".weights.h5") as tmp:
            reconstructor.save_weights(str(tmp))
        if with_tflite:
            convert(reconstructor, out / RECONSTRUCTOR_TFLITE)


def export_run(run_dir: str | Path, out_dir: str | Path | None = None, *, use_ema: bool = True,
               step: int | None = None, finish=None) -> Path:
    """RUN/export/ (or out_dir) from the run's checkpoint of `step` (None: the latest;
    G's moving average when kept). G and D come from the same checkpoint even
    while the run is still writing new ones."""
    if step is None:
        latest = checkpoint_at(Path(run_dir) / CHECKPOINT_DIR, None)
        step = checkpoint_step(latest) if latest else None
    generator, config, vocab_path = load_generator_from_run(run_dir, use_ema=use_ema, step=step)
    return export_generator(generator, config, vocab_path, out_dir or Path(run_dir) / EXPORT_DIR,
                            load_reconstructor_from_run(run_dir, step), finish)
