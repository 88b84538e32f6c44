"""The round-2 training options: augmentation, hinge/projection, warm-ups, EMA,
the shared encoder pass and the legacy defaults of old config files."""
import dataclasses
import json

import numpy as np
import pytest

from model.config import LEGACY_VALUES, RANGES, ConfigError, TrainConfig, _range_words


@pytest.fixture(scope="module")
def losses():
    """model.losses, imported by the tests that use it (it imports TensorFlow; collecting must not)."""
    from model import losses

    return losses


def _ramp_images(b=4, size=16):
    x = np.linspace(-1, 1, size * size * 3, dtype=np.float32).reshape(1, size, size, 3)
    return np.repeat(x, b, 0) + np.arange(b, dtype=np.float32)[:, None, None, None] * 0.01


def test_translation_shifts_whole_images_and_fills_with_zero(tf):
    from model.augment import translate

    x = _ramp_images()
    out = translate(x, tf.constant([0, 7], tf.int64)).numpy()
    assert out.shape == x.shape
    for i in range(len(x)):
        # find the shift that reproduces this output from the zero-padded input
        pad = 2
        padded = np.pad(x[i], [(pad, pad), (pad, pad), (0, 0)])
        matches = [(dy, dx) for dy in range(-pad, pad + 1) for dx in range(-pad, pad + 1)
                   if np.array_equal(padded[pad - dy: pad - dy + 16, pad - dx: pad - dx + 16], out[i])]
        assert len(matches) == 1
    # (a pure shift with zero fill: no colour of the image changes)


def test_cutout_blanks_one_square_of_half_the_side(tf):
    from model.augment import cutout

    x = np.ones((3, 16, 16, 3), np.float32)
    out = cutout(x, tf.constant([1, 2], tf.int64)).numpy()
    blank = (out == 0).all(-1)
    assert (blank.sum(axis=(1, 2)) == 64).all()  # an 8x8 square per image
    for mask in blank:
        rows, cols = np.where(mask)
        assert rows.max() - rows.min() == 7 and cols.max() - cols.min() == 7
    np.testing.assert_array_equal(out[~blank], 1.0)


def test_diff_augment_is_deterministic_per_seed_and_lets_gradients_through(tf):
    from model.augment import diff_augment

    x = tf.constant(_ramp_images())
    seed = tf.constant([3, 4], tf.int64)
    a = diff_augment(x, "translation,cutout", seed)
    np.testing.assert_array_equal(a.numpy(), diff_augment(x, "translation,cutout", seed).numpy())
    assert not np.array_equal(a.numpy(), diff_augment(x, "translation,cutout", seed + 1).numpy())
    np.testing.assert_array_equal(diff_augment(x, "", seed).numpy(), x.numpy())
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.reduce_sum(diff_augment(x, "translation,cutout", seed))
    grad = tape.gradient(y, x).numpy()
    assert set(np.unique(grad)) <= {0.0, 1.0} and grad.sum() > 0


def test_hinge_losses_by_hand(losses):
    real, fake = np.array([2.0, 0.5]), np.array([-3.0, 0.0])
    # real: relu(1-2)=0, relu(1-0.5)=0.5 -> 0.25; fake: relu(1-3)=0, relu(1+0)=1 -> 0.5
    assert losses.hinge_discriminator_loss(real, fake).numpy() == pytest.approx(0.75)
    # the filter's mask drops the second real image: 0 + 0.5
    assert losses.hinge_discriminator_loss(real, fake, np.array([1.0, 0.0])).numpy() == pytest.approx(0.5)
    assert losses.hinge_generator_loss(fake).numpy() == pytest.approx(1.5)
    # k_scope "all": the fake side is weighted by k_t (0.2 x 0.5), the real side is not
    assert losses.hinge_discriminator_loss(real, fake, None, 0.2).numpy() == pytest.approx(0.25 + 0.1)


def test_warmup_and_ema_decay_schedules(losses):
    assert losses.warmup_weight(1.0, 0, 100).numpy() == 0.0
    assert losses.warmup_weight(1.0, 25, 100).numpy() == pytest.approx(0.25)
    assert losses.warmup_weight(0.8, 500, 100).numpy() == pytest.approx(0.8)
    assert losses.warmup_weight(0.8, 0, 0).numpy() == pytest.approx(0.8)
    assert losses.ema_decay_at(0, 0.999).numpy() == pytest.approx(0.1)
    assert losses.ema_decay_at(90, 0.999).numpy() == pytest.approx(91 / 100)
    assert losses.ema_decay_at(10**6, 0.999).numpy() == pytest.approx(0.999)


def test_an_old_config_without_the_new_settings_loads_with_them_off(tmp_path):
    data = TrainConfig().to_dict()
    for name in LEGACY_VALUES:
        del data[name]
    (tmp_path / "config.json").write_text(json.dumps(data))
    old = TrainConfig.load(tmp_path)
    assert old.ema_decay == 0.0 and old.projection_weight == 0.0 and old.augment == "" and old.lr_d == 0.0
    assert old.k_scope == "reconstruction" and old.head_warmup == 0
    assert TrainConfig().ema_decay > 0  # while new runs average G by default


@pytest.mark.parametrize("bad", [{"ema_decay": 1.0}, {"augment": "colour"}, {"lr_d": -1.0},
                                 {"wrong_warmup": -5}, {"projection_weight": -0.1},
                                 {"k_scope": "hinge"}, {"head_warmup": -1}])
def test_new_settings_are_validated(bad):
    with pytest.raises(ConfigError):
        TrainConfig(**bad)  # a TrainConfig checks itself when made


def _past(bound, kind, direction):
    """A value of the field's type just past `bound` (direction -1: below, +1: above)."""
    if kind is int:
        return bound + direction
    return bound + direction * max(abs(bound), 1.0) * 0.5


@pytest.mark.parametrize("name", sorted(RANGES))
def test_an_out_of_range_value_is_refused_with_the_one_ranges_message(name):
    """RANGES is the one range table: a value past either end of a field's range is refused
    with the words RANGES gives, by TrainConfig itself (no later check words it otherwise)."""
    low, high = RANGES[name]
    kind = type(getattr(TrainConfig(), name))
    for bound, direction in ((low, -1), (high, 1)):
        if bound is None:
            continue
        value = _past(bound, kind, direction)
        with pytest.raises(ConfigError) as refused:
            TrainConfig(**{name: value})
        assert str(refused.value) == f"{name} must be {_range_words(low, high)}, not {value!r}"


def test_gamma_has_one_rule_and_one_message():
    with pytest.raises(ConfigError) as refused:
        TrainConfig(gamma=1.5)
    assert str(refused.value) == "gamma must be between 0.0 and 1.0, not 1.5"
    with pytest.raises(ConfigError, match="^ema_decay must be between 0.0 and 0.999999, not 1.0$"):
        dataclasses.replace(TrainConfig(), ema_decay=1.0)  # a replaced setting is checked too


def test_the_config_is_frozen_and_a_change_is_a_new_checked_config():
    config = TrainConfig()
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.gamma = 0.7
    staged = dataclasses.replace(config, gamma=0.7)
    assert (config.gamma, staged.gamma) == (0.5, 0.7)
    # the rules a range cannot express stay in validate, once
    with pytest.raises(ConfigError, match=r"^lr_floor \(0.001\) is above lr \(0.0002\)$"):
        dataclasses.replace(config, lr_floor=1e-3)
    with pytest.raises(ConfigError, match="^--eval-every needs --checker"):
        TrainConfig(eval_every=10)


def test_shared_encoder_pass_equals_the_whole_discriminator(tf):
    from model.networks import build_discriminator

    cfg = TrainConfig(image_size=32, filters=8, repeats=1, nz=16, embed_dim=8, projection_weight=0.1)
    d = build_discriminator(cfg, 6, aux_units=6)
    rng = np.random.default_rng(0)
    x = tf.constant(rng.uniform(-1, 1, (3, 32, 32, 3)).astype(np.float32))
    c = tf.constant(np.eye(6, dtype=np.float32)[[0, 2, 5]])
    recon, aux, score = d([x, c])
    h, features = d.get_layer("d_encoder")(x)
    np.testing.assert_allclose(d.get_layer("d_decoder")([h, c]).numpy(), recon.numpy(), atol=1e-5)
    np.testing.assert_allclose(d.get_layer("d_aux")(h).numpy(), aux.numpy(), atol=1e-5)
    np.testing.assert_allclose(d.get_layer("d_projection")(features, c).numpy(), score.numpy(), atol=1e-5)
    # the same variable paths as before the split, so older checkpoints still restore
    paths = {v.path for v in d.variables}
    assert {"d_conv_in/kernel", "d_h/kernel", "d_embed/kernel", "d_rgb/kernel", "d_aux/kernel"} <= paths


def _tiny_model_and_batch(**settings):
    import tensorflow as tf

    from model.began import Batch, CondBEGAN

    cfg = TrainConfig(image_size=32, filters=8, repeats=1, nz=16, embed_dim=8, ema_decay=0.0, **settings)
    rng = np.random.default_rng(0)
    combo = np.arange(32) % 6
    conditions = np.zeros((6, 5), np.float32)
    conditions[np.arange(6), np.arange(6) % 3] = 1
    conditions[np.arange(6), 3 + np.arange(6) % 2] = 1
    labels = np.stack([combo % 3, combo % 2], 1)
    model = CondBEGAN(cfg, 5, [3, 2], combo, conditions, labels)
    b = 8
    batch = Batch(tf.constant(rng.uniform(-1, 1, (b, 32, 32, 3)), tf.float32), tf.constant(conditions[combo[:b]]),
                  tf.range(b), tf.constant(rng.uniform(-1, 1, (b, 16)), tf.float32),
                  tf.constant(rng.standard_normal((b, 8)), tf.float32), tf.constant(rng.uniform(0, 1, b), tf.float32),
                  tf.constant(rng.uniform(-1, 1, (b, 16)), tf.float32))
    return model, batch


@pytest.mark.parametrize("scope", ["reconstruction", "all", "game"])
def test_k_scope_decides_which_terms_k_weights(scope, tf):
    """Between k_t = 0 and 0.5 on one batch, D's loss moves by -0.5 L(G(z)) (every scope), plus half the
    hinge's fake side (all, game); G's loss moves by half its head and mode-seeking terms (game only)."""
    model, batch = _tiny_model_and_batch(aux_weight=0.1, projection_weight=0.1, diversity_weight=0.4, k_scope=scope)
    model.k.assign(0.0)
    at_zero = model._step_losses(batch)
    model.k.assign(0.5)
    at_half = model._step_losses(batch)
    d_move = float(at_half["d_loss"] - at_zero["d_loss"])
    hinge_move = float(at_half["adv_d"] - at_zero["adv_d"])  # 0.5 x the fake side when k weights it
    assert d_move == pytest.approx(-0.5 * float(tf.reduce_mean(at_zero["loss_fake"])) + 0.1 * hinge_move, abs=1e-5)
    assert (hinge_move > 0) == (scope != "reconstruction")
    g_move = float(at_half["g_loss"] - at_zero["g_loss"])
    heads = 0.1 * float(at_zero["aux_fake"]) + 0.1 * float(at_zero["adv_g"]) + 0.4 * float(at_zero["diversity"])
    assert g_move == pytest.approx(0.5 * heads if scope == "game" else 0.0, abs=1e-5)


def test_diversity_by_k_lets_k_set_the_mode_seeking_weight():
    """With diversity_by_k, G's mode-seeking pull is diversity_weight x k_t (0 at k_t = 0, half at 0.5),
    while its heads keep their full weight (k_scope all)."""
    model, batch = _tiny_model_and_batch(aux_weight=0.1, projection_weight=0.1, diversity_weight=0.4,
                                         k_scope="all", diversity_by_k=True)
    model.k.assign(0.0)
    at_zero = model._step_losses(batch)
    model.k.assign(0.5)
    at_half = model._step_losses(batch)
    # only the mode-seeking term moves: by half its weight; the heads' pull stays as it was
    assert float(at_half["g_loss"] - at_zero["g_loss"]) == pytest.approx(0.2 * float(at_zero["diversity"]), abs=1e-5)
    assert float(at_zero["diversity"]) > 0.01
