"""Exports are whole or untouched (issue 24): the folder is built beside the
target and swapped in, so a SIGKILL at any moment leaves the old export or the
new one, complete; a killed save's ckpt-N_temp folder is removed on resume."""

import hashlib
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

# Exports the run in a child that SIGKILLs itself at a chosen moment: "writing" (G's files written,
# the reconstructor's not yet) or "swapped" (the new folder in place, the old one not yet removed).
KILLER = """
import os, signal, sys
sys.path.insert(0, {root!r})
import common.files, sampling.tflite
from sampling.export import export_run
moment = {moment!r}
if moment == "writing":
    convert = sampling.tflite.convert
    def convert_then_die(network, path, *a, **k):
        if "reconstructor" in str(path):
            os.kill(os.getpid(), signal.SIGKILL)
        return convert(network, path, *a, **k)
    sampling.tflite.convert = convert_then_die
else:
    common.files._remove = lambda path: os.kill(os.getpid(), signal.SIGKILL)
export_run({run!r}, {out!r})
"""


def _digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def _weights(folder: Path) -> dict:
    """Every array of the export's two .h5 files (two exports of one checkpoint differ in bytes, not in
    these)."""
    import h5py

    arrays = {}
    for name in ("generator.weights.h5", "reconstructor.weights.h5"):
        with h5py.File(folder / name, "r") as f:
            f.visititems(
                lambda key, item: (
                    arrays.__setitem__(f"{name}/{key}", item[()].tobytes())
                    if isinstance(item, h5py.Dataset)
                    else None
                )
            )
    return arrays


def _kill_during_export(run: Path, out: Path, moment: str) -> None:
    code = KILLER.format(root=str(ROOT), moment=moment, run=str(run), out=str(out))
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=300,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"),
    )
    assert done.returncode == -signal.SIGKILL, done.stderr[-2000:]


@pytest.mark.parametrize(
    "moment", [pytest.param("writing", marks=pytest.mark.tflite), "swapped"]
)  # killed converting
def test_a_kill_during_an_export_leaves_a_whole_export(tmp_path, tiny_run, moment):
    from model.run_folder import checkpoint_paths, checkpoint_step
    from sampling.export import export_run

    steps = [checkpoint_step(p) for p in checkpoint_paths(tiny_run / "checkpoints")[0]]
    out = tmp_path / "E"
    export_run(tiny_run, out, step=steps[0])
    (out / "checker.json").write_text("{}")  # a file of its own (the tag checker) is carried over
    old = _digests(out)
    export_run(tiny_run, tmp_path / "new", step=steps[-1])
    new = _weights(tmp_path / "new")
    assert new != _weights(out)
    files = sorted(_digests(tmp_path / "new")) + ["checker.json"]
    _kill_during_export(tiny_run, out, moment)
    left = [p.name for p in tmp_path.iterdir() if p.name.startswith(".E.")]
    assert len(left) == 1  # the killed writer's leftover beside the export
    now = _digests(out)
    if moment == "writing":
        assert now == old
    else:
        assert sorted(now) == sorted(files) and _weights(out) == new
    # the next export cleans up after it, and gives the new export, whole
    export_run(tiny_run, out)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".E.")]
    assert sorted(_digests(out)) == sorted(files) and _weights(out) == new


@pytest.mark.tflite  # the conversion is what fails
def test_an_export_that_fails_changes_nothing(tmp_path, tiny_run, monkeypatch):
    import sampling.tflite
    from sampling.export import export_run

    out = tmp_path / "E"
    export_run(tiny_run, out)
    before = _digests(out)

    def fail(network, path, *args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(sampling.tflite, "convert", fail)
    with pytest.raises(OSError):
        export_run(tiny_run, out)
    assert _digests(out) == before and sorted(p.name for p in tmp_path.iterdir()) == ["E"]


def test_resume_removes_the_temp_folder_of_a_killed_checkpoint_save(tmp_path, tiny_run):
    from model.run_folder import checkpoint_paths, checkpoint_step
    from train import main

    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    step = checkpoint_step(checkpoint_paths(run / "checkpoints")[0][-1])
    stale = run / "checkpoints" / f"ckpt-{step + 1}_temp"
    stale.mkdir()
    (stale / "part-00000-of-00001.data-00000-of-00001").write_bytes(b"\0" * 64)
    assert main(["--run-dir", str(run), "--resume", "--steps", str(step + 1), "--no-progress"]) == 0
    assert not stale.exists()
