"""Synthetic faces that wear visible other tags (preprocess.synthetic's marks=): the marks are drawn
where they can be seen and only there, the CSVs name exactly the marks each face wears, and a set
written without marks is the one written before marks existed."""

import csv

import numpy as np
import pytest

from preprocess.synthetic import FRAME, HAT, MARKS, draw_face, eye_region, hair_region


@pytest.mark.parametrize("size", [32, 64])
def test_each_mark_changes_its_own_place_and_keeps_the_colours_readable(size):
    plain = draw_face("blue", "red", size, np.random.default_rng(3))
    top, eyes, mouth = (
        slice(0, int(0.10 * size)),
        slice(int(0.38 * size), int(0.72 * size)),
        slice(int(0.68 * size), None),
    )
    for mark, where in (("hat", top), ("glasses", eyes), ("smile", mouth)):
        marked = draw_face("blue", "red", size, np.random.default_rng(3), (mark,))
        changed = np.any(marked != plain, axis=2)
        assert changed[where].sum() >= 6, mark  # a visible mark, even at 32 px
        outside = changed.copy()
        outside[where] = False
        assert not outside.any(), mark  # and nothing else moves
        # the colours stay readable: the fringe and the irises keep their pixels
        np.testing.assert_array_equal(marked[hair_region(size)], plain[hair_region(size)])
        np.testing.assert_array_equal(marked[eye_region(size)], plain[eye_region(size)])
    worn = draw_face("blue", "red", size, np.random.default_rng(3), MARKS)
    assert (worn == FRAME).all(axis=2).sum() > (plain == FRAME).all(axis=2).sum()
    assert (worn[: int(0.10 * size)] == HAT).all(axis=2).sum() >= 0.3 * size * 0.1 * size
    with pytest.raises(ValueError, match="no drawing for"):
        draw_face("blue", "red", size, marks=("wings",))


def test_the_csvs_name_the_marks_each_face_wears(faces):
    import imageio.v3 as iio

    marked, plain = faces(2, 32, seed=4, marks=MARKS), faces(2, 32, seed=4)
    # the 2017 CSV: each mark on about half the faces, beside the invisible random tags
    lines = (marked / "tags_2017.csv").read_text().splitlines()
    named = {
        image_id: {t.split(":")[0] for t in rest.split("\t")[2:]}
        for image_id, rest in (line.split(",", 1) for line in lines)
    }
    assert len(named) == 240
    for mark in MARKS:
        assert 0.35 < np.mean([mark in tags for tags in named.values()]) < 0.65, mark
    assert any("blush" in tags for tags in named.values())  # an invisible tag is still there
    # the header CSV names the same marks
    with open(marked / "tags_header.csv", newline="") as fh:
        header = {r["image"][:-4]: set(r["tags"].split(", ")[2:]) for r in csv.DictReader(fh)}
    assert header == {i: tags & set(MARKS) for i, tags in named.items()}
    # a face that wears no mark is the default set's face; one that wears a mark is not
    bare = [i for i, tags in header.items() if not tags]
    worn = [i for i, tags in header.items() if tags]
    assert bare and worn
    for i in bare[:5]:
        assert (marked / "images" / f"{i}.jpg").read_bytes() == (plain / "images" / f"{i}.jpg").read_bytes()
    for i in worn[:5]:
        assert not np.array_equal(
            iio.imread(marked / "images" / f"{i}.jpg"), iio.imread(plain / "images" / f"{i}.jpg")
        )
    # the 2018 format has colours only, as before
    assert (marked / "tags_2018.csv").read_text() == (plain / "tags_2018.csv").read_text()
