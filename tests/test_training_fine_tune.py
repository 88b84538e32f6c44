"""training.fine_tune (--init-from): the vocabulary grows by the data's tags, the new condition inputs start
at zero so that the run draws what the source drew at step 0, and the source's training state carries over
(issue 34)."""

import shutil

import numpy as np
import pytest

from tests.cli_support import run_in_process

EXTRAS_2017 = {"blush", "long hair", "open mouth", "short hair", "smile"}  # preprocess.synthetic's


def _fine_tuned(tmp_path, source, train_argv, **settings):
    from train import build_parser, config_from_args
    from training.trainer import Trainer

    args = build_parser().parse_args(
        train_argv(tmp_path / "ft", tags_csv="tags_2017.csv", steps=2, init_from=str(source), **settings)
    )
    trainer = Trainer(config_from_args(args), tmp_path / "ft", init_from=str(source), progress=False)
    trainer.prepare()
    trainer._lock.release()
    return trainer


def _checkpoint_value(run, name):
    import tensorflow as tf

    from model.run_folder import latest_checkpoint

    return tf.train.load_checkpoint(latest_checkpoint(run / "checkpoints")).get_tensor(
        f"{name}/.ATTRIBUTES/VARIABLE_VALUE"
    )


def _same_pixels_for_the_source_tags(trainer, source_export):
    from sampling.runtime import load_generator

    exported = load_generator(source_export, "tensorflow")
    z = np.random.default_rng(3).uniform(-1, 1, (4, trainer.config.nz)).astype(np.float32)
    tags = [({"hair": "red", "eyes": "blue"}, ()), ({"hair": "aqua", "eyes": "yellow"}, ())]
    for values, extras in tags:
        cond_new = np.repeat(trainer.vocab.condition_from_values(values, extras)[None], 4, 0)
        cond_old = np.repeat(exported.vocab.condition_from_values(values, extras)[None], 4, 0)
        np.testing.assert_allclose(
            trainer.sampling_generator()([z, cond_new], training=False).numpy(),
            exported.generate(z, cond_old),
            atol=1e-5,
        )


@pytest.mark.slow
def test_fine_tuning_from_a_run_grows_the_tags_and_carries_the_training_state(tmp_path, tiny_run, train_argv):
    from tags.vocab import Vocabulary

    trainer = _fine_tuned(tmp_path, tiny_run, train_argv)
    source_vocab = Vocabulary.load(tiny_run / "vocab.json")
    assert trainer.vocab.groups == source_vocab.groups  # the same colours, in the same order
    assert set(trainer.vocab.other_tags) == EXTRAS_2017 and not source_vocab.other_tags
    assert Vocabulary.load(tmp_path / "ft" / "vocab.json").other_tags == trainer.vocab.other_tags
    _same_pixels_for_the_source_tags(trainer, tiny_run / "export")
    # the new inputs start at zero weight in G, D and the projection head
    new = trainer.vocab.position_map(source_vocab) < 0
    assert new.sum() == len(EXTRAS_2017)
    g_embed = trainer.model.generator.get_layer("g_embed").dense.kernel.numpy()
    d_embed = trainer.model.decoder.get_layer("d_embed").kernel.numpy()
    assert not g_embed[new].any() and not d_embed[new].any() and np.abs(g_embed[~new]).sum() > 0
    # D's tag head reads the new tags too (--other-tag-weight): their outputs start at zero, the colours'
    # as they were
    aux = trainer.model.aux_layer.kernel.numpy()
    assert aux.shape[1] == 22 + len(EXTRAS_2017) and not aux[:, 22:].any() and np.abs(aux[:, :22]).sum() > 0
    # ... and a new tag changes nothing yet, while the source's tags do
    z = np.zeros((1, trainer.config.nz), np.float32)
    draw = lambda extras: trainer.sampling_generator()(  # noqa: E731
        [z, trainer.vocab.condition_from_values({"hair": "red", "eyes": "blue"}, extras)[None]]
    ).numpy()
    np.testing.assert_array_equal(draw(["smile"]), draw([]))
    # the training state: k_t, the threshold, the rate and Adam's moments carry over; the step starts at 0
    model = trainer.model
    assert float(model.state.k.numpy()) == pytest.approx(float(_checkpoint_value(tiny_run, "k")))
    assert float(model.state.threshold.numpy()) == pytest.approx(
        float(_checkpoint_value(tiny_run, "threshold"))
    )
    assert float(model.state.lr.numpy()) == pytest.approx(float(_checkpoint_value(tiny_run, "lr")))
    assert int(model.state.step.numpy()) == 0 and int(model.state.epoch.numpy()) == 0
    assert int(model.g_optimizer.iterations.numpy()) == int(
        _checkpoint_value(tiny_run, "g_optimizer/g_adam..iteration")
    )


@pytest.mark.slow
def test_fine_tuning_from_an_export_alone_takes_g_and_d_s_autoencoder(tmp_path, tiny_run, train_argv):
    export = tmp_path / "export_only"
    shutil.copytree(tiny_run / "export", export)  # no run beside it
    trainer = _fine_tuned(tmp_path, export, train_argv)
    _same_pixels_for_the_source_tags(trainer, export)
    from model.run_folder import load_reconstructor_from_run

    source_d = load_reconstructor_from_run(tiny_run)
    for part in ("d_encoder",):
        for mine, theirs in zip(
            trainer.model.discriminator.get_layer(part).get_weights(), source_d.get_layer(part).get_weights()
        ):
            np.testing.assert_allclose(mine, theirs)
    assert float(trainer.model.state.k.numpy()) == 0.0  # an export has no training state


def test_widened_copies_along_the_grown_axis_and_zeros_the_new_entries():
    from model.run_folder import RunDirError
    from training.fine_tune import widened

    old = np.arange(6, dtype=np.float32).reshape(3, 2)  # 3 condition inputs x 2 units
    maps = {"cond": (np.array([0, 1, -1, 2]), 3), "tag head": (np.array([1, 0, -1]), 2)}
    assert widened(old, (4, 2), maps).tolist() == [[0, 1], [2, 3], [0, 0], [4, 5]]
    assert widened(old, (3, 3), maps).tolist() == [[1, 0, 0], [3, 2, 0], [5, 4, 0]]  # the tag head's outputs
    with pytest.raises(RunDirError, match="no tag axis"):
        widened(old, (5, 2), maps)
    with pytest.raises(RunDirError, match="shape"):
        widened(old, (4, 3), maps)


@pytest.mark.slow
def test_init_from_takes_the_source_s_network_and_refuses_a_flag_that_contradicts_it(
    tmp_path, tiny_run, synthetic_faces
):
    from train import main

    data = [
        "--images",
        str(synthetic_faces / "images"),
        "--tags-csv",
        str(synthetic_faces / "tags_2017.csv"),
        "--init-from",
        str(tiny_run),
        "--run-dir",
        str(tmp_path / "ft"),
    ]
    clash = run_in_process(main, *data, "--filters", "16", "--embed-dim", "8", cwd=tmp_path)
    assert clash.returncode == 2 and "--filters 16 (the source's is 8)" in clash.stderr, clash.stderr
    assert "--embed-dim" not in clash.stderr  # the same value as the source's is no clash
    checked = run_in_process(main, *data, "--check", cwd=tmp_path)
    assert checked.returncode == 0, checked.stderr
    out = checked.stdout
    assert "vocabulary: 22 of the source's tags kept; added 5: " in out, out
    assert all(tag in out for tag in EXTRAS_2017)
    assert "length: 1,500 steps (fine-tuning" in out, out
    assert (
        "probing: all 1,500 steps train the weights on the new tags at 10 x the rate, the rest at 0.1 x"
        in out
    )
    # the network settings shown are the source's, without a flag for them
    assert "*filters 8" in out and "*image-size 32" in out, out
    assert not (tmp_path / "ft").exists()


@pytest.mark.slow
def test_a_fine_tuning_run_trains_its_own_checker_for_the_new_tags_and_exports_it(
    tmp_path, tiny_run, train_argv
):
    from checker.checker import load_checker
    from model.config import TrainConfig
    from train import main

    run = tmp_path / "ft"
    done = run_in_process(
        main,
        *train_argv(run, tags_csv="tags_2017.csv", steps=3, init_from=str(tiny_run), epochs=None),
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert "vocabulary: 22 of the source's tags kept; added 5" in done.stderr
    assert "probing: all 3 steps train the weights on the new tags" in done.stderr
    assert (
        "carried over G, D and their Adam moments" in done.stderr
        and "reset the step and epoch" in done.stderr
    )
    checker = load_checker(run / "export")  # the run's own, copied beside the model
    assert set(checker.other_tags) == EXTRAS_2017 and checker.groups == load_checker(run / "checker").groups
    assert TrainConfig.load(run).steps == 3 and TrainConfig.load(run).filters == 8  # the source's network
    # a resume reads the data as the first sitting did (the data's vocabulary, then the grown one)
    resumed = run_in_process(
        main, *train_argv(run, data=False, resume=True, steps=5, epochs=None), cwd=tmp_path
    )
    assert resumed.returncode == 0, resumed.stderr
    assert "resumed at step 3" in resumed.stderr and "data changed" not in resumed.stderr


def test_a_fine_tune_takes_the_source_s_losses_but_its_own_anchor_and_other_tag_pull():
    """The source's loss settings carry over (the carried k_t keeps its meaning); the anchor and the pull on
    other tags are the fine-tune's own: the anchor at the default (a source trained from scratch before it
    recorded it off), the pull fixed (FINE_TUNE_OTHER_TAG_PULL) unless a flag gives one."""
    from model.config import FINE_TUNE_OTHER_TAG_PULL, TrainConfig

    source = TrainConfig(gamma=0.5, anchor_weight=0.0, other_tag_pull=2.0)
    tuned = TrainConfig.fine_tuned_from(source, TrainConfig(), {}, "src")
    assert tuned.gamma == 0.5
    assert tuned.anchor_weight == TrainConfig().anchor_weight > 0
    assert tuned.other_tag_pull == FINE_TUNE_OTHER_TAG_PULL != TrainConfig().other_tag_pull
    flags = {"anchor_weight": 1.0, "other_tag_pull": 1.0}
    assert TrainConfig.fine_tuned_from(source, TrainConfig(), flags, "src").other_tag_pull == 1.0
    assert TrainConfig.fine_tuned_from(source, TrainConfig(), flags, "src").anchor_weight == 1.0


def test_the_length_rule_counts_images_seen_and_advises_fine_tuning_on_small_data():
    from model.config import TrainConfig
    from training.plan import DEFAULT_EPOCHS, FINE_TUNE_IMAGES, FROM_SCRATCH_IMAGES, plan

    auto = TrainConfig()
    small = plan(auto, 1000, fine_tune=False)
    assert small.steps == FROM_SCRATCH_IMAGES // 16 and small.small_data
    assert "--init-from models/default" in small.advice() and "1,500 steps" in small.advice()
    tuned = plan(auto, 1000, fine_tune=True)
    assert tuned.steps == FINE_TUNE_IMAGES // 16 and tuned.advice() is None
    assert 0 < tuned.cpu_minutes < small.cpu_minutes
    big = plan(auto, 30_000, fine_tune=False)
    assert big.steps == DEFAULT_EPOCHS * (30_000 // 16) and big.advice() is None
    assert plan(TrainConfig(epochs=3), 1000, fine_tune=False).steps == 3 * (1000 // 16)
    assert plan(TrainConfig(steps=77, epochs=3), 1000, fine_tune=True).steps == 77
    assert plan(auto, 30_000, fine_tune=True).steps == 30_000 // 16  # at least one epoch


def test_a_small_set_trains_at_the_small_data_gamma_unless_a_gamma_is_chosen(tmp_path):
    from model.config import TrainConfig
    from train import build_parser, config_from_args
    from training.plan import SMALL_DATA, gamma_line, plan, run_gamma

    auto = TrainConfig()
    small, big = plan(auto, 1000, fine_tune=False), plan(auto, SMALL_DATA, fine_tune=False)
    assert run_gamma(auto, small) == auto.small_data_gamma == 0.9 != auto.gamma
    assert "gamma 0.9 (--small-data-gamma, in place of 0.7" in gamma_line(auto, small)
    assert run_gamma(auto, big) == auto.gamma and gamma_line(auto, big) is None  # a large set
    assert run_gamma(auto, plan(auto, 1000, fine_tune=True)) == 0.9  # a fine-tune too, from a 0.7 source
    assert run_gamma(TrainConfig(small_data_gamma=0), small) == auto.gamma  # switched off
    assert run_gamma(TrainConfig(gamma=0.5), small) == 0.5  # a gamma chosen
    from_half = TrainConfig.fine_tuned_from(TrainConfig(gamma=0.5, small_data_gamma=0), auto, {}, "src")
    assert run_gamma(from_half, small) == 0.5 and from_half.small_data_gamma == 0.9  # a source's own gamma
    # on the command line any --gamma given is the one trained at, the default's value too
    data = ["--images", "i", "--tags-csv", "t.csv"]
    typed = config_from_args(build_parser().parse_args(data + ["--gamma", "0.7"]))
    assert typed.small_data_gamma == 0 and run_gamma(typed, small) == 0.7
    assert config_from_args(build_parser().parse_args(data)).small_data_gamma == 0.9
    # --config with a small run's settings: its gamma was the small set's, so it is worked out again
    (tmp_path / "small").mkdir(), (tmp_path / "chosen").mkdir()
    TrainConfig(gamma=0.9).save(tmp_path / "small")
    TrainConfig(gamma=0.9, small_data_gamma=0).save(tmp_path / "chosen")
    again = config_from_args(build_parser().parse_args(data + ["--config", str(tmp_path / "small")]))
    assert run_gamma(again, big) == 0.7 and run_gamma(again, small) == 0.9
    kept = config_from_args(build_parser().parse_args(data + ["--config", str(tmp_path / "chosen")]))
    assert run_gamma(kept, big) == run_gamma(kept, small) == 0.9


def test_ada_controller_raises_p_while_d_reconstructs_training_faces_better_than_at_first(tf):
    """The gap the data has from the start (held-out faces that differ by chance) is the baseline, not
    over-fitting: p waits while it is measured, rises while the gap grows above it, falls when it closes."""
    from types import SimpleNamespace

    from model.augment import ADA_ADJUST_IMAGES, ADA_BASELINE_MEASUREMENTS, ADA_INTERVAL
    from training.ada import AdaController

    rows = np.arange(100)
    held = np.zeros(100, bool)
    held[::4] = True
    data = SimpleNamespace(
        images=np.zeros((100, 8, 8, 3), np.uint8),
        conditions=np.zeros((100, 2), np.float32),
        holdout_indices=lambda: rows[held],
        train_indices=lambda: rows[~held],
    )
    nan = float("nan")
    state = SimpleNamespace(
        augment_p=tf.Variable(0.0),
        overfit_gap=tf.Variable(nan),
        overfit_baseline=tf.Variable(nan),
        baseline_count=tf.Variable(0.0),
    )
    model = SimpleNamespace(state=state, real_losses=lambda images, cond: None)
    ada = AdaController(model, data, batch_size=16, target=0.05)
    p = lambda: float(state.augment_p.numpy())  # noqa: E731
    seen = []  # D's mean loss on the 25 held-out rows and on the training rows

    def losses(held_loss, train_loss):
        ada._mean_loss = lambda rows_, step: (
            seen.append(len(rows_)) or (held_loss if len(rows_) == 25 else train_loss)
        )

    losses(0.3, 0.2)  # a gap of 0.5 from the start: the data's own
    ada.on_step(ADA_INTERVAL - 1)  # not a measuring step
    assert p() == 0.0 and not seen
    for k in range(1, ADA_BASELINE_MEASUREMENTS + 1):
        ada.on_step(k * ADA_INTERVAL)
    assert seen and p() == 0.0 and ada.values()["overfit_baseline"] == pytest.approx(0.5)
    for k in range(ADA_BASELINE_MEASUREMENTS + 1, 30):  # the gap stays at the baseline: no over-fitting
        ada.on_step(k * ADA_INTERVAL)
    assert p() == 0.0 and ada.gap == pytest.approx(0.0)
    losses(0.3, 0.15)  # D now reconstructs its training faces better than at first: a gap of 1.0
    ada.on_step(30 * ADA_INTERVAL)
    step = ADA_INTERVAL * 16 / ADA_ADJUST_IMAGES
    assert ada.gap == pytest.approx(0.05) and p() == 0.0  # smoothed: 0.1 x the excess of 0.5, not above 0.05
    ada.on_step(31 * ADA_INTERVAL)
    assert p() == pytest.approx(step)
    losses(0.3, 0.2)  # the gap closes: p comes back down (the smoothed gap lags)
    for k in range(32, 100):
        ada.on_step(k * ADA_INTERVAL)
    assert p() == 0.0 and ada.values()["augment_p"] == 0.0


@pytest.mark.slow
def test_probing_moves_only_the_new_tags_weights_then_the_whole_network(tmp_path, tiny_run, train_argv):
    """--probe-steps: while probing, every weight of G and D keeps the source's value except the entries
    on the new tags (G's and D's new condition inputs, the tag head's new outputs), which move; after
    the probe, the rest trains too."""
    from model.began import variables_by_path
    from tags.vocab import Vocabulary

    trainer = _fine_tuned(tmp_path, tiny_run, train_argv, probe_steps=3, probe_body_lr_scale=0)
    model = trainer.model

    def weights():
        return {p: v.numpy().copy() for p, v in variables_by_path(model.trainable_weights_of_both()).items()}

    masks = {p: m.numpy() > 0 for p, m in model.probe_masks.items()}
    new = trainer.vocab.position_map(Vocabulary.load(tiny_run / "vocab.json")) < 0
    assert (
        masks[next(p for p in masks if "g_embed" in p and p.endswith("kernel"))].any(axis=1).tolist()
        == new.tolist()
    )
    before = weights()
    batches = iter(trainer._epoch_batches())
    for _ in range(3):
        trainer.probe_fn(next(batches))
    probed = weights()
    for path, mask in masks.items():
        np.testing.assert_array_equal(probed[path][~mask], before[path][~mask], err_msg=path)
    moved = [p for p, m in masks.items() if m.any() and not np.array_equal(probed[p][m], before[p][m])]
    assert (
        any("g_embed" in p for p in moved)
        and any("d_embed" in p for p in moved)
        and any("aux" in p for p in moved)
    )
    trainer.step_fn(next(batches))
    trained = weights()
    assert sum(not np.array_equal(trained[p][~m], probed[p][~m]) for p, m in masks.items()) > len(masks) // 2


@pytest.mark.slow
def test_probing_with_a_body_rate_moves_the_rest_at_that_fraction_of_a_full_step(
    tmp_path, tiny_run, train_argv
):
    """--probe-body-lr-scale 0.1: from the same state and batch, a probe step moves every weight off the new
    tags by a tenth of what a full step moves it (Adam's step is proportional to its rate), and leaves the
    optimisers' rates as they were."""
    from model.began import variables_by_path

    trainer = _fine_tuned(tmp_path, tiny_run, train_argv, probe_steps=5, probe_body_lr_scale=0.1)
    model = trainer.model
    batch = next(iter(trainer._epoch_batches()))
    start = model.training_checkpoint()  # (both steps start from it: one trainer, one trace of each)
    saved = start.write(str(tmp_path / "start"))
    off = {p: m.numpy() == 0 for p, m in model.probe_masks.items()}

    def one_step(probing):
        start.read(saved).assert_existing_objects_matched()
        before = {
            p: v.numpy().copy() for p, v in variables_by_path(model.trainable_weights_of_both()).items()
        }
        rate = float(model.g_optimizer.learning_rate.numpy())
        (trainer.probe_fn if probing else trainer.step_fn)(batch)
        assert float(model.g_optimizer.learning_rate.numpy()) == pytest.approx(rate)
        after = {p: v.numpy() for p, v in variables_by_path(model.trainable_weights_of_both()).items()}
        return {p: (after[p] - before[p])[off[p]] for p in before}

    probed, full = one_step(True), one_step(False)
    moved = [p for p in full if np.abs(full[p]).sum() > 0]
    assert len(moved) > len(full) // 2
    for path in moved:  # (the steps are ~1e-6 on weights ~0.1: compare sizes, float32's rounding aside)
        ratio = np.linalg.norm(probed[path]) / np.linalg.norm(full[path])
        assert ratio == pytest.approx(0.1, rel=0.03), path
        assert np.sum(probed[path] * full[path]) > 0  # the same direction


@pytest.mark.slow
def test_a_fine_tuned_run_from_before_the_probe_resumes_without_one(tmp_path, tiny_run, train_argv):
    """A fine-tuned run whose config.json and checkpoints predate --probe-steps (no probe_masks saved)
    resumes as it was trained, instead of failing to match its checkpoint."""
    import json

    from train import main

    run = tmp_path / "ft"
    argv = train_argv(
        run, tags_csv="tags_2017.csv", steps=2, init_from=str(tiny_run), epochs=None, probe_steps=0
    )
    assert run_in_process(main, *argv, cwd=tmp_path).returncode == 0
    config = json.loads((run / "config.json").read_text())
    del config["probe_steps"], config["probe_body_lr_scale"]  # as a run from before wrote it
    (run / "config.json").write_text(json.dumps(config))
    resumed = run_in_process(
        main, "--run-dir", str(run), "--resume", "--steps", "3", "--no-progress", cwd=tmp_path
    )
    assert resumed.returncode == 0, resumed.stderr
    said = resumed.stdout + resumed.stderr
    assert "probing" not in said and "trained to step 3" in said, said


@pytest.mark.slow
def test_the_anchor_keeps_g_drawing_the_source_s_tags_as_the_source_did(tmp_path, tiny_run, train_argv):
    """--anchor-weight: a frozen copy of G as the fine-tune started, masked to the source's tags, starts at
    zero distance, stays frozen, and holds G's drawing of the source's tags nearer the source's than the
    same full-rate steps without it."""
    from tags.vocab import Vocabulary

    def trained(name, weight):
        (tmp_path / name).mkdir()
        trainer = _fine_tuned(tmp_path / name, tiny_run, train_argv, probe_steps=0, anchor_weight=weight)
        batches = list(trainer._epoch_batches())  # (an epoch of the tiny set: 7 batches, taken 6 times)
        first = batches[0]
        model = trainer.model
        if weight:
            new = trainer.vocab.position_map(Vocabulary.load(tiny_run / "vocab.json")) < 0
            assert model.anchor_keep.numpy().tolist() == (~new).astype(float).tolist()
            assert float(model._anchor_loss(first)) == 0.0  # G is the anchor at step 0
            frozen = [w.numpy().copy() for w in model.anchor_generator.weights]
        else:
            assert model.anchor_generator is None
        for batch in batches * 6:
            trainer.step_fn(batch)
        if weight:
            assert all(np.array_equal(a.numpy(), b) for a, b in zip(model.anchor_generator.weights, frozen))
        return trainer

    free, anchored = trained("free", 0.0), trained("anchored", 30.0)
    source = anchored.model.anchor_generator  # (frozen: the source's G, widened)
    z = np.random.default_rng(5).uniform(-1, 1, (16, free.config.nz)).astype(np.float32)
    cond = np.stack(
        [free.vocab.condition_from_values({"hair": h, "eyes": "blue"}, ()) for h in ["red", "aqua"] * 8]
    )

    def distance(trainer):
        drawn = trainer.model.generator([z, cond], training=False).numpy()
        return np.abs(drawn - source([z, cond], training=False).numpy()).mean()

    assert distance(anchored) < 0.5 * distance(free), (distance(anchored), distance(free))
