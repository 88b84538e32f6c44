"""The tag checker on synthetic faces: held-out accuracy, both backends,
other image sizes, the fast path without TensorFlow, and grading."""

import json
import subprocess
import sys

import numpy as np
import pytest
from checker_support import synthetic_checker

from preprocess.synthetic import draw_face
from tags.canonical import TagSet
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    return synthetic_checker(tmp_path_factory)


@pytest.mark.slow
def test_checker_reaches_90_percent_per_group_on_held_out_faces(trained):
    folder, data = trained
    meta = json.loads((folder / "checker.json").read_text())
    assert meta["heldout_images"] == len(data.holdout_indices()) == 120
    assert not meta["heldout_is_training_data"]
    assert set(meta["heldout_accuracy"]) == {"hair", "eyes"}
    for group in ("hair", "eyes"):
        assert meta["heldout_accuracy"][group] >= 0.9, meta["heldout_accuracy"]
    assert meta["groups"] == data.vocab.groups
    for name in ("checker.weights.h5", "checker.tflite"):
        assert (folder / name).stat().st_size > 0


@pytest.mark.slow
def test_robust_training_reads_degraded_faces_better(trained, tmp_path_factory):
    """The checker trained under blur/noise/JPEG/shift holds its reading on blurred
    faces where the flip-only one loses it; both record the degraded accuracies."""
    plain = json.loads((trained[0] / "checker.json").read_text())
    robust_folder, _ = synthetic_checker(tmp_path_factory, robust=True)
    robust = json.loads((robust_folder / "checker.json").read_text())
    assert robust["robust_training"] and not plain["robust_training"]
    for meta in (plain, robust):
        assert set(meta["heldout_accuracy_degraded"]) == {
            "blur_sigma1",
            "blur_sigma2",
            "noise_0.05",
            "jpeg_q30",
        }
    blurred = lambda meta: sum(meta["heldout_accuracy_degraded"]["blur_sigma2"].values())  # noqa: E731
    assert blurred(robust) > blurred(plain) + 0.1, (
        plain["heldout_accuracy_degraded"],
        robust["heldout_accuracy_degraded"],
    )


@pytest.mark.slow
def test_litert_and_keras_checkers_agree_with_the_recorded_accuracy(trained):
    from checker.checker import load_checker
    from checker.training import evaluate

    folder, data = trained
    meta = json.loads((folder / "checker.json").read_text())
    lite, keras_checker = load_checker(folder), load_checker(folder, backend="tensorflow")
    assert (lite.backend, keras_checker.backend) == ("litert", "tensorflow")
    held = data.holdout_indices()
    for checker in (lite, keras_checker):
        acc = evaluate(checker, data, held)
        for group, value in meta["heldout_accuracy"].items():
            assert acc[group] == pytest.approx(value, abs=0.02)
    images = data.images[held[:16]]
    np.testing.assert_allclose(lite.features(images), keras_checker.features(images), atol=1e-3)
    assert lite.features(images).shape == (16, meta["feature_dim"])


@pytest.mark.slow
def test_checker_reads_generator_range_and_other_image_sizes(trained):
    from checker.checker import load_checker

    checker = load_checker(trained[0])
    rng = np.random.default_rng(3)
    pairs = [("blue", "red"), ("pink", "green"), ("white", "purple"), ("orange", "aqua")]
    faces64 = np.stack([draw_face(h, e, 64, rng) for h, e in pairs])
    as_generator_output = faces64.astype(np.float32) / 127.5 - 1.0
    assert checker.read_values(as_generator_output) == checker.read_values(faces64)
    for size in (32, 128):  # resized to 64 inside the network
        faces = np.stack([draw_face(h, e, size, rng) for h, e in pairs])
        read = checker.read_values(faces)
        assert read["hair"] == [h for h, _ in pairs], size


@pytest.mark.slow
def test_grading_marks_a_known_wrong_cell_red(trained):
    from checker.checker import load_checker
    from sampling.grid import GREEN, RED, grid
    from sampling.sheet import tag_marks

    checker = load_checker(trained[0])
    rng = np.random.default_rng(0)
    faces = np.stack([draw_face("red", "blue", 64, rng), draw_face("green", "yellow", 64, rng)])
    requested = [
        TagSet.make({"hair": "red", "eyes": "blue"}),
        TagSet.make({"hair": "blue", "eyes": "yellow"}),
    ]  # second cell: wrong hair
    marks, accuracy = tag_marks(faces, requested, checker)
    assert marks == [[True, True], [False, True]]
    assert accuracy == {"hair": 0.5, "eyes": 1.0}
    image = grid(faces, 2, borders=marks, pad=2)
    # outer ring = hair, inner ring = eyes (2 px each at 64 px)
    left_hair, right_hair = image[2, 2 + 10], image[2, 2 + 66 + 10]
    right_eyes = image[2 + 2, 2 + 66 + 10]
    assert tuple(left_hair) == GREEN and tuple(right_hair) == RED and tuple(right_eyes) == GREEN
    with pytest.raises(ValueError):
        tag_marks(faces, requested[:1], checker)


@pytest.mark.slow
def test_grading_on_the_fast_path_imports_no_tensorflow(trained):
    folder, _ = trained
    code = (
        "import sys, numpy as np\n"
        "from checker.checker import load_checker\n"
        "from sampling.sheet import tag_marks\n"
        "from preprocess.synthetic import draw_face\n"
        "from tags.canonical import TagSet\n"
        "face = draw_face('blue', 'red', 64, np.random.default_rng(1))[None]\n"
        "tags = [TagSet.make({'hair': 'blue', 'eyes': 'red'})]\n"
        f"marks, acc = tag_marks(face, tags, load_checker({str(folder)!r}))\n"
        "print(marks, sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-800:]
    assert out.stdout.strip() == "[[True, True]] []"


def test_missing_checker_is_a_clear_error(tmp_path):
    from checker.checker import load_checker
    from sampling.export import ModelError

    with pytest.raises(ModelError, match="python -m checker train"):
        load_checker(tmp_path)
    (tmp_path / "checker.json").write_text('{"format_version": 99}')
    with pytest.raises(ModelError, match="format_version"):
        load_checker(tmp_path)


def test_checker_cli_rejects_bad_input_with_status_2(tmp_path, capsys):
    from checker.__main__ import main

    assert (
        main(
            [
                "train",
                "--images",
                str(tmp_path / "nope"),
                "--tags-csv",
                str(tmp_path / "nope.csv"),
                "--out",
                str(tmp_path / "out"),
            ]
        )
        == 2
    )
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err
    assert main(["train", "--images", "x", "--tags-csv", "y", "--epochs", "0"]) == 2


@pytest.mark.tflite  # the shipped folder: every .tflite, LiteRT
def test_export_with_checker_makes_a_model_folder_that_grades(trained, tiny_run, tmp_path, capsys):
    from checker.checker import load_checker
    from export import main as export_main
    from sampling.runtime import load_generator

    folder, _ = trained
    out = tmp_path / "shipped"
    assert export_main([str(tiny_run), "--out", str(out), "--checker", str(folder)]) == 0
    for name in (
        "config.json",
        "vocab.json",
        "generator.tflite",
        "checker.json",
        "checker.tflite",
        "reconstructor.tflite",
        "reconstructor.weights.h5",
    ):
        assert (out / name).stat().st_size > 0, name
    assert (out / "checker.tflite").read_bytes() == (folder / "checker.tflite").read_bytes()
    assert load_checker(out).heldout_accuracy == load_checker(folder).heldout_accuracy
    assert load_generator(out).backend == "litert"
    # a broken checker is refused before anything is copied
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "checker.json").write_text("{not json")
    assert export_main([str(tiny_run), "--out", str(tmp_path / "other"), "--checker", str(broken)]) == 2
    assert "not valid JSON" in capsys.readouterr().err
    assert not (tmp_path / "other" / "checker.json").exists()


def test_metrics_record_the_sampling_options_they_used(
    trained, tiny_run, synthetic_faces, cache_dir, tmp_path, capsys, monkeypatch
):
    from evaluate import metrics
    from export import main as export_main

    folder, _ = trained
    model = tmp_path / "model"
    assert export_main([str(tiny_run), "--out", str(model), "--checker", str(folder)]) == 0
    data = [
        "--images",
        str(synthetic_faces / "images"),
        "--tags-csv",
        str(synthetic_faces / "tags_2018.csv"),
        "--cache-dir",
        str(cache_dir),
        "--n-per-combo",
        "2",
    ]
    used = []  # the generator's options when the figures are computed
    evaluate = metrics.evaluate_generator
    monkeypatch.setattr(
        metrics,
        "evaluate_generator",
        lambda g, *a, **k: used.append((g.truncation, g.best_of)) or evaluate(g, *a, **k),
    )
    figures = {}
    for best_of in ("1", "3"):
        out = tmp_path / f"best{best_of}"
        assert (
            metrics.main(
                [
                    str(model),
                    *data,
                    "--seed",
                    "5",
                    "--truncation",
                    "0.8",
                    "--best-of",
                    best_of,
                    "--out",
                    str(out),
                ]
            )
            == 0
        )
        figures[best_of] = json.loads((out / "metrics.json").read_text())
    assert used == [(0.8, 1), (0.8, 3)]
    assert (figures["1"]["seed"], figures["1"]["truncation"], figures["1"]["best_of"]) == (5, 0.8, 1)
    assert figures["3"]["best_of"] == 3
    capsys.readouterr()
    assert metrics.main([str(model), *data, "--best-of", "0", "--out", str(tmp_path / "bad")]) == 2
    assert "--best-of must be between 1 and 64" in capsys.readouterr().err
    # the model's own metrics.json holds figures without the options: they need --out
    before = (model / "metrics.json").read_bytes() if (model / "metrics.json").exists() else None
    assert metrics.main([str(model), *data, "--best-of", "2"]) == 2
    assert "need --out" in capsys.readouterr().err
    assert not (tmp_path / "bad").exists()
    assert ((model / "metrics.json").read_bytes() if (model / "metrics.json").exists() else None) == before


@pytest.mark.slow
def test_eval_every_appends_quality_metrics_during_training(trained, train_argv, tmp_path):
    import csv

    from train import main

    run = tmp_path / "run"
    assert main(train_argv(run, epochs=1, eval_every=4, checker=trained[0])) == 0
    with open(run / "eval.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    steps = [int(r["step"]) for r in rows]
    assert steps and all(s % 4 == 0 for s in steps) and steps == sorted(steps)
    for r in rows:  # two samples for each hair x eye pair of the training data
        assert int(r["n_samples"]) == 2 * int(r["n_combos"]) > 0
        assert 0.0 <= float(r["acc_hair"]) <= 1.0 and 0.0 <= float(r["acc_eyes"]) <= 1.0


def test_a_missing_checker_stops_training_before_it_starts(train_argv, tmp_path, capsys):
    from train import main

    run = tmp_path / "run"
    assert main(train_argv(run, eval_every=4, checker=tmp_path / "nowhere")) == 2
    assert "no tag checker" in capsys.readouterr().err
    assert not run.exists()  # nothing trained, no half-made run directory
    assert main(train_argv(run, eval_every=4)) == 2
    assert "--eval-every needs --checker" in capsys.readouterr().err
