"""What a run folder holds, and the one way to read and write it: file names,
the checks made before a run starts (and its lock), its checkpoints, and G
and D restored from one in float32 (for sampling, metrics, export and
fine-tuning alike). An exported model folder is sampling.export's.

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
from common.lock import FolderLock
from model import precision
from model.config import CONFIG_NAME, TrainConfig

# A run folder (written by the trainer)
CHECKPOINT_DIR = "checkpoints"
VOCAB_NAME = "vocab.json"
WORD2VEC_NAME = "word2vec.txt"
EXPORT_DIR = "export"
# In an exported model folder: the path (relative to it) of the run it was exported from, whose
# checkpoints hold D, the optimisers and the training state too (fine-tuning starts from those)
TRAINING_RUN_NAME = "training_run.txt"
RUN_SUBDIRS = (CHECKPOINT_DIR, "samples", "filtered")


class RunDirError(UserError):
    """A run directory that cannot be used as asked (message fit for a user)."""


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
        raise RunDirError(
            f"cannot write the {what} {path}: {exc.strerror or exc}; choose another path"
        ) from None


def check_run_dir(run_dir: Path, *, resume: bool) -> None:
    """The run-folder rules, read-only (train.py --check runs them too): --resume needs
    a run, a new run needs a folder that holds none."""
    if resume and not (run_dir / CONFIG_NAME).exists():
        raise RunDirError(f"--resume: {run_dir} is not a run directory (no {CONFIG_NAME})")
    if run_dir.exists() and not run_dir.is_dir():
        raise RunDirError(f"run directory {run_dir} is a file; choose a new --run-dir")
    if not resume and (run_dir / CHECKPOINT_DIR).is_dir() and any((run_dir / CHECKPOINT_DIR).iterdir()):
        raise RunDirError(
            f"{run_dir} already holds a run; pass --resume to continue it or choose a new --run-dir"
        )


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


def training_run_of(model_dir: Path) -> Path | None:
    """The run folder holding the whole training state of the model at `model_dir`: the folder itself
    when it is a run, an export's run (RUN/export's parent, or the folder its training_run.txt names)
    when that run still has a checkpoint and the same settings and tags; else None (an export alone)."""
    model_dir = Path(model_dir)
    candidates = [model_dir, model_dir.parent if model_dir.name == EXPORT_DIR else None]
    pointer = model_dir / TRAINING_RUN_NAME
    if pointer.is_file():
        candidates.append(model_dir / pointer.read_text().strip())
    for run in filter(None, candidates):
        if latest_checkpoint(run / CHECKPOINT_DIR) is None:
            continue
        if run == model_dir:
            return run
        same = all(
            (run / name).is_file() and (run / name).read_bytes() == (model_dir / name).read_bytes()
            for name in (VOCAB_NAME,)
        )
        try:
            same = same and TrainConfig.load(run) == TrainConfig.load(model_dir)
        except UserError:
            same = False
        if same:
            return run
    return None


def default_run_dir() -> Path:
    return Path("runs") / (time.strftime("%Y%m%d-%H%M%S") + f"-{os.getpid()}")


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
        tail = p.name[len("ckpt-") : -len(".index")]
        return int(tail) if tail.isdigit() else -1

    found = sorted((p for p in ckpt_dir.glob("ckpt-*.index") if number(p) >= 0), key=number)
    paths = [str(p.with_suffix("")) for p in found]
    if state_file.exists() and paths and warn:
        print(
            f"warning: {state_file} is damaged; using the {len(paths)} checkpoint files beside it "
            f"(newest {Path(paths[-1]).name})",
            file=sys.stderr,
        )
    return paths, not state_file.exists() and not paths


def repair_checkpoint_state(ckpt_dir: Path) -> None:
    """Rewrite a damaged state file from the ckpt-N files found (the run's writer only)."""
    import tensorflow as tf

    paths, sound = checkpoint_paths(ckpt_dir)
    if not sound and not paths:
        raise RunDirError(
            f"{Path(ckpt_dir) / 'checkpoint'} is damaged and no ckpt-N files are beside it: "
            "nothing to resume; start a new --run-dir"
        )
    if not sound and paths:
        names = [Path(p).name for p in paths]  # relative, as the CheckpointManager writes them
        stamps = [Path(p + ".index").stat().st_mtime for p in paths]  # the manager keeps only stamped ones
        tf.compat.v1.train.update_checkpoint_state(
            str(ckpt_dir),
            names[-1],
            all_model_checkpoint_paths=names,
            all_model_checkpoint_timestamps=stamps,
            last_preserved_timestamp=min(stamps) - 1,
        )


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


def saved_names(ckpt_dir: Path) -> set[str] | None:
    """The top-level names in the newest checkpoint of `ckpt_dir` (k, lr, generator, probe_masks...), or
    None when there is none or it cannot be read (then a resume's own checks say why)."""
    import tensorflow as tf

    path = latest_checkpoint(ckpt_dir)
    if path is None:
        return None
    try:
        return {name.split("/", 1)[0] for name, _ in tf.train.list_variables(path)}
    except Exception:  # a truncated newest checkpoint: restore_latest falls back and explains
        return None


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
            latest
        ).expect_partial().assert_existing_objects_matched()
    except (ValueError, AssertionError) as exc:
        raise RunDirError(
            f"checkpoint {latest} does not match {run_dir / CONFIG_NAME}: {str(exc).splitlines()[0]}"
        ) from None
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
