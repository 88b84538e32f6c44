"""model.began: the shared encoder pass, which terms k_t weights (--k-scope) and the mode-seeking
weight set by k_t (round 2)."""

import numpy as np
import pytest

from model.config import TrainConfig


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


def _tiny_model_and_batch(n_other: int = 0, **settings):
    import tensorflow as tf

    from model.began import Batch, CondBEGAN

    cfg = TrainConfig(image_size=32, filters=8, repeats=1, nz=16, embed_dim=8, ema_decay=0.0, **settings)
    rng = np.random.default_rng(0)
    combo = np.arange(32) % 6
    conditions = np.zeros((6, 5 + n_other), np.float32)
    conditions[np.arange(6), np.arange(6) % 3] = 1
    conditions[np.arange(6), 3 + np.arange(6) % 2] = 1
    conditions[:3, 5:] = 1  # the other tags (the last n_other entries): on for the first three combos
    labels = np.stack([combo % 3, combo % 2], 1)
    model = CondBEGAN(cfg, 5 + n_other, [3, 2], combo, conditions, labels, n_other=n_other)
    b = 8
    batch = Batch(
        tf.constant(rng.uniform(-1, 1, (b, 32, 32, 3)), tf.float32),
        tf.constant(conditions[combo[:b]]),
        tf.range(b),
        tf.constant(rng.uniform(-1, 1, (b, 16)), tf.float32),
        tf.constant(rng.standard_normal((b, 8)), tf.float32),
        tf.constant(rng.uniform(0, 1, b), tf.float32),
        tf.constant(rng.uniform(-1, 1, (b, 16)), tf.float32),
    )
    return model, batch


@pytest.mark.parametrize("scope", ["reconstruction", "all", "game"])
def test_k_scope_decides_which_terms_k_weights(scope, tf):
    """Between k_t = 0 and 0.5 on one batch, D's loss moves by -0.5 L(G(z)) (every scope), plus half the
    hinge's fake side (all, game); G's loss moves by half its head and mode-seeking terms (game only)."""
    model, batch = _tiny_model_and_batch(
        aux_weight=0.1, projection_weight=0.1, diversity_weight=0.4, k_scope=scope
    )
    model.state.k.assign(0.0)
    at_zero = model._step_losses(batch)
    model.state.k.assign(0.5)
    at_half = model._step_losses(batch)
    d_move = float(at_half["d_loss"] - at_zero["d_loss"])
    hinge_move = float(at_half["adv_d"] - at_zero["adv_d"])  # 0.5 x the fake side when k weights it
    assert d_move == pytest.approx(
        -0.5 * float(tf.reduce_mean(at_zero["loss_fake"])) + 0.1 * hinge_move, abs=1e-5
    )
    assert (hinge_move > 0) == (scope != "reconstruction")
    g_move = float(at_half["g_loss"] - at_zero["g_loss"])
    heads = (
        0.1 * float(at_zero["aux_fake"]) + 0.1 * float(at_zero["adv_g"]) + 0.4 * float(at_zero["diversity"])
    )
    assert g_move == pytest.approx(0.5 * heads if scope == "game" else 0.0, abs=1e-5)


def test_diversity_by_k_lets_k_set_the_mode_seeking_weight():
    """With diversity_by_k, G's mode-seeking pull is diversity_weight x k_t (0 at k_t = 0, half at 0.5),
    while its heads keep their full weight (k_scope all)."""
    model, batch = _tiny_model_and_batch(
        aux_weight=0.1, projection_weight=0.1, diversity_weight=0.4, k_scope="all", diversity_by_k=True
    )
    model.state.k.assign(0.0)
    at_zero = model._step_losses(batch)
    model.state.k.assign(0.5)
    at_half = model._step_losses(batch)
    # only the mode-seeking term moves: by half its weight; the heads' pull stays as it was
    assert float(at_half["g_loss"] - at_zero["g_loss"]) == pytest.approx(
        0.2 * float(at_zero["diversity"]), abs=1e-5
    )
    assert float(at_zero["diversity"]) > 0.01


def test_head_floor_keeps_the_heads_pull_when_k_is_below_it():
    """With k-scope game and --head-floor 0.3, G follows the heads at 0.3 of their weight for any k_t below
    0.3 (its loss does not move between k_t = 0 and 0.2), and at k_t above it (0.3 -> 0.5 moves by 0.2 x)."""
    model, batch = _tiny_model_and_batch(
        aux_weight=0.1, projection_weight=0.1, diversity_weight=0.4, k_scope="game", head_floor=0.3
    )
    g_at = {}
    for k in (0.0, 0.2, 0.3, 0.5):
        model.state.k.assign(k)
        g_at[k] = model._step_losses(batch)
    heads = (
        0.1 * float(g_at[0.0]["aux_fake"])
        + 0.1 * float(g_at[0.0]["adv_g"])
        + 0.4 * float(g_at[0.0]["diversity"])
    )
    assert heads > 0
    assert float(g_at[0.2]["g_loss"] - g_at[0.0]["g_loss"]) == pytest.approx(0.0, abs=1e-6)
    assert float(g_at[0.5]["g_loss"] - g_at[0.3]["g_loss"]) == pytest.approx(0.2 * heads, abs=1e-5)


@pytest.mark.parametrize("pull", [1.0, 0.0])
def test_the_other_tags_pull_on_g_follows_k_unless_it_is_the_fixed_legacy_one(pull):
    """--other-tag-pull 1: G's other-tag term weighs pull x k_t (k-scope game), so between k_t = 0 and 0.5 G's
    loss moves by half of it beside the heads; 0 (configs before the setting): the fixed --other-tag-weight,
    which k_t does not move. D reads the tags at the fixed weight either way."""
    model, batch = _tiny_model_and_batch(
        n_other=1,
        aux_weight=0.1,
        projection_weight=0.0,
        diversity_weight=0.0,
        other_tag_weight=0.15,
        other_tag_pull=pull,
    )
    model.state.k.assign(0.0)
    at_zero = model._step_losses(batch)
    model.state.k.assign(0.5)
    at_half = model._step_losses(batch)
    other = float(at_zero["other_fake"])
    assert other > 0
    heads = 0.1 * float(at_zero["aux_fake"])
    expected = 0.5 * heads + (0.5 * pull * other if pull else 0.0)
    assert float(at_half["g_loss"] - at_zero["g_loss"]) == pytest.approx(expected, abs=1e-5)
