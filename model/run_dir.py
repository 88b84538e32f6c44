"""Run-directory checks made before any work starts, so a user learns about
an unwritable disk or a clashing run in the first second, not after the
dataset cache has been built."""
from __future__ import annotations

import os
import uuid
from pathlib import Path


class RunDirError(ValueError):
    """A run directory that cannot be used as asked (message fit for a user)."""


def ensure_writable_dir(path: Path, what: str = "directory") -> None:
    """Create `path` if needed and prove it is writable with a probe file."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".write-probe-{uuid.uuid4().hex}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise RunDirError(f"cannot write the {what} {path}: {exc.strerror or exc}; "
                          "choose another path") from None


def prepare_run_dir(run_dir: Path, *, resume: bool) -> None:
    if resume:
        if not (run_dir / "config.json").exists():
            raise RunDirError(f"--resume: {run_dir} is not a run directory (no config.json)")
    elif (run_dir / "checkpoints").is_dir() and any((run_dir / "checkpoints").iterdir()):
        raise RunDirError(f"{run_dir} already holds a run; pass --resume to continue it "
                          "or choose a new --run-dir")
    ensure_writable_dir(run_dir, "run directory")
    for sub in ("checkpoints", "samples", "filtered", "tb"):
        ensure_writable_dir(run_dir / sub, "run directory")


def default_run_name() -> str:
    import time

    return time.strftime("%Y%m%d-%H%M%S") + f"-{os.getpid()}"
