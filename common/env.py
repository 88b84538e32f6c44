"""Before a CLI imports numpy or TensorFlow: are the project's packages here?

Run with a Python that lacks them (the system's, outside .venv), a CLI says in
one line what to run instead of ending in a ModuleNotFoundError traceback.
Standard library only.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import sys
from pathlib import Path

NEEDED = ("numpy", "imageio", "skimage")


def quiet_ctrl_c_while_starting() -> None:
    """Until a CLI's main() sets its own handler (common.cli.exit_on_user_error), a Ctrl-C during the
    module-level imports ends as one line and exit status 130, not a KeyboardInterrupt traceback:
    nothing has been written yet, and an exception raised inside an import can be swallowed by a
    library's own try/except, so the process ends at once (os._exit)."""

    def stop(signum, frame):
        os.write(2, b"stopped by Ctrl-C (SIGINT)\n")
        os._exit(130)

    stop.only_while_importing = True  # common.cli.exit_on_user_error puts Python's own back after main
    signal.signal(signal.SIGINT, stop)


def require_packages(program: str, needed: tuple[str, ...] = NEEDED) -> None:
    """Exit with status 2 and one line on stderr when a needed package is missing. When `program`
    is the script being run (not a module a test imports), a Ctrl-C during the imports that follow
    is first made one line (quiet_ctrl_c_while_starting)."""
    if Path(sys.argv[0]).name == program:
        quiet_ctrl_c_while_starting()
    missing = [name for name in needed if importlib.util.find_spec(name) is None]
    if not missing:
        return
    root = Path(__file__).resolve().parents[1]
    venv_python = root / ".venv" / "bin" / "python"
    how = (
        f"use {venv_python} {program} (or: source {root / '.venv/bin/activate'})"
        if venv_python.exists()
        else f"run {root / 'run.sh'} or {root / 'test.sh'} once (it creates .venv), then "
        f".venv/bin/python {program}"
    )
    print(
        f"error: {sys.executable} has no {', '.join(missing)} (tagface's packages live in .venv): {how}",
        file=sys.stderr,
    )
    raise SystemExit(2)
