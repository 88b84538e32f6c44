"""Quality metrics: Frechet distance and pairwise distances on known inputs,
and the whole evaluation on two stand-in generators whose answers are known:
one that draws exactly the requested synthetic face (varied per z), one that
always draws the same face (ignores tags and z: total collapse)."""

import csv
import json
from collections import Counter

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


def test_kid_matches_a_hand_computed_case():
    """Rows x = (0, 0), (1, 1) and y = (1, 1), (2, 2) in d = 2: k = (x.y / 2 + 1)^3. Within x the one pair
    gives 1, within y 27, and across 1, 1, 8, 27 (mean 37 / 4): 1 + 27 - 2 x 37 / 4 = 9.5. Subsets of
    both rows are the whole sets, so every subset gives 9.5 and the spread is 0."""
    from evaluate.metrics import kernel_inception_distance

    x, y = np.array([[0.0, 0.0], [1.0, 1.0]]), np.array([[1.0, 1.0], [2.0, 2.0]])
    mean, std = kernel_inception_distance(x, y, rng=np.random.default_rng(0), subsets=5)
    assert mean == pytest.approx(9.5) and std == pytest.approx(0.0)
    assert np.isnan(kernel_inception_distance(x[:1], y, rng=np.random.default_rng(0))[0])


def test_kid_is_unbiased_where_frechet_is_not():
    """Pairs of small samples of one distribution: KID scatters about 0 (below 0 for some pairs, as an
    unbiased estimate must), far under the KID of a small shift; the Frechet distance of the same
    pairs is biased upwards, to more than half that of the shift."""
    from evaluate.metrics import frechet_distance, kernel_inception_distance

    kids, frechets = [], []
    for seed in range(10):
        rng = np.random.default_rng(seed)
        a, b = rng.random((100, 32)), rng.random((100, 32))
        kids.append(kernel_inception_distance(a, b, rng=rng, subsets=1)[0])
        frechets.append(frechet_distance(a, b))
    rng = np.random.default_rng(0)
    a, b = rng.random((100, 32)), rng.random((100, 32)) + 0.1
    shifted_kid, shifted_frechet = (
        kernel_inception_distance(a, b, rng=rng, subsets=1)[0],
        frechet_distance(a, b),
    )
    assert min(kids) < 0 < max(kids)
    assert abs(np.mean(kids)) < 0.02 * shifted_kid and max(np.abs(kids)) < 0.1 * shifted_kid
    assert min(frechets) > 0.5 * shifted_frechet


def test_kid_grows_with_a_mean_shift_and_has_a_spread_over_subsets():
    from evaluate.metrics import kernel_inception_distance

    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((400, 16)), rng.standard_normal((400, 16))
    kids = [
        kernel_inception_distance(a, b + shift, rng=np.random.default_rng(2), subsets=10, subset_size=100)
        for shift in (0.0, 0.25, 0.5, 1.0)
    ]
    means = [m for m, _ in kids]
    assert means == sorted(means) and means[1] > 3 * abs(means[0])
    assert all(std > 0 for _, std in kids)  # subsets of 100 of 400 rows differ


def test_kid_is_the_same_for_the_same_rng_and_differs_for_another():
    from evaluate.metrics import kernel_inception_distance

    rng = np.random.default_rng(3)
    a, b = rng.random((200, 8)), rng.random((200, 8)) + 0.05

    def kid(seed):
        return kernel_inception_distance(a, b, rng=np.random.default_rng(seed), subsets=10, subset_size=50)

    assert kid(7) == kid(7) and kid(7) != kid(8)


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
    good = evaluate_generator(
        DrawingGenerator(data.vocab), checker, data, n_per_combo=3, seed=1, by_value=True
    )
    bad = evaluate_generator(
        DrawingGenerator(data.vocab, collapsed=True), checker, data, n_per_combo=3, seed=1, by_value=True
    )
    # per value asked: every value of each group, and the faces weighted back to the group's figure
    for result in (good, bad):
        for group in ("hair", "eyes"):
            shares = result["acc_by_value"][group]
            assert set(shares) == {c[list(data.vocab.groups).index(group)] for c in combos}
            counts = Counter(c[list(data.vocab.groups).index(group)] for c in combos)
            weighted = sum(shares[v] * n for v, n in counts.items()) / sum(counts.values())
            assert weighted == pytest.approx(result[f"acc_{group}"], abs=1e-3)
    assert min(good["acc_by_value"]["hair"].values()) >= 0.6
    assert min(bad["acc_by_value"]["hair"].values()) == 0.0  # the collapsed drawing misses some colour
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
    # KID is unbiased: the faithful generator and the real floor are both about 0 (either may be below),
    # the collapsed generator far above; subsets of 120 of the 360 faces differ, so KID has a spread
    kid_floor, kid_good = good["kid_real_vs_real"], good["kid_generated_vs_real"]
    assert kid_floor == bad["kid_real_vs_real"]
    assert max(abs(kid_floor), abs(kid_good)) < bad["kid_generated_vs_real"] / 50
    assert good["kid_subset_size"] == 120 and good["kid_generated_vs_real_std"] > 0


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


def test_one_per_group_draws_one_row_of_each_group_at_random():
    """KID's real sides hold no twins; which twin is kept, and the order, are drawn (group labels
    follow the data's order, so the lowest labels are no random sample)."""
    from evaluate.metrics import one_per_group

    groups = np.repeat(np.arange(30), 2)  # rows 2g and 2g + 1 are twins
    rows = np.arange(40)  # groups 0-19
    picks = [one_per_group(rows, groups, np.random.default_rng(s)) for s in range(4)]
    for pick in picks:
        assert sorted(groups[pick]) == list(range(20)) and set(pick) <= set(rows)
    assert len({tuple(sorted(p)) for p in picks}) > 1  # another draw keeps other twins
    assert any(list(groups[p]) != sorted(groups[p]) for p in picks)  # not in label order
    np.testing.assert_array_equal(picks[0], one_per_group(rows, groups, np.random.default_rng(0)))


def test_the_eval_line_adds_kid_and_sharpness_when_the_result_has_them():
    from evaluate.metrics import eval_line

    old = {"face_rate": 0.9, "acc_hair": 0.96, "acc_eyes": 0.9, "frechet_generated_vs_real": 20.0}
    assert "KID" not in eval_line(old, 10) and eval_line(old, 10).endswith("targets met")
    new = old | {
        "kid_generated_vs_real": 0.5678,
        "kid_generated_vs_real_std": 0.31,
        "kid_real_vs_real": -0.04,
    }
    line = eval_line(new | {"sharpness_ratio": 0.3554}, 20)
    assert line.endswith("targets met; KID 0.568 +- 0.31 (real vs real -0.04), sharpness 0.355 x real"), line
    # no held-out faces (a tiny run): nan figures are left out, not printed as nan
    assert eval_line(old | {"kid_generated_vs_real": float("nan"), "sharpness_ratio": "nan"}, 30).endswith(
        "targets met"
    )
