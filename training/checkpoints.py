"""A run's checkpoints (RUN/checkpoints/ckpt-<step>): the networks and the TrainingState as one
tf.train.Checkpoint (CondBEGAN.training_checkpoint), kept by a CheckpointManager.

Apart from the loop because what can go wrong here is the disk's, not the training's: a save on a
full disk is one line naming the checkpoint kept, and a resume whose newest checkpoint a kill or a
full disk left damaged falls back to the one before.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import tensorflow as tf

from model.config import CONFIG_NAME
from model.run_folder import CHECKPOINT_DIR, RunDirError, remove_checkpoint_leftovers, repair_checkpoint_state


class RunCheckpoints:
    """The checkpoints of `run_dir`, numbered by `step` (the TrainingState's step variable). `resume`:
    the run's writer first repairs a damaged state file and removes the leftovers of interrupted saves."""

    def __init__(
        self,
        checkpoint: tf.train.Checkpoint,
        step: tf.Variable,
        run_dir: Path,
        keep: int,
        *,
        resume: bool = False,
    ):
        self.checkpoint, self.step, self.run_dir = checkpoint, step, Path(run_dir)
        self.dir = self.run_dir / CHECKPOINT_DIR
        if resume:
            repair_checkpoint_state(self.dir)
            remove_checkpoint_leftovers(self.dir)
        self.manager = tf.train.CheckpointManager(
            checkpoint, str(self.dir), max_to_keep=keep, step_counter=step, checkpoint_name="ckpt"
        )

    @property
    def latest(self) -> str | None:
        """The newest checkpoint written or found (None before the first)."""
        return self.manager.latest_checkpoint

    def save(self) -> str:
        """Save ckpt-<step>; a full or failing disk is a RunDirError naming the checkpoint
        kept (the half-written one is removed), not a TensorFlow traceback."""
        step = int(self.step.numpy())
        try:
            return self.manager.save(checkpoint_number=step)
        except (tf.errors.OpError, OSError) as exc:
            for partial in self.dir.glob(f"ckpt-{step}_temp*"):
                shutil.rmtree(partial, ignore_errors=True)
            kept = self.latest
            detail = (
                "no space left on the device"
                if "No space left" in str(exc)
                else str(getattr(exc, "message", exc)).splitlines()[0][-120:]
            )
            raise RunDirError(
                f"cannot write the checkpoint of step {step} in {self.dir}: {detail}; "
                + (
                    f"{Path(kept).name} is kept: free space, then python train.py --run-dir "
                    f"{self.run_dir} --resume"
                    if kept
                    else "no checkpoint was kept"
                )
            ) from None

    def restore_latest(self) -> str:
        """Restore the newest readable checkpoint; a truncated or corrupt newest
        one (a kill or a full disk during a save) falls back to the one before."""
        candidates = list(reversed(self.manager.checkpoints))
        if not candidates:
            raise RunDirError(f"--resume: no checkpoint in {self.dir}")
        for i, path in enumerate(candidates):
            try:
                self.checkpoint.restore(path).assert_existing_objects_matched()
            except (ValueError, AssertionError) as exc:
                if "shape" in str(exc).lower() or isinstance(exc, AssertionError):
                    raise RunDirError(
                        f"checkpoint {path} does not match {self.run_dir / CONFIG_NAME} (different "
                        f"architecture or tag vocabulary): {str(exc).splitlines()[0][:200]}"
                    ) from None
                reason = type(exc).__name__
            except Exception as exc:  # truncated / corrupt files raise various TF errors
                reason = type(exc).__name__
            else:
                if i:
                    print(
                        f"warning: resumed from {path} (newer checkpoints were unreadable)", file=sys.stderr
                    )
                return path
            print(
                f"warning: checkpoint {path} is unreadable ({reason}); trying an older one", file=sys.stderr
            )
        raise RunDirError(f"no readable checkpoint in {self.dir}")
