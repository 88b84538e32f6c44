"""Integration tests of train.py on the tiny synthetic run (see conftest)."""

import csv
import dataclasses
import math
import shutil
from pathlib import Path

import numpy as np
import pytest

from tests.cli_support import run_in_process


def _rows(path: Path) -> list[dict]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_losses_are_finite_and_logged_every_step_window(tiny_run):
    rows = _rows(tiny_run / "metrics.csv")
    assert len(rows) >= 5
    steps = [int(r["step"]) for r in rows]
    assert steps == sorted(set(steps)), "steps must be unique and increasing"
    for r in rows:
        for key in ("loss_real", "loss_fake", "k", "M", "lr"):
            assert math.isfinite(float(r[key])), (key, r)
        assert 0.0 <= float(r["k"]) <= 1.0
    cpu = [float(r["cpu_seconds"]) for r in rows]
    assert cpu[0] > 0 and cpu == sorted(cpu), "CPU time so far, growing"


def test_filter_logs_start_at_epoch_two(tiny_run):
    filtered = tiny_run / "filtered"
    assert not (filtered / "epoch_001.csv").exists()  # nothing is filtered in the first epoch
    for epoch in (2, 3):
        rows = _rows(filtered / f"epoch_{epoch:03d}.csv")
        assert (filtered / f"epoch_{epoch:03d}.png").stat().st_size > 0
        for r in rows:
            assert float(r["loss"]) > float(r["threshold"])
    summary = _rows(filtered / "summary.csv")
    assert [int(r["epoch"]) for r in summary] == [2, 3]
    assert all(math.isfinite(float(r["threshold"])) and int(r["seen"]) > 0 for r in summary)
    assert not list(filtered.glob("*.partial.csv"))


def test_fixed_noise_sample_grid_per_epoch(tiny_run):
    import imageio.v3 as iio

    grids = sorted((tiny_run / "samples").glob("epoch_*.png"))
    assert [g.name for g in grids] == ["epoch_001.png", "epoch_002.png", "epoch_003.png"]
    first, last = iio.imread(grids[0]), iio.imread(grids[-1])
    assert first.shape == last.shape and first.shape[0] >= 32
    assert not np.array_equal(first, last)  # training changed the generator
    rows = (tiny_run / "samples" / "fixed_tags.txt").read_text().splitlines()
    assert rows and all("hair" in r and "eyes" in r for r in rows)


def test_tensorboard_events_hold_the_scalars(tiny_run):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from training.run_logs import tensorboard_dir

    acc = EventAccumulator(str(tensorboard_dir(tiny_run)))
    acc.Reload()
    tags = set(acc.Tags()["scalars"]) | set(acc.Tags().get("tensors", []))
    from training.run_logs import tensorboard_name

    for name in ("loss_real", "loss_fake", "loss_wrong", "k", "M", "lr", "filtered", "images_per_s"):
        assert tensorboard_name(name) in tags, (name, tags)  # grouped: losses/, control/, filter/, speed/


def test_tensorboard_names_the_run_after_its_folder_with_its_settings(tiny_run):
    """tensorboard --logdir runs/ shows the run as <name> (not <name>/tb), with its hparams (issue 23)."""
    from tensorboard.backend.event_processing.event_multiplexer import EventMultiplexer
    from tensorboard.plugins.hparams import metadata

    mux = EventMultiplexer()
    mux.AddRunsFromDirectory(str(tiny_run.parent))
    mux.Reload()
    assert tiny_run.name in mux.Runs(), mux.Runs()
    content = mux.PluginRunToTagToContent(metadata.PLUGIN_NAME)
    session = metadata.parse_session_start_info_plugin_data(
        content[tiny_run.name][metadata.SESSION_START_INFO_TAG]
    )
    assert session.hparams["gamma"].number_value == 0.7 and session.hparams["filters"].number_value == 8
    experiment = metadata.parse_experiment_plugin_data(content[tiny_run.name][metadata.EXPERIMENT_TAG])
    assert "quality/acc_hair" in {m.name.tag for m in experiment.metric_infos}


def test_config_vocab_checkpoint_and_export_are_written(tiny_run):
    from model.config import TrainConfig

    cfg = TrainConfig.load(tiny_run)
    assert cfg.image_size == 32 and cfg.filters == 8 and cfg.cond_dim > 0
    assert (tiny_run / "vocab.json").exists()
    assert list((tiny_run / "checkpoints").glob("ckpt-*.index"))
    assert (tiny_run / "export" / "generator.tflite").stat().st_size > 0
    assert (tiny_run / "export" / "generator.weights.h5").exists()


def _checkpoint_state(run: Path) -> dict:
    import tensorflow as tf

    reader = tf.train.load_checkpoint(str(run / "checkpoints"))
    names = reader.get_variable_to_shape_map()

    def value(prefix):
        key = next(k for k in names if k.startswith(prefix + "/"))
        return reader.get_tensor(key)

    return {name: value(name) for name in ("step", "k", "lr", "threshold", "epoch", "batch_in_epoch")}


@pytest.mark.slow
def test_resume_continues_at_the_same_step_k_lr_and_matches_an_uninterrupted_run(tmp_path, train_argv):
    from model.config import TrainConfig
    from train import main
    from training.trainer import Trainer

    straight, split = tmp_path / "straight", tmp_path / "split"
    assert main(train_argv(straight, steps=20, epochs=3)) == 0
    assert main(train_argv(split, steps=9, epochs=3)) == 0  # stops mid-epoch 1
    saved = _checkpoint_state(split)
    assert int(saved["step"]) == 9
    cpu_before = float(_rows(split / "metrics.csv")[-1]["cpu_seconds"])

    recorded = TrainConfig.load(split)
    trainer = Trainer(
        dataclasses.replace(recorded, steps=20), split, resume=True, progress=False, recorded=recorded
    )
    trainer.prepare()
    assert int(trainer.model.state.step.numpy()) == 9
    assert float(trainer.model.state.k.numpy()) == pytest.approx(float(saved["k"]))
    assert float(trainer.model.state.lr.numpy()) == pytest.approx(float(saved["lr"]))
    assert int(trainer.model.state.batch_in_epoch.numpy()) == int(saved["batch_in_epoch"])
    del trainer

    assert main(["--run-dir", str(split), "--resume", "--steps", "20", "--no-progress"]) == 0
    a, b = _checkpoint_state(straight), _checkpoint_state(split)
    assert int(a["step"]) == int(b["step"]) == 20
    assert float(b["k"]) == pytest.approx(float(a["k"]), rel=1e-3, abs=1e-6)
    assert float(b["threshold"]) == pytest.approx(float(a["threshold"]), rel=1e-3)
    steps = [int(r["step"]) for r in _rows(split / "metrics.csv")]
    assert steps == sorted(set(steps)) and steps[-1] == 20
    # the CPU time carries on from the first sitting's total
    cpu = [float(r["cpu_seconds"]) for r in _rows(split / "metrics.csv")]
    assert cpu == sorted(cpu) and cpu[-1] > cpu_before > 0


def test_bad_flags_and_run_dirs_fail_cleanly(tmp_path, synthetic_faces, capsys):
    from train import main

    blocker = tmp_path / "file"
    blocker.write_text("x")
    args = ["--images", str(synthetic_faces / "images"), "--tags-csv", str(synthetic_faces / "tags_2018.csv")]
    assert main(args + ["--run-dir", str(blocker / "run")]) == 2
    assert "cannot write the run directory" in capsys.readouterr().err
    assert main(args + ["--run-dir", str(tmp_path / "r"), "--gamma", "1.5"]) == 2
    assert "gamma" in capsys.readouterr().err
    assert main(["--run-dir", str(tmp_path / "nothing"), "--resume"]) == 2
    assert "not a run directory" in capsys.readouterr().err


@pytest.mark.slow
def test_a_nan_that_comes_back_after_every_rollback_stops_the_run_naming_the_step_and_checkpoint(
    tmp_path, train_argv, monkeypatch, capsys
):
    """G's loss is NaN from step 8 on, whatever the rate: the trainer rolls back to ckpt-5 at half the
    rate ROLLBACKS times (tests/test_training_rollback.py: a run-away that does not come back), then
    stops with the resume command at half the rate again."""
    import tensorflow as tf

    from model import losses
    from train import main

    original = losses.generator_loss
    calls = tf.Variable(0, dtype=tf.int64, trainable=False)

    def poisoned(loss_fake, oob, *weights):
        calls.assign_add(1)
        value = original(loss_fake, oob, *weights)
        return tf.where(calls > 7, tf.constant(float("nan")), value)

    monkeypatch.setattr(losses, "generator_loss", poisoned)
    run = tmp_path / "nan"
    code = main(train_argv(run, steps=30, epochs=3))
    err = capsys.readouterr().err
    assert code == 3
    assert "step 8: g_loss became nan; rolled back to ckpt-5 at half the rate (lr 0.0002 -> 0.0001" in err
    assert "step 6: g_loss became nan; rolled back to ckpt-5" in err and "rollback 3 of 3" in err
    assert "training stopped at step 6 after 3 rollbacks at lower rates: g_loss became nan" in err
    assert "--resume --lr 1.25e-05 --lr-floor 1.25e-06" in err  # 2e-4 and 2e-5 halved four times
    assert "ckpt-5" in err.split("training stopped")[1]  # --checkpoint-every 5: the last good one
    assert sorted(p.name for p in (run / "checkpoints").glob("ckpt-*.index")) == ["ckpt-5.index"]
    assert [r["new"] for r in _rows(run / "stages.csv") if r["setting"] == "lr"] == [
        "0.0001",
        "5e-05",
        "2.5e-05",
    ]


def test_the_trainer_leaves_its_callers_config_as_it_was(tmp_path, train_argv, capsys):
    """The trainer derives cond_dim (from the vocabulary) into its own copy of the config;
    the caller's frozen config is the same object with the same settings after prepare()."""
    from model.config import TrainConfig
    from train import build_parser, config_from_args
    from training.trainer import Trainer

    run = tmp_path / "run"
    args = build_parser().parse_args(train_argv(run, steps=2, epochs=3, small_data_gamma=0.9))
    config = config_from_args(args)
    before = config.to_dict()
    trainer = Trainer(config, run, progress=False)
    trainer.prepare()
    trainer._lock.release()
    assert config.to_dict() == before and config.cond_dim == 0
    assert trainer.config is not config and trainer.config.cond_dim == trainer.vocab.dim > 0
    # derived: the condition size, --ada auto resolved (off: no held-out face to measure on at n=1),
    # and the small set's gamma, said in a line
    assert config.ada == "auto" and trainer.config.ada == "off"
    assert config.gamma == 0.7 and trainer.config.gamma == 0.9
    assert "gamma 0.9 (--small-data-gamma, in place of 0.7" in capsys.readouterr().err
    assert trainer.config == dataclasses.replace(config, cond_dim=trainer.vocab.dim, ada="off", gamma=0.9)
    assert TrainConfig.load(run) == trainer.config  # what the run saved is the derived copy


def test_init_from_an_exported_model_starts_from_its_weights(tmp_path, tiny_run, train_argv):
    from model.config import TrainConfig
    from model.run_folder import RunDirError
    from train import build_parser, config_from_args
    from training.trainer import Trainer

    args = build_parser().parse_args(
        train_argv(tmp_path / "ft", tags_csv="tags_header.csv", steps=2, epochs=3)
    )
    trainer = Trainer(
        config_from_args(args), tmp_path / "ft", init_from=str(tiny_run / "export"), progress=False
    )
    trainer.prepare()
    import h5py  # noqa: F401  (keras weights file)

    from sampling.runtime import load_generator

    exported = load_generator(tiny_run / "export", "tensorflow")
    z = np.zeros((1, trainer.config.nz), np.float32)
    cond = exported.vocab.conditions([exported.vocab.tagset({"hair": "red", "eyes": "blue"})])
    # the export's G is the run's moving average, which the fine-tune carries over as its own
    np.testing.assert_allclose(
        trainer.sampling_generator()([z, cond], training=False).numpy(), exported.generate(z, cond), atol=1e-5
    )
    assert trainer.vocab.groups == exported.vocab.groups
    bad = dataclasses.replace(TrainConfig.load(tiny_run), filters=16)
    with pytest.raises(RunDirError, match="--init-from .*: its filters is 8, this run's is 16"):
        Trainer(bad, tmp_path / "ft2", init_from=str(tiny_run / "export"), progress=False).prepare()


@pytest.mark.slow
@pytest.mark.tflite  # word2vec conditions through the TFLite export and LiteRT
def test_word2vec_conditions_train_and_generate(tmp_path, train_argv):
    from sampling.runtime import load_generator
    from train import main

    run = tmp_path / "w2v"
    code = main(train_argv(run, steps=3, epochs=3, condition_mode="word2vec"))
    assert code == 0
    assert (run / "word2vec.txt").exists() and (run / "export" / "word2vec.txt").exists()
    gen = load_generator(run)
    assert gen.vocab.mode == "word2vec" and gen.backend == "litert"
    cond = gen.vocab.conditions([gen.vocab.tagset({"hair": "red", "eyes": "blue"})])
    assert gen.generate(np.zeros((1, gen.config.nz), np.float32), cond).shape == (1, 32, 32, 3)


def test_a_run_named_by_a_relative_path_exports_and_resumes(tiny_run, tmp_path):
    """checkpoints/checkpoint lists relative names; TensorFlow joins them to the folder, so a run
    given as a relative path (python export.py runs/mine) must not join them twice. (export.py's main in
    this process, run from tmp_path: the path is what is tested, not a new process.)"""
    from export import main as export_main

    shutil.copytree(tiny_run, tmp_path / "runs" / "mine")
    done = run_in_process(export_main, "runs/mine", "--out", "exported", cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-800:]
    assert (tmp_path / "exported" / "generator.weights.h5").stat().st_size > 0


def test_export_of_an_earlier_step_ships_that_checkpoint(tiny_run, tmp_path, capsys):
    from export import main as export_main
    from model.run_folder import checkpoint_paths

    steps = [int(p.rsplit("-", 1)[1]) for p in checkpoint_paths(tiny_run / "checkpoints")[0]]
    assert len(steps) >= 2
    assert export_main([str(tiny_run), "--out", str(tmp_path / "latest")]) == 0
    assert export_main([str(tiny_run), "--out", str(tmp_path / "earlier"), "--step", str(steps[-2])]) == 0
    assert export_main([str(tiny_run), "--out", str(tmp_path / "again"), "--step", str(steps[-1])]) == 0
    from sampling.generation import sample_inputs
    from sampling.runtime import load_generator

    fixed = np.random.default_rng(0).uniform(-1, 1, (4, 64, 64, 3)).astype(np.float32)

    def faces_and_errors(
        name,
    ):  # (the flatbuffers differ in layer-name counters, so compare what they compute)
        g = load_generator(tmp_path / name)
        z, _ = sample_inputs(g.config, 4, 0)
        cond = g.vocab.conditions([g.vocab.tagset({"hair": "blue", "eyes": "red"})] * 4)
        size = g.config.image_size
        # G of this export on fixed noise; D of this export on the same fixed images for every export
        return g.generate(z, cond), g.reconstruction_error(fixed[:, :size, :size], cond)

    latest, again, earlier = (faces_and_errors(n) for n in ("latest", "again", "earlier"))
    for a, b, c in zip(latest, again, earlier):
        np.testing.assert_allclose(a, b, atol=1e-5)
        assert np.abs(a - c).max() > 1e-3
    capsys.readouterr()
    assert export_main([str(tiny_run), "--out", str(tmp_path / "gone"), "--step", "1"]) == 2
    err = capsys.readouterr().err
    assert "no checkpoint of step 1" in err and f"steps kept: {', '.join(map(str, steps))}" in err, err
    assert not (tmp_path / "gone").exists()


@pytest.mark.tflite  # this test sets the switch itself, both ways
def test_the_test_only_switch_leaves_out_the_tflite_files_and_keras_draws_the_same(
    tiny_run, tmp_path, monkeypatch
):
    """TAGFACE_TEST_SKIP_TFLITE=1 (tests/conftest.py sets it for the session): an export without
    generator.tflite and reconstructor.tflite, which the runtime draws from with Keras, faces and
    best-of-K picks alike; without it, the export has both files and draws on LiteRT."""
    from sampling.export import export_run
    from sampling.generation import sample_inputs
    from sampling.runtime import ModelError, load_generator
    from sampling.tflite import SKIP_TFLITE_ENV

    monkeypatch.setenv(SKIP_TFLITE_ENV, "1")
    export_run(tiny_run, tmp_path / "keras")
    monkeypatch.delenv(SKIP_TFLITE_ENV)
    export_run(tiny_run, tmp_path / "both")
    assert sorted(p.name for p in (tmp_path / "keras").glob("*.tflite")) == []
    assert sorted(p.name for p in (tmp_path / "both").glob("*.tflite")) == [
        "generator.tflite",
        "reconstructor.tflite",
    ]
    weights = ["generator.weights.h5", "reconstructor.weights.h5"]
    assert [p.name for p in sorted((tmp_path / "keras").glob("*.weights.h5"))] == weights
    assert [p.name for p in sorted((tmp_path / "both").glob("*.weights.h5"))] == weights

    keras, lite = load_generator(tmp_path / "keras"), load_generator(tmp_path / "both")
    assert (keras.backend, lite.backend) == ("tensorflow", "litert")
    z, eps = sample_inputs(keras.config, 6, seed=2)
    cond = keras.vocab.conditions([keras.vocab.tagset({"hair": "blue", "eyes": "red"})] * 6)
    faces = keras.generate(z, cond, eps)
    assert faces.shape == (6, 32, 32, 3) and np.abs(faces[0] - faces[1]).max() > 0
    np.testing.assert_allclose(faces, lite.generate(z, cond, eps), atol=1e-4)
    np.testing.assert_allclose(
        keras.reconstruction_error(faces, cond), lite.reconstruction_error(faces, cond), atol=1e-4
    )
    keras, lite = (g.with_sampling(best_of=4) for g in (keras, lite))  # D's autoencoder from
    # reconstructor.weights.h5 picks the same faces
    np.testing.assert_allclose(keras.generate(z, cond, eps), lite.generate(z, cond, eps), atol=1e-4)
    with pytest.raises(ModelError, match="no .*generator.tflite"):
        load_generator(tmp_path / "keras", "litert")
    # re-exported with the switch on over an export that had them: no stale .tflite is carried over
    monkeypatch.setenv(SKIP_TFLITE_ENV, "1")
    export_run(tiny_run, tmp_path / "both")
    assert sorted(p.name for p in (tmp_path / "both").glob("*.tflite")) == []
    assert load_generator(tmp_path / "both").backend == "tensorflow"


def test_resume_with_a_damaged_state_file_continues_from_the_newest_checkpoint(tmp_path, tiny_run, capsys):
    import shutil

    from train import main

    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    (run / "checkpoints" / "checkpoint").write_text("garbage {{{")
    assert main(["--run-dir", str(run), "--resume", "--steps", "47", "--no-progress"]) == 0, (
        capsys.readouterr()
    )
    err = capsys.readouterr().err
    assert "is damaged; using the" in err and "resumed at step 45" in err, err
