"""One writer per folder: an exclusive lock on a run directory.

`FolderLock(folder).acquire()` takes `folder/.lock` with fcntl.flock and
writes the holder's PID into it. The kernel drops the lock when its process
ends however it ends (exit, Ctrl-C, SIGKILL), so a lock left by a dead process
is stale by construction and is taken over (with a note naming that PID); a
second writer while the holder lives gets `FolderLocked`, whose message names
the PID holding it. Where fcntl is missing (Windows) the PID in the file is
checked instead. Within one process, a folder is held once: a second
FolderLock on it (a new Trainer object) takes it over from the first.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from common.cli import UserError

LOCK_NAME = ".lock"

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None


_HELD: dict[str, "FolderLock"] = {}  # folder -> the lock this process holds on it


class FolderLocked(UserError):
    """Another live process holds the folder's lock."""


def pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


def _read_pid(path: Path) -> int | None:
    try:
        text = path.read_text(errors="replace").split()
        return int(text[0]) if text else None
    except (OSError, ValueError):
        return None


class FolderLock:
    def __init__(self, folder: str | os.PathLike, what: str = "run directory"):
        self.folder = Path(folder)
        self.path = self.folder / LOCK_NAME
        self.what = what
        self._fh = None

    def _busy(self, pid: int | None) -> FolderLocked:
        holder = f"process {pid}" if pid else "another process"
        return FolderLocked(
            f"the {self.what} {self.folder} is in use by {holder} (lock {self.path}); "
            "wait for it to finish or choose another folder"
        )

    def acquire(self) -> "FolderLock":
        if self._fh is not None:
            return self
        key = str(self.folder.resolve())
        if key in _HELD:  # this process already holds it (an earlier Trainer object): handed over
            _HELD[key].release()
        fh = open(self.path, "a+")
        if fcntl is not None:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                fh.close()
                raise self._busy(_read_pid(self.path)) from None
        previous = _read_pid(self.path)
        if previous and previous != os.getpid():
            if fcntl is None and pid_alive(previous):  # pragma: no cover - Windows
                fh.close()
                raise self._busy(previous)
            print(
                f"note: took over the lock of process {previous} on {self.folder} (no longer running)",
                file=sys.stderr,
            )
        fh.seek(0)
        fh.truncate()
        fh.write(f"{os.getpid()}\n")
        fh.flush()
        self._fh = fh
        _HELD[key] = self
        return self

    def release(self) -> None:
        if self._fh is None:
            return
        key = str(self.folder.resolve())
        if _HELD.get(key) is self:
            del _HELD[key]
        try:
            self._fh.seek(0)
            self._fh.truncate()  # a clean end leaves no PID behind
        except OSError:
            pass
        finally:
            if fcntl is not None:
                fcntl.flock(self._fh.fileno(), fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()
