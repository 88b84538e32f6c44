"""The one atomic file write: write a temporary file in the same folder, then
rename it over the target, so a crash or a kill never leaves a half-written
file behind (and the temporary file is removed when writing fails). The same
for a folder of files that belong together (an exported model): atomic_folder."""

from __future__ import annotations

import contextlib
import os
import uuid
from pathlib import Path


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = ".tmp"):
    """Yields a temporary path beside `path` to write to; renamed to `path`
    when the block succeeds, deleted when it fails. `suffix` keeps the file
    ending writers need (".png", ".npz", ".weights.h5"). The name is unique per
    call, so two processes may write the same file at once."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}{suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write(path: str | os.PathLike, data: str | bytes) -> Path:
    """Write text or bytes to `path` atomically."""
    with atomic_path(path) as tmp:
        if isinstance(data, bytes):
            tmp.write_bytes(data)
        else:
            tmp.write_text(data)
    return Path(path)


# ------------------------------------------------------------------ folders
_STAGE, _OLD = ".new", ".old"


@contextlib.contextmanager
def atomic_folder(path: str | os.PathLike):
    """Yields an empty folder beside `path` to fill; when the block succeeds it
    takes the place of `path` in one step (Linux: an atomic exchange of the two
    folders, then the old one is removed), when it fails it is removed. A kill
    at any moment leaves `path` as it was or as it was to become, never a mix.
    What killed writers left beside `path` is cleaned up first."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    clean_folder_leftovers(path)
    stage = path.with_name(f".{path.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}{_STAGE}")
    stage.mkdir()
    try:
        yield stage
        _swap_in(stage, path)
    finally:
        _remove(stage)


def clean_folder_leftovers(path: Path) -> None:
    """Undo what a writer killed mid-swap left beside `path`: an old folder moved
    aside with nothing in its place goes back; stages of dead writers go."""
    for leftover in sorted(path.parent.glob(f".{glob_escape(path.name)}.*-*")):
        pid = leftover.name[len(path.name) + 2 :].split("-", 1)[0]
        if pid.isdigit() and _alive(int(pid)):
            continue
        if leftover.name.endswith(_OLD) and not os.path.lexists(path):
            os.rename(leftover, path)
        elif leftover.name.endswith((_STAGE, _OLD)):
            _remove(leftover)


def glob_escape(name: str) -> str:
    return "".join(f"[{c}]" if c in "*?[" else c for c in name)


def _swap_in(stage: Path, path: Path) -> None:
    if not os.path.lexists(path):
        os.rename(stage, path)
        return
    if _exchange(stage, path):
        return  # the old folder is at `stage` now, removed by the caller
    old = stage.with_name(stage.name[: -len(_STAGE)] + _OLD)
    os.rename(path, old)  # (a kill here: clean_folder_leftovers moves it back)
    os.rename(stage, path)
    _remove(old)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux renameat2 RENAME_EXCHANGE); False where
    the system or the file system cannot."""
    import ctypes
    import errno

    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(b))


def _remove(path: Path) -> None:
    import shutil

    if path.is_symlink() or path.is_file():
        path.unlink(missing_ok=True)
    elif path.exists():
        shutil.rmtree(path, ignore_errors=True)


def _alive(pid: int) -> bool:
    """A stage's writer still running (this process is not: its leftovers are an earlier attempt's)."""
    from common.lock import pid_alive

    return pid != os.getpid() and pid_alive(pid)
