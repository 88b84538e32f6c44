"""Grids that explain themselves (issue 12): a name from the tags, a block of
whole rows per tag text with its label, labelled sweep columns, --seeds ranges."""

import imageio.v3 as iio
import numpy as np
import pytest

from tests.cli_support import CELL, gen, gen_in_process


def _has_text(strip: np.ndarray) -> bool:
    return bool((strip < 100).any())


def test_several_tag_texts_get_a_name_a_block_of_rows_each_and_labels(tiny_run, tmp_path):
    r = gen_in_process(
        "--model",
        str(tiny_run),
        "--tags",
        "pink hair",
        "--tags",
        "white hair aqua eyes",
        "--n",
        "8",
        "--cols",
        "5",
        cwd=tmp_path,
    )  # 8 in 5 columns: a ragged row per text, as asked
    assert r.returncode == 0, r.stderr
    out = tmp_path / "samples" / "tiny" / "pink_hair_vs_white_hair_aqua_eyes_n8.png"
    assert f"wrote samples/tiny/{out.name}" in r.stdout
    image = iio.imread(out)
    assert image.shape[0] == 4 * CELL + 2  # 8 faces in 5 columns: two rows per tag text, not 8+8 run together
    label_width = image.shape[1] - (5 * CELL + 2)
    assert label_width > 40  # row labels on by default for several tag texts
    cells = image[:, label_width:]
    # the first block's second row ends after 3 faces: its last two cells are blank, and the next
    # tag text starts on a new row (its first cell is a face)
    assert (cells[CELL + 2 : 2 * CELL, 3 * CELL + 2 : 5 * CELL] == 255).all()
    assert not (cells[2 * CELL + 2 : 3 * CELL, 2:CELL] == 255).all()
    labels = image[:, :label_width]
    assert _has_text(labels[:CELL]) and _has_text(labels[2 * CELL : 3 * CELL])
    assert not _has_text(labels[CELL : 2 * CELL])  # a block is labelled once, on its first row


def test_seeds_range_gives_a_column_per_seed_matching_that_seed(tiny_run, tmp_path):
    r = gen_in_process(
        "--model",
        str(tiny_run),
        "--tags",
        "blue hair red eyes",
        "--seeds",
        "0-3",
        "--out",
        "s.png",
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr
    image = iio.imread(tmp_path / "s.png")
    top = image.shape[0] - (CELL + 2)
    assert image.shape[1] == 4 * CELL + 2 and top > 0 and _has_text(image[:top])  # "seed 0" ... above columns
    for seed in (0, 3):
        one = gen_in_process(
            "--model",
            str(tiny_run),
            "--tags",
            "blue hair red eyes",
            "--seed",
            str(seed),
            "--n",
            "1",
            "--out",
            f"one{seed}.png",
            cwd=tmp_path,
        )
        assert one.returncode == 0, one.stderr
        face = iio.imread(tmp_path / f"one{seed}.png")[2:CELL, 2:CELL]
        assert np.array_equal(image[top + 2 : top + CELL, seed * CELL + 2 : (seed + 1) * CELL], face)


@pytest.mark.parametrize("text,want", [("0-7", list(range(8))), ("1,3,5-7", [1, 3, 5, 6, 7]), ("4", [4])])
def test_parse_seeds(text, want):
    from sampling.options import parse_seeds

    assert parse_seeds(text) == want


def test_a_bad_seeds_range_is_one_line(tiny_run, tmp_path):
    r = gen("--model", str(tiny_run), "--tags", "blue hair", "--seeds", "7-1", cwd=tmp_path)
    assert r.returncode == 2 and "--seeds" in r.stderr and "Traceback" not in r.stderr


def test_sweep_labels_each_column_with_its_value_and_rows_with_the_fixed_tags(tiny_run, tmp_path):
    r = gen_in_process(
        "--model", str(tiny_run), "--sweep", "eyes", "--tags", "red hair", "--n", "2", cwd=tmp_path
    )
    assert r.returncode == 0, r.stderr
    image = iio.imread(tmp_path / "samples" / "tiny" / "sweep_eyes_red_hair_n2.png")
    top = image.shape[0] - (2 * CELL + 2)
    assert top > 0
    import json

    n_eyes = len(json.loads((tiny_run / "export" / "vocab.json").read_text())["groups"]["eyes"])
    left = image.shape[1] - (n_eyes * CELL + 2)
    assert left > 0
    for c in range(n_eyes):  # a label above every column
        assert _has_text(image[:top, left + c * CELL : left + (c + 1) * CELL]), c
    assert _has_text(image[top : top + CELL, :left]) and _has_text(image[top + CELL :, :left])
