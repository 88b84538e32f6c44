"""Quiet by default: the tools print their own lines, not TensorFlow's.

TensorFlow's C++ start-up logs, absl's, the MLIR/TFLite converter's (some on
stdout) and LiteRT's "Created TensorFlow Lite XNNPACK delegate" line are hidden
unless `--verbose` is given or the environment variable TAGFACE_VERBOSE=1 is
set. `quiet_libraries()` must run before TensorFlow is imported (the C++ log
level is read once, at import). Since TensorFlow 2.21 the log level no longer
hides absl's "All log messages before absl::InitializeLog()" and oneDNN's
first lines, which the import writes straight to file descriptor 2; so
`quiet_libraries()` also makes the first `import tensorflow` run inside
`silenced(stdout=False)`, wherever in the toolkit it happens (one mechanism
for every CLI). Standard library only.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import importlib.util
import logging
import os
import sys
import tempfile

from common.cli import UserError

VERBOSE_ENV = "TAGFACE_VERBOSE"


def is_verbose() -> bool:
    return os.environ.get(VERBOSE_ENV, "").strip().lower() not in ("", "0", "false", "no", "off")


def quiet_libraries(verbose: bool = False) -> None:
    """Hide library chatter (unless verbose; a TF_CPP_MIN_LOG_LEVEL already set is kept).
    `verbose=True` sets TAGFACE_VERBOSE=1 so that the later steps show everything too."""
    if verbose:
        os.environ[VERBOSE_ENV] = "1"
    if is_verbose():
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # C++: errors only (no I/W lines)
    os.environ.setdefault("ABSL_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("GRPC_VERBOSITY", "ERROR")
    for name in ("tensorflow", "absl", "keras", "h5py"):
        logging.getLogger(name).setLevel(logging.ERROR)
    if "tensorflow" not in sys.modules and not any(isinstance(f, _QuietImport) for f in sys.meta_path):
        sys.meta_path.insert(0, _QuietImport())


class _QuietImport(importlib.abc.MetaPathFinder):
    """Runs the first import of TensorFlow with file descriptor 2 silenced: its
    native start-up lines bypass every log level. Removes itself once used."""

    NAME = "tensorflow"

    def find_spec(self, name, path=None, target=None):
        if name != self.NAME:
            return None
        sys.meta_path.remove(self)  # the real finders locate it; this hook is done after this import
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None or is_verbose():
            return spec
        exec_module = spec.loader.exec_module

        def quiet_exec(module):
            with silenced(stdout=False):
                exec_module(module)

        spec.loader.exec_module = quiet_exec
        return spec


@contextlib.contextmanager
def silenced(stdout: bool = True, stderr: bool = True):
    """Hide what native code writes to file descriptors 1 and 2 inside the block
    (Python's print and warnings included). Kept in a temporary file and written to
    stderr if the block raises, so an error's details are not lost, except for a
    UserError: its one line says it all, and library chatter before it would bury it.
    Nothing is hidden when verbose."""
    fds = [fd for fd, on in ((1, stdout), (2, stderr)) if on]
    if is_verbose() or not fds:
        yield
        return
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    try:
        saved = {fd: os.dup(fd) for fd in fds}
    except OSError:  # no such descriptor (an embedded interpreter): nothing to hide
        yield
        return
    with tempfile.TemporaryFile() as sink:
        try:
            for fd in fds:
                os.dup2(sink.fileno(), fd)
            yield
        except UserError:
            raise
        except BaseException:
            _restore(saved)
            sink.seek(0)
            text = sink.read().decode(errors="replace")
            if text.strip():
                print(text, file=sys.stderr, end="" if text.endswith("\n") else "\n")
            raise
        finally:
            _restore(saved)


def _restore(saved: dict[int, int]) -> None:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    for fd, copy in list(saved.items()):
        os.dup2(copy, fd)
        os.close(copy)
        del saved[fd]
