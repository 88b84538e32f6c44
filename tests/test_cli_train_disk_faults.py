"""Faults (issue 15): a full disk under the run and the cache, a read-only run
folder, Ctrl-C at start-up, at the first step and while checkpoints are written.
Every case ends in one line and exit 2 (or 130 for Ctrl-C), no traceback, no
temporary file left, and the run resumes afterwards."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.cli_support import default_sigint, run_in_process
from tests.conftest import ROOT

ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}


@pytest.fixture()
def mount(tmp_path):
    """mount(size, read_only=False) -> a fresh tmpfs folder; skipped where mounting is not allowed."""
    mounted = []

    def _mount(size: str, read_only: bool = False) -> Path:
        point = tmp_path / f"mnt{len(mounted)}"
        point.mkdir()
        opts = f"size={size}" + (",ro" if read_only else "")
        result = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(point)], capture_output=True, text=True
        )
        if result.returncode != 0:
            pytest.skip(
                f"cannot mount a tmpfs here ({result.stderr.strip()[:100] or 'mount failed'}): "
                "needs root or CAP_SYS_ADMIN"
            )
        mounted.append(point)
        return point

    yield _mount
    for point in mounted:
        subprocess.run(["umount", "-l", str(point)], capture_output=True)


def _train_cmd(train_argv, run_dir, **settings):
    return [sys.executable, str(ROOT / "train.py"), *train_argv(run_dir, **settings)]


def _no_leftovers(folder: Path):
    left = [p for p in folder.rglob("*") if ".tmp" in p.name or p.name.endswith("_temp")]
    assert left == [], left


def _error_lines(stderr: str) -> list[str]:
    assert "Traceback" not in stderr, stderr[-3000:]
    return [l for l in stderr.splitlines() if l.startswith("error:")]


def test_disk_full_in_the_run_dir(mount, train_argv, tiny_run, tmp_path):
    from train import main  # in this process: what train.py does on a full disk, not a new process's start

    disk = mount("200k")
    result = run_in_process(main, *train_argv(disk / "run", steps=20), cwd=tmp_path)
    assert result.returncode == 2, result.stderr[-2000:]
    lines = _error_lines(result.stderr)
    assert len(lines) == 1 and "no space left" in lines[0] and len(lines[0]) < 300, lines
    _no_leftovers(disk)


@pytest.mark.slow
def test_disk_full_in_the_cache_dir(mount, synthetic_faces):
    disk = mount("150k")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "preprocess",
            "--images",
            str(synthetic_faces / "images"),
            "--tags-csv",
            str(synthetic_faces / "tags_2018.csv"),
            "--cache",
            str(disk),
            "--size",
            "64",
            "--no-progress",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=ENV,
        timeout=600,
    )
    assert result.returncode == 2, result.stderr[-2000:]
    lines = _error_lines(result.stderr)
    assert len(lines) == 1 and "cannot write the dataset cache" in lines[0], lines
    _no_leftovers(disk)
    assert not list(disk.rglob("data.npz")) and not list(disk.rglob("vocab.json"))  # no half cache


def test_a_read_only_run_dir_is_one_line(mount, train_argv, tiny_run, capsys):
    from train import main

    disk = mount("1m", read_only=True)
    assert main(train_argv(disk / "run", steps=2)) == 2
    lines = _error_lines(capsys.readouterr().err)
    assert len(lines) == 1 and "cannot write the run directory" in lines[0], lines


def _interrupt(argv, when, timeout=600):
    """Start train.py, wait until `when(process)` is true, send SIGINT; (returncode, stderr)."""
    proc = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV, preexec_fn=default_sigint
    )
    deadline = time.time() + timeout
    while not when(proc) and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, err


def _cpu_seconds(pid: int) -> float:
    """A process's CPU time so far: how far its start-up got, whatever else loads the machine (a
    wall-clock second on a loaded machine can end before Python has read its own standard library)."""
    from bench import cpu_seconds

    try:
        return cpu_seconds(pid)
    except OSError:  # (it has already ended)
        return 0.0


def _metric_rows(run: Path) -> int:
    try:
        return max(len((run / "metrics.csv").read_text().splitlines()) - 1, 0)
    except OSError:
        return 0


@pytest.mark.parametrize("phase", ["start-up", "first step", "checkpoint write"])
def test_ctrl_c_at_every_phase_is_one_line_and_resumable(phase, tmp_path, train_argv, tiny_run):
    run = tmp_path / "run"
    settings = dict(steps=40, log_every=1) | (dict(checkpoint_every=1) if phase == "checkpoint write" else {})
    when = {  # start-up: a CPU-second in, importing TensorFlow, before the trainer's own handler
        "start-up": lambda proc: _cpu_seconds(proc.pid) > 1.0,
        "first step": lambda proc: _metric_rows(run) >= 1,
        "checkpoint write": lambda proc: _metric_rows(run) >= 3,
    }[phase]
    code, err = _interrupt(_train_cmd(train_argv, run, **settings), when)
    assert code == 130, err[-2000:]
    if phase == "start-up":  # before the trainer's own handler: the CLI's one line
        assert "stopped by Ctrl-C (SIGINT)" in err or "--resume" in err, err[-1000:]
    assert "Traceback" not in err, err[-3000:]
    _no_leftovers(tmp_path)
    if phase != "start-up":
        assert "--resume" in err, err[-1000:]
        from train import main  # the resume in this process: the stopped process is what is tested

        target = str(_metric_rows(run) + 2)  # two steps past the last one logged (one a step): it trains on
        resumed = run_in_process(
            main, "--run-dir", str(run), "--resume", "--steps", target, "--no-progress", cwd=tmp_path
        )
        assert resumed.returncode == 0, resumed.stderr[-2000:]
        assert "resumed at step" in resumed.stderr


@pytest.mark.parametrize("delay", [0.8, 2.0, 4.0])
@pytest.mark.parametrize(
    "tool", ["preprocess", pytest.param("export", marks=pytest.mark.tflite)]
)  # Ctrl-C converting
def test_ctrl_c_during_the_cache_build_or_the_export(tool, delay, tmp_path, synthetic_faces, tiny_run):
    """Ctrl-C while the dataset cache is built or a model is exported: exit 130 (or the work was
    already done), one line, no traceback, no temporary file, and no half cache."""
    if tool == "preprocess":
        argv = [
            sys.executable,
            "-m",
            "preprocess",
            "--images",
            str(synthetic_faces / "images"),
            "--tags-csv",
            str(synthetic_faces / "tags_2018.csv"),
            "--cache",
            str(tmp_path / "c"),
            "--size",
            "128",
            "--no-progress",
        ]
    else:
        argv = [sys.executable, str(ROOT / "export.py"), str(tiny_run), "--out", str(tmp_path / "model")]
    proc = subprocess.Popen(
        argv,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
        preexec_fn=default_sigint,
    )
    time.sleep(delay)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=600)
    # Stopped: the one line, and 130, or -2 (killed by SIGINT; a shell's $? reads 130 either way): for
    # python -m preprocess, Python sometimes ends in kill(itself, SIGINT) at exit (seen with strace)
    # although the CLI had caught the KeyboardInterrupt, printed the line and returned 130.
    # Finished: 0, or -2 when the signal came during interpreter shutdown, and the tool's last line.
    stopped = bool(err.strip()) and err.strip().splitlines()[-1] == "stopped by Ctrl-C (SIGINT)"
    assert proc.returncode in ((130, -2) if stopped else (0, -2)), (proc.returncode, err[-2000:])
    if not stopped:
        assert ("exported to" if tool == "export" else "training images") in out, (out, err)
    assert "Traceback" not in err, err[-3000:]
    _no_leftovers(tmp_path)
    if stopped and tool == "preprocess":
        for folder in (tmp_path / "c").glob("*"):
            assert (folder / "data.npz").exists() == (folder / "vocab.json").exists() or not (
                folder / "data.npz"
            ).exists()
