"""Shared by the generate.py CLI tests: run the CLI as a user does, and the tiny model's grid cell."""
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CELL = 32 + 2  # tiny model size + grid padding


def gen(*args, cwd):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.run([sys.executable, str(ROOT / "generate.py"), *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)
