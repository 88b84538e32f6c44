"""The tag checker on synthetic faces, and grading."""
import numpy as np
import pytest

from preprocess.cache import build_or_load
from preprocess.synthetic import draw_face, write_synthetic_set
from tags.canonical import TagSet


@pytest.fixture(scope="module")
def trained_checker(tmp_path_factory):
    from model.checker import load_checker, save_checker, train_checker

    root = tmp_path_factory.mktemp("checker")
    faces = write_synthetic_set(root / "faces", 4, size=64, seed=11, formats=("2018",))
    data = build_or_load(faces / "images", faces / "tags_2018.csv", size=64, cache_dir=root / "cache",
                         holdout=0.25, progress=False)
    model, meta = train_checker(data, epochs=20, batch_size=32, seed=0, image_size=64, progress=False)
    save_checker(model, meta, root / "out")
    return meta, load_checker(root / "out"), data


def test_checker_reaches_90_percent_per_group_on_held_out_faces(trained_checker):
    meta, checker, data = trained_checker
    assert meta["heldout_images"] == len(data.holdout_indices()) == 120
    assert not meta["heldout_is_training_data"]
    for group in ("hair", "eyes"):
        assert meta["heldout_accuracy"][group] >= 0.9, meta["heldout_accuracy"]
    assert checker.backend == "litert"


def test_litert_checker_matches_recorded_accuracy(trained_checker):
    from model.checker import evaluate

    meta, checker, data = trained_checker
    acc = evaluate(checker, data, data.holdout_indices())
    for group, value in meta["heldout_accuracy"].items():
        assert acc[group] == pytest.approx(value, abs=0.02)


def test_grading_marks_a_known_wrong_cell_red(trained_checker):
    from model.checker import grade
    from report.grid import GREEN, RED, grid

    _, checker, _ = trained_checker
    rng = np.random.default_rng(0)
    faces = np.stack([draw_face("red", "blue", 64, rng), draw_face("green", "yellow", 64, rng)])
    requested = [TagSet.make({"hair": "red", "eyes": "blue"}),
                 TagSet.make({"hair": "blue", "eyes": "yellow"})]  # second cell: wrong hair
    marks, accuracy = grade(checker, faces, requested)
    assert marks == [[True, True], [False, True]]
    assert accuracy == {"hair": 0.5, "eyes": 1.0}
    image = grid(faces, 2, borders=marks, pad=2)
    left_cell_top, right_cell_top = image[2, 2 + 10], image[2, 2 + 66 + 10]
    assert tuple(left_cell_top) == GREEN and tuple(right_cell_top) == RED
