"""The course baseline (anime-face cascade on a 5x5 grid): threshold, slicing, CLI exits."""

import subprocess
import sys

import numpy as np
import pytest

from evaluate import baseline
from sampling.grid import grid, save_png
from tests.conftest import ROOT

BUNDLED_GRID = ROOT / "docs" / "default-model" / "testing_tags_graded.png"


def _grid_of(cells):
    return grid(np.asarray(cells, np.uint8), ncols=5)


def test_pass_threshold_is_twenty_of_twenty_five():
    assert baseline.PASS_AT == 20
    assert not baseline.passes(19)
    assert baseline.passes(20)
    assert baseline.BaselineResult(20, True).verdict == "20 faces (Pass)"
    assert baseline.BaselineResult(3, False).verdict == "3 faces (Fail)"


@pytest.mark.parametrize("kind", ["blank", "noise"])
def test_blank_or_noise_grid_has_no_faces_and_fails(kind):
    rng = np.random.default_rng(0)
    cells = np.full((25, 64, 64, 3), 255) if kind == "blank" else rng.integers(0, 256, (25, 64, 64, 3))
    result = baseline.grade_grid_image(_grid_of(cells))
    assert result.faces == 0 and not result.passed
    assert baseline.face_rate(np.asarray(cells, np.uint8)) == 0.0


def test_the_detector_finds_faces_in_a_bundled_grid():
    # The bundled model's graded grid holds faces the cascade does find (12 at the time of writing);
    # a broken detector that always answered 0 would pass the blank/noise tests alone.
    assert len(baseline.detect_faces(baseline.read_image(BUNDLED_GRID))) >= 5


def test_grid_slicing_maps_each_face_centre_to_its_cell():
    # A 5x5 grid of 64 px cells with 2 px gaps is 332 px square.
    shape = (332, 332, 3)
    boxes = np.array(
        [
            [2, 2, 60, 60],  # centre (32, 32): row 0, col 0
            [266 + 2, 134, 60, 60],  # centre (300, 164): row 2, col 4
            [68, 266, 40, 40],
        ]
    )  # centre (88, 286): row 4, col 1
    found = baseline.cells_with_faces(boxes, shape)
    assert found.sum() == 3
    assert found[0, 0] and found[2, 4] and found[4, 1]
    assert not baseline.cells_with_faces(np.zeros((0, 4)), shape).any()


def _cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "evaluate.baseline", *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cli_prints_a_verdict_per_grid_and_exits_1_on_a_fail(tmp_path):
    blank = save_png(tmp_path / "blank.png", _grid_of(np.full((25, 64, 64, 3), 255)))
    done = _cli(blank, BUNDLED_GRID)
    assert done.returncode == 1
    lines = done.stdout.strip().splitlines()
    assert lines[0] == f"{blank}: 0 faces (Fail)"
    # the bundled model's testing_tags.txt grid passes (25 faces when it was made); the blank one fails
    faces = int(lines[1].removeprefix(f"{BUNDLED_GRID}: ").split()[0])
    assert faces >= baseline.PASS_AT and lines[1].endswith("faces (Pass)")


def test_cli_exit_status_follows_the_bar():
    assert _cli(BUNDLED_GRID).returncode == 0
    done = _cli(BUNDLED_GRID, "--pass-at", "26")  # more faces than cells: no grid can pass
    assert done.returncode == 1 and done.stdout.strip().endswith("(Fail)")


def test_cli_unreadable_file_exits_2_with_one_line(tmp_path):
    bad = tmp_path / "grid.png"
    bad.write_bytes(b"not a png")
    done = _cli(bad)
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "cannot read" in done.stderr
    missing = _cli(tmp_path / "missing.png")
    assert missing.returncode == 2 and "cannot read" in missing.stderr


def test_face_rate_counts_single_cells_where_the_grid_detector_found_faces():
    image = baseline.read_image(BUNDLED_GRID)  # 5x5 cells of 64 px with 2 px gaps
    found = baseline.cells_with_faces(baseline.detect_faces(image), image.shape)
    cells = np.stack(
        [
            image[2 + r * 66 : 2 + r * 66 + 64, 2 + c * 66 : 2 + c * 66 + 64]
            for r in range(5)
            for c in range(5)
        ]
    )
    rate = baseline.face_rate(cells[found.ravel()])
    assert 0.5 <= rate <= 1.0  # cells the grid pass found are mostly found alone too
    assert np.isnan(baseline.face_rate(cells[:0]))
