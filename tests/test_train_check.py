"""train.py --check refuses what the run would refuse and says what it found (issue 23)."""
import shutil
import subprocess
import sys

from tests.conftest import ROOT


def check(*args, cwd):
    return subprocess.run([sys.executable, str(ROOT / "train.py"), *args, "--check"], cwd=cwd, capture_output=True,
                          text=True, timeout=300)


def test_check_names_the_format_the_usable_rows_and_prints_settings_readably(synthetic_faces, tmp_path):
    images = tmp_path / "images"
    shutil.copytree(synthetic_faces / "images", images)
    first = sorted(images.iterdir())[0]
    shutil.copy(first, images / "998.jpg")
    first.unlink()  # one row's image is missing
    csv = tmp_path / "tags.csv"
    csv.write_text((synthetic_faces / "tags_2018.csv").read_text() + "998,blue hair red hair\n")
    r = check("--images", str(images), "--tags-csv", str(csv), "--run-dir", str(tmp_path / "run"), "--gamma", "0.4",
              cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "MLDS-2018" in r.stdout and "(detected)" in r.stdout
    assert "119 of 121 rows usable" in r.stdout and "missing file 1" in r.stdout and "two hair" in r.stdout, r.stdout
    lines = r.stdout.splitlines()
    assert len(lines) > 8 and max(len(l) for l in lines if str(tmp_path) not in l) <= 100, r.stdout
    assert any(l.strip().startswith("losses and control:") and "*gamma 0.4" in l for l in lines), r.stdout
    assert "settings ok" in lines[-1]
    assert not (tmp_path / "run").exists()
    header = check("--images", str(synthetic_faces / "images"), "--tags-csv", str(synthetic_faces / "tags_header.csv"),
                   cwd=tmp_path)
    assert header.returncode == 0 and "a CSV with a header" in header.stdout, header.stdout + header.stderr


def test_check_refuses_a_run_folder_that_holds_a_run_without_resume(tiny_run, synthetic_faces, tmp_path):
    r = check("--images", str(synthetic_faces / "images"), "--tags-csv", str(synthetic_faces / "tags_2018.csv"),
              "--run-dir", str(tiny_run), cwd=tmp_path)
    assert r.returncode == 2 and "already holds a run; pass --resume" in r.stderr, r.stdout + r.stderr
    assert r.stderr.count("\n") == 1


def test_check_refuses_a_csv_whose_images_are_all_missing(synthetic_faces, tmp_path):
    (tmp_path / "elsewhere").mkdir()
    r = check("--images", str(tmp_path / "elsewhere"), "--tags-csv", str(synthetic_faces / "tags_2018.csv"),
              cwd=tmp_path)
    assert r.returncode == 2, r.stdout
    assert "no usable images" in r.stderr and "all 120 rows skipped (missing file 120)" in r.stderr, r.stderr


def test_check_refuses_an_out_of_range_value_with_the_ranges_message(synthetic_faces, tmp_path):
    """One rule, one message: the range of --gamma is RANGES' and nothing words it again."""
    r = check("--images", str(synthetic_faces / "images"), "--tags-csv", str(synthetic_faces / "tags_2018.csv"),
              "--gamma", "1.5", cwd=tmp_path)
    assert r.returncode == 2, r.stdout + r.stderr
    assert r.stderr.strip().splitlines() == ["error: gamma must be between 0.0 and 1.0, not 1.5"], r.stderr
