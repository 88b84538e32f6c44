"""One flag name per idea across the CLIs (old spellings hidden aliases), and
train.py --config starting a new run from another run's settings (issue 12)."""

import json
import re
import subprocess
import sys

import pytest

from tests.conftest import ROOT

SHARED_IDEAS = (
    "--images",
    "--tags-csv",
    "--tag-format",
    "--holdout",
    "--cache-dir",
    "--image-size",
    "--seed",
    "--top-k",
    "--condition-mode",
)


def _help(*cmd):
    r = subprocess.run(
        [sys.executable, *cmd, "--help"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert r.returncode == 0, r.stderr
    return set(re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", r.stdout))


def test_the_same_idea_has_the_same_flag_name_in_train_and_preprocess():
    train, pre = _help("train.py"), _help("-m", "preprocess")
    for flag in SHARED_IDEAS:
        assert flag in train and flag in pre, flag
    assert "--size" not in pre and "--cache" not in pre  # the old spellings are hidden aliases
    assert "--list-tags" in _help("generate.py") and "--list-tags" in _help("-m", "tags")


@pytest.mark.slow
def test_old_preprocess_spellings_still_work(synthetic_faces, tmp_path):
    for flags in (
        ["--image-size", "32", "--cache-dir", str(tmp_path / "new")],
        ["--size", "32", "--cache", str(tmp_path / "old")],
    ):
        r = subprocess.run(
            [
                sys.executable,
                "-m",
                "preprocess",
                "--images",
                str(synthetic_faces / "images"),
                "--tags-csv",
                str(synthetic_faces / "tags_2018.csv"),
                "--no-progress",
                *flags,
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert r.returncode == 0, r.stderr
        assert list((tmp_path / flags[3].rsplit("/", 1)[1]).rglob("data.npz"))


@pytest.mark.slow
def test_config_starts_a_new_run_with_another_runs_settings(train_argv, tmp_path, capsys):
    from train import main

    a, b = tmp_path / "a", tmp_path / "b"
    assert main(train_argv(a, gamma=0.4, steps=4)) == 0
    # no --images / --tags-csv: they come from a's config.json, as every other setting; --steps overrides
    assert (
        main(["--config", str(a / "config.json"), "--run-dir", str(b), "--steps", "6", "--no-progress"]) == 0
    )
    ca, cb = (json.loads((r / "config.json").read_text()) for r in (a, b))
    assert cb["steps"] == 6 and cb["gamma"] == 0.4 and cb["filters"] == ca["filters"] == 8
    assert {k: v for k, v in ca.items() if k != "steps"} == {k: v for k, v in cb.items() if k != "steps"}
    capsys.readouterr()
    assert main(["--config", str(a), "--run-dir", str(a), "--resume"]) == 2
    assert "--config starts a new run" in capsys.readouterr().err
