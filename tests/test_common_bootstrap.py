"""common/bootstrap.sh (issue 12): run.sh and test.sh each set up .venv alone on a fresh clone,
in either order, and a machine without the Python they need gets one line saying what to install."""

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.cli_support import quiet_env as _quiet_env
from tests.conftest import ROOT

INNER_TESTS = "tests/test_tags_parser.py"  # what the clone's test.sh runs: a quick file without subprocesses


def _fake_python(tmp_path: Path) -> tuple[Path, Path]:
    """A stand-in for python3 that creates a '.venv' whose python is this test's
    interpreter and whose pip only logs what it was asked to install (a real
    install of TensorFlow takes minutes; the logic around it is what is tested)."""
    log = tmp_path / "pip.log"
    real = sys.executable
    fake = tmp_path / "python3"
    fake.write_text(
        textwrap.dedent(f"""\
        #!/usr/bin/env bash
        if [[ "$1" == "-m" && "$2" == "venv" ]]; then
          mkdir -p "$3/bin"
          cat > "$3/bin/python" <<'INNER'
        #!/usr/bin/env bash
        if [[ "$1" == "-m" && "$2" == "pip" ]]; then echo "pip ${{*:3}}" >> {log}; exit 0; fi
        exec {real} "$@"
        INNER
          chmod +x "$3/bin/python"
          exit 0
        fi
        exec {real} "$@"
        """)
    )
    fake.chmod(0o755)
    return fake, log


def _clone(tmp_path: Path, name: str) -> Path:
    """A fresh clone of the committed repository plus this work tree's changes to the
    bootstrap files (so the test checks what is about to be committed)."""
    dest = tmp_path / name
    subprocess.run(["git", "clone", "-q", "--no-hardlinks", str(ROOT), str(dest)], check=True)
    for rel in (
        "run.sh",
        "test.sh",
        "common/bootstrap.sh",
        "pyproject.toml",
        "common/env.py",
        "common/quiet.py",
        "generate.py",
        "sampling/tflite.py",
        "tests/conftest.py",
    ):
        if (ROOT / rel).exists():
            (dest / rel).write_bytes((ROOT / rel).read_bytes())
            (dest / rel).chmod((ROOT / rel).stat().st_mode)
    assert not (dest / ".venv").exists()
    return dest


def _pip_installs(log: Path) -> list[str]:
    return [line for line in log.read_text().splitlines() if " -r " in line] if log.exists() else []


@pytest.mark.slow
@pytest.mark.parametrize("order", ["test-first", "run-first"])
def test_fresh_clone_run_sh_and_test_sh_each_set_up_the_venv(tmp_path, order):
    fake, log = _fake_python(tmp_path)
    clone = _clone(tmp_path, "clone")
    env = _quiet_env(PYTHON=str(fake), PYTEST_XDIST_AUTO_NUM_WORKERS="0")  # one file of tests: no workers

    def test_sh():
        return subprocess.run(
            ["./test.sh", INNER_TESTS],
            cwd=clone,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )

    def run_sh():
        return subprocess.run(
            ["./run.sh", "--list-tags"], cwd=clone, env=env, capture_output=True, text=True, timeout=600
        )

    first, second = (test_sh, run_sh) if order == "test-first" else (run_sh, test_sh)
    r = first()
    assert r.returncode == 0, r.stdout + r.stderr
    installs = _pip_installs(log)
    assert len(installs) == 1, installs
    assert "requirements.txt" in installs[0] and "requirements-test.txt" in installs[0]
    assert (clone / ".venv" / "bin" / "python").exists()
    s = second()
    assert s.returncode == 0, s.stdout + s.stderr
    assert len(_pip_installs(log)) == 1, "the second command installed again"
    tests_run = r if order == "test-first" else s
    assert "passed" in tests_run.stdout and "failed" not in tests_run.stdout, tests_run.stdout
    # pyproject.toml's pytest settings are the ones in force
    assert (
        "configfile: pyproject.toml"
        in subprocess.run(
            [
                str(clone / ".venv/bin/python"),
                "-m",
                "pytest",
                "--co",
                "-q",
                INNER_TESTS,
                "-v",
            ],
            cwd=clone,
            env=env,
            capture_output=True,
            text=True,
        ).stdout
    )


def test_bootstrap_without_python_says_what_to_install(tmp_path):
    clone = _clone(tmp_path, "clone")
    r = subprocess.run(
        ["./test.sh"],
        cwd=clone,
        env=_quiet_env(PYTHON=str(tmp_path / "no-python3.11")),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0 and "install Python 3.11" in r.stderr
