"""Quality metrics: Frechet distance and pairwise distances on known inputs,
and the whole evaluation on two stand-in generators whose answers are known:
one that draws exactly the requested synthetic face (varied per z), one that
always draws the same face (ignores tags and z: total collapse)."""

import csv
import json

import numpy as np
import pytest
from checker_support import synthetic_checker

from model.config import TrainConfig
from preprocess.synthetic import draw_face


class DrawingGenerator:
    """Decodes the one-hot condition and draws that face; z seeds the drawing."""

    def __init__(self, vocab, collapsed=False):
        self.vocab, self.collapsed = vocab, collapsed
        self.config = TrainConfig(image_size=64, nz=8, cond_dim=vocab.dim)

    def generate(self, z, cond, eps=None):
        groups = list(self.vocab.groups)
        faces = []
        for zi, c in zip(z, cond):
            start, values = 0, {}
            for g in groups:
                n = len(self.vocab.groups[g])
                values[g] = self.vocab.groups[g][int(np.argmax(c[start : start + n]))]
                start += n
            if self.collapsed:
                face = draw_face("red", "blue", 64, np.random.default_rng(0))
            else:
                face = draw_face(
                    values["hair"],
                    values["eyes"],
                    64,
                    np.random.default_rng(np.abs(zi * 1e6).astype(np.int64)),
                )
            faces.append(face)
        return np.stack(faces).astype(np.float32) / 127.5 - 1.0


@pytest.fixture(scope="module")
def checker_and_data(tmp_path_factory):
    from checker.checker import load_checker
    from preprocess.cache import build_or_load
    from preprocess.spec import DataSpec

    folder, data = synthetic_checker(tmp_path_factory)
    # the same faces split in half, so most combinations have >= 2 held-out images for the real reference
    faces = folder.parent / "faces"
    halves = build_or_load(
        DataSpec(faces / "images", faces / "tags_2018.csv", size=64, holdout=0.5, seed=3),
        cache_dir=folder.parent / "cache",
        progress=False,
    )
    return load_checker(folder), halves


def test_frechet_distance_on_known_gaussians():
    from evaluate.metrics import frechet_distance

    rng = np.random.default_rng(0)
    a = rng.standard_normal((4000, 3))
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)
    assert frechet_distance(a, a + 2.0) == pytest.approx(12.0, rel=0.01)  # |shift|^2 = 3 * 4
    # 1-D closed form: (mu1 - mu2)^2 + (s1 - s2)^2
    x, y = rng.normal(1.0, 1.0, (20000, 1)), rng.normal(0.0, 3.0, (20000, 1))
    assert frechet_distance(x, y) == pytest.approx(1.0 + 4.0, rel=0.05)
    assert np.isnan(frechet_distance(a[:1], a))


def test_mean_pairwise_distance():
    from evaluate.metrics import mean_pairwise_distance

    assert mean_pairwise_distance(np.array([[0.0, 0.0], [3.0, 4.0], [0.0, 0.0]])) == pytest.approx(10 / 3)
    assert mean_pairwise_distance(np.zeros((1, 4))) == 0.0


@pytest.mark.slow
def test_metrics_tell_a_faithful_generator_from_a_collapsed_one(checker_and_data):
    from evaluate.metrics import evaluate_generator, training_combinations

    checker, data = checker_and_data
    combos = training_combinations(data)
    assert len(combos) == 120 and ("blue", "red") in combos
    good = evaluate_generator(DrawingGenerator(data.vocab), checker, data, n_per_combo=3, seed=1)
    bad = evaluate_generator(
        DrawingGenerator(data.vocab, collapsed=True), checker, data, n_per_combo=3, seed=1
    )
    assert good["n_samples"] == bad["n_samples"] == 360 and good["n_combos"] == 120
    assert 0.0 <= good["face_rate"] <= 1.0 and bad["face_rate"] == 0.0  # flat collapsed drawings are no faces
    assert 0 <= good["baseline_faces"] <= 25 and bad["baseline_faces"] == 0
    assert good["acc_hair"] >= 0.9 and good["acc_eyes"] >= 0.9
    assert bad["acc_hair"] < 0.2 and bad["acc_eyes"] < 0.2
    assert bad["diversity_generated"] == pytest.approx(0.0, abs=1e-4)
    assert good["diversity_generated"] > 0.1 * good["diversity_real"]
    assert good["diversity_ratio"] > 0.3 and bad["diversity_ratio"] < 0.01
    assert good["diversity_real"] == bad["diversity_real"] > 0
    assert good["real_images"] == len(data.holdout_indices())
    # the faithful generator draws from the real distribution: near the real-vs-real floor
    floor = good["frechet_real_vs_real"]
    assert floor == bad["frechet_real_vs_real"] > 0
    assert good["frechet_generated_vs_real"] < 2 * floor < bad["frechet_generated_vs_real"] / 5


def test_write_results_appends_rows_with_step_and_keeps_latest(tmp_path):
    from evaluate.metrics import write_results

    write_results(tmp_path, {"acc_hair": 0.5, "frechet_generated_vs_real": 3.0}, step=3)
    write_results(tmp_path, {"acc_hair": 0.75, "frechet_generated_vs_real": 2.0}, step=6)
    write_results(tmp_path, {"acc_hair": 0.8, "frechet_generated_vs_real": 1.0, "acc_eyes": 0.9}, step=9)
    with open(tmp_path / "eval.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["step"] for r in rows] == ["3", "6", "9"]
    assert [r["acc_hair"] for r in rows] == ["0.5", "0.75", "0.8"]
    assert [r["acc_eyes"] for r in rows] == ["", "", "0.9"]  # a new column keeps the old rows
    assert json.loads((tmp_path / "metrics.json").read_text()) == {
        "step": 9,
        "acc_hair": 0.8,
        "frechet_generated_vs_real": 1.0,
        "acc_eyes": 0.9,
    }


def test_frechet_halves_keep_near_duplicate_groups_whole():
    """The real-vs-real floor compares two halves of the held-out images: a twin in each half would
    make it the distance of a picture to itself. One row per group: the old random halves."""
    from evaluate.metrics import group_halves

    groups = np.repeat(np.arange(50), 3)[np.random.default_rng(0).permutation(150)]
    a, b = group_halves(groups, np.random.default_rng(4))
    assert not set(groups[a]) & set(groups[b])
    assert sorted(np.concatenate([a, b])) == list(range(150)) and 72 <= len(a) <= 75
    order = np.random.default_rng(4).permutation(40)
    a, b = group_halves(np.arange(40), np.random.default_rng(4))
    np.testing.assert_array_equal(np.concatenate([a, b]), order)
    assert len(a) == 20
