"""A run says what it does and grades out of the box (issue 23): an evaluation line per
--eval-every, an epoch counter that agrees everywhere, labelled grids including the last
step's, no partial files once finished, numbers as people write them, the checker it
trained with in its export, and hints that name the simplest fix."""

import csv
import re
import subprocess
import sys

import imageio.v3 as iio
import pytest

from tests.checker_support import synthetic_checker
from tests.cli_support import gen_in_process, run_in_process
from tests.conftest import ROOT

CELL = 32 + 2


@pytest.fixture(scope="module")
def checker(tmp_path_factory):
    return synthetic_checker(tmp_path_factory)[0]


def _train(*args, cwd):
    """train.py in this process (what it prints is what is checked; test_common_quiet checks a new
    process's)."""
    from train import main

    return run_in_process(main, *args, cwd=cwd)


@pytest.fixture(scope="module")
def talking_run(tmp_path_factory, train_argv, checker):
    """20 steps (15 per epoch: ends inside epoch 2), evaluated every 10, with the progress bar."""
    run = tmp_path_factory.mktemp("talk") / "run"
    r = _train(*train_argv(run, eval_every=10, checker=checker, steps=20, progress=True), cwd=run.parent)
    assert r.returncode == 0, r.stderr[-3000:]
    return run, r


@pytest.mark.slow
def test_each_evaluation_prints_one_line_with_the_targets(talking_run):
    _, r = talking_run
    lines = [l for l in r.stderr.replace("\r", "\n").splitlines() if l.startswith("eval at step")]
    assert [l.split(":")[0] for l in lines] == ["eval at step 10", "eval at step 20"], r.stderr[-2000:]
    assert all("hair" in l and "(>= 0.95)" in l and "Frechet" in l and "targets met" in l for l in lines), (
        lines
    )


@pytest.mark.slow
def test_the_epoch_agrees_in_the_bar_the_last_line_and_metrics_csv(talking_run):
    run, r = talking_run
    with open(run / "metrics.csv", newline="") as fh:
        last = list(csv.DictReader(fh))[-1]
    assert (last["step"], last["epoch"]) == ("20", "2")
    assert r.stdout.startswith("trained to step 20 (epoch 2),"), r.stdout
    assert "run epoch 2/2" in r.stderr  # the progress bar counts epochs
    assert not re.search(r"\d\.\d{7,}", r.stdout), r.stdout  # lr=0.0002, not 0.000199999995


@pytest.mark.slow
def test_labelled_grids_of_each_epoch_and_of_the_last_step(talking_run):
    run, _ = talking_run
    epoch = iio.imread(run / "samples" / "epoch_001.png")
    assert epoch.shape[1] > 8 * CELL + 2 + 40  # a label strip left of the 8 columns
    assert (run / "samples" / "step_0000020.png").is_file()  # the model the run ends with


@pytest.mark.slow
def test_a_finished_run_leaves_no_partial_file_and_resumes_exactly(talking_run, train_argv):
    run, _ = talking_run
    assert not list(run.rglob("filtered/*.partial.csv"))
    r = _train(*train_argv(run, data=False, resume=True, steps=30, log_every=1), cwd=run.parent)
    assert r.returncode == 0, r.stderr[-2000:]
    resumed = next(l for l in r.stderr.splitlines() if l.startswith("resumed at step 20"))
    assert not re.search(r"\d\.\d{6,}", resumed), resumed
    assert (run / "filtered" / "epoch_002.csv").is_file() and not list(run.rglob("*.partial.csv"))
    with open(run / "metrics.csv", newline="") as fh:
        rows = {r["step"]: r for r in csv.DictReader(fh)}
    # the first step after a resume (graph tracing, the data skipped ahead) is not timed: no rate, not a
    # wrong one
    assert rows["21"]["images_per_s"] == "" and float(rows["22"]["images_per_s"]) > 0


@pytest.mark.slow
def test_the_export_carries_the_checker_it_trained_with_and_grades(talking_run, tmp_path):
    run, _ = talking_run
    assert (run / "export" / "checker.json").is_file()
    r = gen_in_process(
        "--model", str(run), "--tags", "blue hair red eyes", "--grade", "--out", "g.png", cwd=tmp_path
    )
    assert r.returncode == 0 and "tag accuracy" in r.stdout, r.stderr
    from export import main as export_main

    assert export_main([str(run), "--out", str(tmp_path / "again")]) == 0  # no --checker: the run's own
    assert (tmp_path / "again" / "checker.json").is_file()


def test_a_model_without_a_checker_gets_the_one_line_fix(tiny_run, tmp_path):
    r = subprocess.run(
        [
            sys.executable,
            str(ROOT / "generate.py"),
            "--model",
            str(tiny_run),
            "--tags",
            "blue hair",
            "--grade",
            "--out",
            "g.png",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 2
    assert f"python export.py {tiny_run} --checker" in r.stderr, r.stderr
    assert "python -m checker train" not in r.stderr


def test_tagface_model_is_relative_to_where_run_sh_runs(tiny_run, tmp_path):
    import os
    import shutil

    shutil.copytree(tiny_run / "export", tmp_path / "mine")
    (tmp_path / "elsewhere").mkdir()
    env = dict(os.environ, TAGFACE_MODEL="../mine")
    r = subprocess.run(
        [str(ROOT / "run.sh"), "blue hair", "--out", "a.png"],
        cwd=tmp_path / "elsewhere",
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0 and (tmp_path / "elsewhere" / "a.png").is_file(), r.stderr
    env["TAGFACE_MODEL"] = "nowhere"
    r = subprocess.run(
        [str(ROOT / "run.sh"), "blue hair"],
        cwd=tmp_path / "elsewhere",
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert (
        r.returncode == 2 and "TAGFACE_MODEL=nowhere" in r.stderr and "restore models/default" not in r.stderr
    )


def test_the_fixed_grid_shows_each_other_tag_beside_the_same_faces_without_it():
    from types import SimpleNamespace

    from tags.vocab import Vocabulary
    from training.monitor import fixed_sample_plan

    combos = [{"tags": {"hair": h, "eyes": "red"}, "count": 1} for h in ("blue", "green", "pink", "red")]
    config = SimpleNamespace(seed=0, nz=4, embed_dim=2)
    plain = Vocabulary({"hair": ["blue", "green", "pink", "red"], "eyes": ["red"]}, combos=combos)
    rows, z, _ = fixed_sample_plan(plain, config)
    assert len(rows) == 4 and all(extras == () for _, extras in rows) and z.shape == (8, 4)
    tagged = Vocabulary(plain.groups, ["glasses", "smile", "hat"], combos=combos)
    rows, _, _ = fixed_sample_plan(tagged, config)
    assert [extras for _, extras in rows] == [
        (),
        (),
        (),
        (),
        ("glasses",),
        ("smile",),
        ("hat",),
        ("glasses",),
    ]
    assert [values for values, _ in rows[4:]] == [values for values, _ in rows[:4]]  # the same colours
