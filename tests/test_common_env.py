"""common.env.require_packages: a Python without the packages gets one line saying what to run."""

import subprocess
import sys

import pytest

from tests.conftest import ROOT


@pytest.mark.parametrize("script", ["generate.py", "train.py", "export.py"])
def test_a_python_without_the_packages_gets_one_line(script):
    # -S: no site-packages, as the system's python3 outside .venv
    r = subprocess.run(
        [sys.executable, "-S", str(ROOT / script), "--help"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert r.returncode == 2
    assert "Traceback" not in r.stderr and r.stderr.strip().count("\n") == 0, r.stderr
    assert "has no numpy" in r.stderr and ".venv" in r.stderr and r.stdout == ""
