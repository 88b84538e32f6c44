"""train.py --check refuses what the run would refuse and says what it found (issue 23)."""

import shutil
import subprocess
import sys

import pytest

from tests.cli_support import one_error_line
from tests.conftest import ROOT


def check(*args, cwd):
    return subprocess.run(
        [sys.executable, str(ROOT / "train.py"), *args, "--check"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_check_names_the_format_the_usable_rows_and_prints_settings_readably(synthetic_faces, tmp_path):
    images = tmp_path / "images"
    shutil.copytree(synthetic_faces / "images", images)
    first = sorted(images.iterdir())[0]
    shutil.copy(first, images / "998.jpg")
    first.unlink()  # one row's image is missing
    csv = tmp_path / "tags.csv"
    csv.write_text((synthetic_faces / "tags_2018.csv").read_text() + "998,blue hair red hair\n")
    r = check(
        "--images",
        str(images),
        "--tags-csv",
        str(csv),
        "--run-dir",
        str(tmp_path / "run"),
        "--gamma",
        "0.4",
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr
    assert "MLDS-2018" in r.stdout and "(detected)" in r.stdout
    assert "119 of 121 rows usable" in r.stdout and "missing file 1" in r.stdout and "two hair" in r.stdout, (
        r.stdout
    )
    lines = r.stdout.splitlines()
    assert len(lines) > 8 and max(len(l) for l in lines if str(tmp_path) not in l) <= 100, r.stdout
    assert any(l.strip().startswith("losses and control:") and "*gamma 0.4" in l for l in lines), r.stdout
    assert "settings ok" in lines[-1]
    assert not (tmp_path / "run").exists()
    header = check(
        "--images",
        str(synthetic_faces / "images"),
        "--tags-csv",
        str(synthetic_faces / "tags_header.csv"),
        cwd=tmp_path,
    )
    assert header.returncode == 0 and "a CSV with a header" in header.stdout, header.stdout + header.stderr


def test_check_refuses_a_run_folder_that_holds_a_run_without_resume(tiny_run, synthetic_faces, tmp_path):
    r = check(
        "--images",
        str(synthetic_faces / "images"),
        "--tags-csv",
        str(synthetic_faces / "tags_2018.csv"),
        "--run-dir",
        str(tiny_run),
        cwd=tmp_path,
    )
    assert r.returncode == 2 and "already holds a run; pass --resume" in r.stderr, r.stdout + r.stderr
    assert r.stderr.count("\n") == 1


def test_check_refuses_a_csv_whose_images_are_all_missing(synthetic_faces, tmp_path):
    (tmp_path / "elsewhere").mkdir()
    r = check(
        "--images",
        str(tmp_path / "elsewhere"),
        "--tags-csv",
        str(synthetic_faces / "tags_2018.csv"),
        cwd=tmp_path,
    )
    assert r.returncode == 2, r.stdout
    assert "no usable images" in r.stderr and "all 120 rows skipped (missing file 120)" in r.stderr, r.stderr


def test_check_refuses_an_out_of_range_value_with_the_ranges_message(synthetic_faces, tmp_path):
    """One rule, one message: the range of --gamma is RANGES' and nothing words it again."""
    r = check(
        "--images",
        str(synthetic_faces / "images"),
        "--tags-csv",
        str(synthetic_faces / "tags_2018.csv"),
        "--gamma",
        "1.5",
        cwd=tmp_path,
    )
    assert r.returncode == 2, r.stdout + r.stderr
    assert r.stderr.strip().splitlines() == ["error: gamma must be between 0.0 and 1.0, not 1.5"], r.stderr


# --- every flag's range before any work (issue 15)
@pytest.mark.parametrize(
    "flags,word",
    [
        (["--log-every", "0"], "log_every"),
        (["--checkpoint-every", "0"], "checkpoint_every"),
        (["--lr-window", "0"], "lr_window"),
        (["--keep-checkpoints", "0"], "keep_checkpoints"),
        (["--seed", "-1"], "seed"),
        (["--seed", str(2**40)], "seed"),
        (["--steps", "-5"], "steps"),
        (["--epochs", "-1"], "epochs"),
        (["--lr", "nan"], "lr must"),
        (["--lr", "-1"], "lr must"),
        (["--lr", "inf"], "lr must"),
        (["--gamma", "nan"], "gamma"),
        (["--batch-size", "0"], "batch_size"),
        (["--holdout", "1"], "holdout"),
        (["--threads", "-1"], "--threads"),
        (["--filters", str(10**9)], "filters"),
        (["--images", "/nonexistent/x"], "image folder"),
        (["--run-dir", __file__], "is a file"),
    ],
)
def test_train_flags_out_of_range_are_one_line_and_exit_2(flags, word, synthetic_faces, capsys, tmp_path):
    from train import main

    base = [
        "--images",
        str(synthetic_faces / "images"),
        "--tags-csv",
        str(synthetic_faces / "tags_2018.csv"),
        "--run-dir",
        str(tmp_path / "run"),
        "--check",
    ]
    assert main(base + flags) == 2
    line = one_error_line(capsys)
    assert word in line and "lr_floor" not in line, line
    assert not (tmp_path / "run").exists()  # nothing written


def test_train_check_accepts_good_flags_and_writes_nothing(synthetic_faces, capsys, tmp_path):
    from train import main

    assert (
        main(
            [
                "--images",
                str(synthetic_faces / "images"),
                "--tags-csv",
                str(synthetic_faces / "tags_2018.csv"),
                "--run-dir",
                str(tmp_path / "run"),
                "--check",
                "--steps",
                "5",
            ]
        )
        == 0
    )
    assert "settings ok" in capsys.readouterr().out
    assert not (tmp_path / "run").exists()
