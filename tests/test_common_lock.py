"""common.lock.FolderLock: one writer per run directory, a dead holder's lock taken over (issue 15)."""

import os
import subprocess
import sys

import pytest

from tests.cli_support import run_in_process
from tests.conftest import ROOT

_HOLDER = """
import sys, time
sys.path.insert(0, {root!r})
from common.lock import FolderLock
FolderLock({run!r}).acquire()
print("held", flush=True)
time.sleep(120)
"""


@pytest.mark.slow
def test_a_second_writer_gets_one_line_naming_the_pid_and_exit_2(tmp_path, synthetic_faces, cache_dir):
    run = tmp_path / "run"
    run.mkdir()
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER.format(root=str(ROOT), run=str(run))],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        from train import main  # in this process: the holder is the other process the lock is about

        result = run_in_process(
            main,
            "--images",
            str(synthetic_faces / "images"),
            "--tags-csv",
            str(synthetic_faces / "tags_2018.csv"),
            "--cache-dir",
            str(cache_dir),
            "--run-dir",
            str(run),
            "--steps",
            "2",
            "--no-progress",
            cwd=tmp_path,
        )
        assert result.returncode == 2, result.stderr
        lines = [l for l in result.stderr.splitlines() if l.startswith("error:")]
        assert len(lines) == 1 and f"process {holder.pid}" in lines[0], result.stderr
        assert "Traceback" not in result.stderr
        assert not (run / "config.json").exists()  # the second writer wrote nothing
    finally:
        holder.kill()
        holder.wait()


def test_a_stale_lock_of_a_dead_process_is_taken_over(tmp_path, capsys):
    from common.lock import FolderLock, FolderLocked

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (tmp_path / ".lock").write_text(f"{dead.pid}\n")
    lock = FolderLock(tmp_path).acquire()
    assert f"process {dead.pid}" in capsys.readouterr().err
    assert (tmp_path / ".lock").read_text().strip() == str(os.getpid())
    # a killed holder (SIGKILL: no clean-up at all) leaves a lock the next writer takes over
    lock.release()
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER.format(root=str(ROOT), run=str(tmp_path))],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "held"
    with pytest.raises(FolderLocked, match=f"process {holder.pid}"):
        FolderLock(tmp_path).acquire()
    holder.kill()
    holder.wait()
    FolderLock(tmp_path).acquire().release()
