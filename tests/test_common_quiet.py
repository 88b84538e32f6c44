"""common.quiet (issues 12, 23): the tools print only their own lines by default (TensorFlow's,
LiteRT's and the TFLite converter's chatter hidden), --verbose shows the rest, and a block that fails
replays what it hid."""

import os
import re
import subprocess
import sys

import pytest

from tests.cli_support import TRAINER_LINES
from tests.cli_support import quiet_env as _quiet_env
from tests.conftest import ROOT

CHATTER = re.compile(
    r"^[IWEF]\d{4} |absl::InitializeLog|oneDNN|XNNPACK|Saved artifact|TensorSpec|Captures:|"
    r"MLIR|SavedModel|cpu_feature_guard|Traceback",
    re.M,
)


def test_generate_prints_only_its_own_lines(tiny_run, tmp_path):
    cmd = [
        sys.executable,
        str(ROOT / "generate.py"),
        "--model",
        str(tiny_run),
        "--tags",
        "blue hair red eyes",
        "--out",
        "a.png",
    ]
    r = subprocess.run(cmd, cwd=tmp_path, env=_quiet_env(), capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [
        "blue_hair_red_eyes: 'blue hair red eyes' -> blue hair red eyes",
        "wrote a.png",
    ]
    assert r.stderr == ""
    # --verbose shows what was hidden (LiteRT's delegate line): the silence is ours, not an accident
    loud = subprocess.run(
        cmd + ["--verbose"], cwd=tmp_path, env=_quiet_env(), capture_output=True, text=True, timeout=300
    )
    assert loud.returncode == 0 and "XNNPACK" in loud.stderr, loud.stderr


@pytest.mark.slow
@pytest.mark.tflite  # the TFLite converter's chatter is hidden too
def test_a_short_training_prints_only_its_own_lines(train_argv, tmp_path):
    r = subprocess.run(
        [sys.executable, str(ROOT / "train.py"), *train_argv(tmp_path / "run", epochs=1)],
        cwd=tmp_path,
        env=_quiet_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert r.returncode == 0, r.stderr
    assert len(r.stdout.splitlines()) == 1 and r.stdout.startswith("trained to step "), r.stdout
    assert not CHATTER.search(r.stderr), r.stderr
    assert all(line.startswith(TRAINER_LINES) for line in r.stderr.splitlines()), r.stderr
    assert (tmp_path / "run" / "export" / "generator.tflite").exists()


def test_silenced_replays_what_it_hid_when_the_block_fails(capfd):
    from common.quiet import silenced

    with pytest.raises(RuntimeError):
        with silenced():
            os.write(1, b"converter said why\n")
            raise RuntimeError("conversion failed")
    assert "converter said why" in capfd.readouterr().err


@pytest.mark.parametrize(
    "tool", [pytest.param("export", marks=pytest.mark.tflite), "generate-tensorflow", "report"]
)
def test_the_tools_that_load_tensorflow_print_only_their_own_lines(tool, tiny_run, tmp_path):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(tiny_run, run, ignore=shutil.ignore_patterns("report"))
    cmd = {
        "export": [str(ROOT / "export.py"), str(run), "--out", str(tmp_path / "exported")],
        "generate-tensorflow": [
            str(ROOT / "generate.py"),
            "--model",
            str(run),
            "--backend",
            "tensorflow",
            "--tags",
            "blue hair red eyes",
            "--out",
            "a.png",
        ],
        "report": ["-m", "report", str(run), "--no-grade"],
    }[tool]
    r = subprocess.run(
        [sys.executable, *cmd],
        cwd=tmp_path if tool != "report" else ROOT,
        env=_quiet_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert r.returncode == 0, r.stderr
    assert r.stderr == "", r.stderr
    assert not CHATTER.search(r.stdout), r.stdout
    assert r.stdout.splitlines()[-1].startswith(("exported to", "wrote")), r.stdout
    if tool == "generate-tensorflow":  # --verbose shows them: the silence is ours
        loud = subprocess.run(
            [sys.executable, *cmd, "--verbose"],
            cwd=tmp_path,
            env=_quiet_env(),
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert loud.returncode == 0 and "oneDNN" in loud.stderr, loud.stderr
