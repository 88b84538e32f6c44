"""The one atomic file write: write a temporary file in the same folder, then
rename it over the target, so a crash or a kill never leaves a half-written
file behind (and the temporary file is removed when writing fails)."""
from __future__ import annotations

import contextlib
import os
import re
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


def safe_name(raw: str, fallback: str, limit: int = 80) -> str:
    """A file-name-safe stem of user text (ids, tag text): every run of other characters than
    letters, digits, '_', '.' and '-' becomes '_', no '..' and no leading dot, so the name
    cannot leave its folder; `fallback` when nothing usable is left."""
    cleaned = re.sub(r"[^A-Za-z0-9_.-]+", "_", str(raw).strip()).strip("._")
    cleaned = re.sub(r"\.{2,}", "_", cleaned)[:limit].strip("._")
    return cleaned or fallback
