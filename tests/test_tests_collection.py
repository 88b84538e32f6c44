"""Collecting tests/ loads no TensorFlow: it is imported by the tests and fixtures that use it."""

import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT

_COLLECTION_PROBE = """
import json, os, sys
HEAVY = ("tensorflow", "keras")
first = []

def pytest_collectreport(report):
    if not first and "tensorflow" in sys.modules:
        first.append(report.nodeid)

def pytest_collection_finish(session):
    loaded = sorted(m for m in HEAVY if m in sys.modules)
    with open(os.environ["COLLECTION_PROBE_OUT"], "w") as fh:
        json.dump({"loaded": loaded, "first": first, "tests": len(session.items)}, fh)
"""


@pytest.mark.slow
def test_collecting_the_suite_imports_no_tensorflow(tmp_path):
    """TensorFlow is imported by the tests and fixtures that use it, not while pytest collects:
    with it, collecting took 11 s instead of 6 (2 loaded cores) and left every later test in a
    TensorFlow process."""
    import json

    (tmp_path / "collection_probe.py").write_text(_COLLECTION_PROBE)
    out = tmp_path / "probe.json"
    env = dict(
        os.environ,
        COLLECTION_PROBE_OUT=str(out),
        PYTHONPATH=os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")])),
    )
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--collect-only",
            "-q",
            "-p",
            "collection_probe",
            "-p",
            "no:cacheprovider",
            str(ROOT / "tests"),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    probe = json.loads(out.read_text())
    assert probe["tests"] > 100  # the whole suite was collected
    assert probe["loaded"] == [], f"loaded after collecting {probe['first']}: {probe['loaded']}"
