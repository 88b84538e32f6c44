"""evaluate/copies.py on synthetic faces (issue 34, "small data invites copying"): exact, mirrored
and re-encoded copies of a training image are near copies, other faces are not, the mirror trick
is symmetric, and the candidate search finds the same nearest image as a brute-force search."""

import io

import numpy as np
import pytest

from preprocess.synthetic import COLOURS, draw_face

HAIR = sorted(c for c in COLOURS)


def _faces(n, seed, size=64):
    """n synthetic faces of varied tags (each a different drawing), 64 px: the size at which
    preprocess.duplicates' tolerance was measured (a JPEG twin of a 32 px face is further apart)."""
    rng = np.random.default_rng(seed)
    colours = [(HAIR[i % len(HAIR)], HAIR[(i * 5 + 3) % len(HAIR)]) for i in range(n)]
    return np.stack([draw_face(hair, eyes, size, rng) for hair, eyes in colours])


def _jpeg(image, quality=90):
    """The image re-encoded as JPEG (a twin the data pipeline groups)."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="JPEG", quality=quality)
    return np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"))


def _brute_mad(queries, training):
    """[Q, T] mean absolute differences of the thumbnails, as they are and against mirrored training."""
    from evaluate.copies import thumbnails

    q, t = thumbnails(queries), thumbnails(training)
    t_mirror = thumbnails(training[:, :, ::-1])
    return np.abs(q[:, None] - t[None]).mean(-1), np.abs(q[:, None] - t_mirror[None]).mean(-1)


@pytest.fixture(scope="module")
def training():
    return _faces(40, seed=0)


def test_copies_of_a_training_image_are_near_copies_and_other_faces_are_not(training):
    from evaluate.copies import PIXEL_TOLERANCE, copy_figures, nearest_training

    others = _faces(3, seed=99)  # drawn afresh: the same tags as some training faces, other drawings
    generated = np.stack([training[3], training[7][:, ::-1], _jpeg(training[11]), *others])
    found = nearest_training(generated, training)
    assert found.distance[0] == 0 and found.index[0] == 3 and not found.mirrored[0]
    assert found.distance[1] < 0.5 and found.index[1] == 7 and found.mirrored[1]  # (block means' rounding)
    assert 0 < found.distance[2] <= PIXEL_TOLERANCE and found.index[2] == 11
    assert (found.distance[3:] > 2 * PIXEL_TOLERANCE).all(), found.distance
    result, _ = copy_figures(generated, training, others)
    assert (result["near_copies"], result["near_copies_mirrored"], result["generated"]) == (3, 1, 6)
    assert result["near_copy_fraction"] == pytest.approx(0.5)
    assert result["heldout_faces"] == 3 and result["heldout_near_copies"] == 0
    assert result["median_nearest_heldout"] == pytest.approx(np.median(found.distance[3:]), abs=1e-3)


def test_the_mirror_trick_is_symmetric(training):
    """A face compared with the mirrored training images scores what its own mirror image scores
    against the training images as they are, and the other way round."""
    from evaluate.copies import nearest_training

    faces = np.concatenate([_faces(8, seed=5), training[20:22][:, :, ::-1]])
    plain, flipped = nearest_training(faces, training), nearest_training(faces[:, :, ::-1], training)
    np.testing.assert_allclose(plain.to_mirror, flipped.as_is, atol=1e-4)
    np.testing.assert_allclose(plain.as_is, flipped.to_mirror, atol=1e-4)
    np.testing.assert_allclose(plain.distance, flipped.distance, atol=1e-4)
    assert (plain.mirrored[-2:] & ~flipped.mirrored[-2:]).all()  # the mirrored copies: mirrored, and back
    assert (plain.index[-2:] == [20, 21]).all() and (flipped.index[-2:] == [20, 21]).all()


def test_the_candidate_search_finds_the_brute_force_nearest(monkeypatch):
    """More training images than CANDIDATES: the Euclidean shortlist holds the nearest by mean
    absolute difference for every face here (and with a shortlist of one it would not)."""
    import evaluate.copies as copies

    training, queries = _faces(300, seed=1), _faces(60, seed=2)
    as_is, mirrored = _brute_mad(queries, training)
    found = copies.nearest_training(queries, training)
    np.testing.assert_allclose(found.as_is, as_is.min(1), atol=1e-3)
    np.testing.assert_allclose(found.to_mirror, mirrored.min(1), atol=1e-3)
    best = np.where(found.mirrored, mirrored.argmin(1), as_is.argmin(1))
    assert (found.index == best).all()
    monkeypatch.setattr(copies, "CANDIDATES", 1)  # the test can tell: a shortlist of one misses some
    assert (copies.nearest_training(queries, training).as_is > as_is.min(1) + 1e-3).any()


def test_the_closest_picture_pairs_each_face_with_its_nearest_image():
    from evaluate.copies import closest_picture, nearest_training

    training = _faces(12, seed=3, size=32)
    faces = np.stack([training[5][:, ::-1], training[9]])
    found = nearest_training(faces, training)
    picture = closest_picture(faces, training[found.index], found.mirrored, found.distance)
    cell = 2 * 32  # 32 px faces drawn twice as large
    assert picture.shape[0] > 2 * cell and picture.shape[1] > 2 * cell
    bottom = picture[-(cell + 2) : -2]  # the nearest images' row, above the 2 px margin
    first, second = bottom[:, -(2 * cell + 4) : -(cell + 4)], bottom[:, -(cell + 2) : -2]  # 2 px gaps
    np.testing.assert_array_equal(first[::2, ::2], training[5][:, ::-1])  # flipped, like the face above it
    np.testing.assert_array_equal(second[::2, ::2], training[9])


def test_copies_line_says_the_count_and_both_medians():
    from evaluate.copies import copies_line

    result = {
        "near_copies": 2,
        "generated": 240,
        "median_nearest_generated": 21.26,
        "median_nearest_heldout": 19.0,
        "near_copy_at": 2.5,
    }
    line = copies_line(result)
    assert line.startswith("near copies: 2 of 240 generated faces") and "median 21.3" in line, line
    assert "held-out real faces: 19.0" in line and "<= 2.5" in line
    for none in (float("nan"), None):  # measured, or read back from copies.json
        assert "held-out real faces: none held out;" in copies_line(result | {"median_nearest_heldout": none})
