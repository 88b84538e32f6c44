"""The code style is checked (issue 36): ruff's formatter and its linter (the rule set in pyproject.toml:
pycodestyle, pyflakes, isort) find nothing to change in the repository."""

import subprocess
import sys

from tests.conftest import ROOT


def _ruff(*args):
    return subprocess.run(
        [sys.executable, "-m", "ruff", *args], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def test_ruff_check_finds_nothing():
    done = _ruff("check", "--output-format", "concise", ".")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-1000:]


def test_ruff_format_would_change_nothing():
    done = _ruff("format", "--check", ".")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-1000:]
