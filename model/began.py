"""The conditional BEGAN update: one `train_step` to read top to bottom.

`CondBEGAN` owns the two networks, their Adam optimisers and every piece of
training state that must survive a resume (k_t, learning rate, windowed M,
plateau counters, filter threshold and running real-loss statistics, step
and epoch position). All of it is tracked by `tf.train.Checkpoint`.
"""

from __future__ import annotations

from typing import NamedTuple

import keras
import numpy as np
import tensorflow as tf

from model import losses
from model.augment import adaptive_augment, diff_augment
from model.config import TrainConfig
from model.networks import VanishingResidual, build_discriminator, build_generator
from model.real_filter import keep_mask
from model.training_state import TrainingState


class Batch(NamedTuple):
    """One training batch: the data pipeline's images, conditions and rows, and
    the noise drawn for them (trainer.with_noise). Plain 7-tuples in this order work too."""

    images: tf.Tensor  # float32 [B, S, S, 3] in [-1, 1]
    cond: tf.Tensor  # float32 [B, D] the images' own tags
    index: tf.Tensor  # int32 [B] rows in the dataset (for the filter log and the wrong tags)
    z: tf.Tensor  # float32 [B, nz] uniform in [-1, 1]
    eps: tf.Tensor  # float32 [B, embed_dim] standard normal (conditioning augmentation)
    wrong_u: tf.Tensor  # float32 [B] uniform: picks each image's wrong tags
    z2: tf.Tensor  # float32 [B, nz] the second noise of the mode-seeking pair


def variables_by_path(variables) -> dict:
    """{unique variable path: tf.Variable} for tf.train.Checkpoint."""
    out = {}
    for v in variables:
        key = v.path.replace("/", ".")
        while key in out:
            key += "_"
        out[key] = v.value if hasattr(v, "value") and isinstance(v.value, tf.Variable) else v
    return out


class CondBEGAN(keras.Model):
    def __init__(
        self,
        config: TrainConfig,
        cond_dim: int,
        group_sizes: list[int],
        combo_of_row: np.ndarray,
        combo_conditions: np.ndarray,
        labels_of_row: np.ndarray,
        n_other: int = 0,
        probe: bool = False,
        saved: set[str] | None = None,
        anchor: bool = False,
    ):
        """`saved`: the names in the checkpoint a resume restores, when it has one (a run from before the
        ADA baseline checkpoints none, and is restored without it). `anchor` (a fine-tune with
        anchor_weight > 0): keep a frozen copy of G as training.fine_tune set it, to pull towards."""
        super().__init__(name="cond_began")
        self.config = config
        self.group_sizes = list(group_sizes)
        # the tag head reads the other tags too (the last n_other entries of a condition, in both modes)
        self.n_other = n_other if config.other_tag_weight > 0 else 0
        aux_units = sum(self.group_sizes) + self.n_other if config.aux_weight > 0 else 0
        self.generator = build_generator(config, cond_dim)
        self.discriminator = build_discriminator(config, cond_dim, aux_units=aux_units)
        self.g_optimizer = keras.optimizers.Adam(config.lr, beta_1=config.beta1, name="g_adam")
        self.d_optimizer = keras.optimizers.Adam(config.lr_d or config.lr, beta_1=config.beta1, name="d_adam")
        self.d_lr_ratio = (config.lr_d / config.lr) if config.lr_d else 1.0  # TTUR: D's rate / G's
        self.encoder = self.discriminator.get_layer("d_encoder")
        self.decoder = self.discriminator.get_layer("d_decoder")
        self.aux_layer = self.discriminator.get_layer("d_aux") if aux_units else None
        self.projection = (
            self.discriminator.get_layer("d_projection") if config.projection_weight > 0 else None
        )
        # Moving average of G's weights (float32), used for samples, evaluation and export.
        self.generator_ema = (
            [
                tf.Variable(tf.cast(w, tf.float32), trainable=False, name="ema_" + w.name)
                for w in self.generator.weights
            ]
            if config.ema_decay > 0
            else []
        )
        # Data tables: row -> combo, combo -> condition, row -> labels (constants, not state).
        self.combo_of_row = tf.constant(combo_of_row, tf.int32)
        self.combo_conditions = tf.constant(combo_conditions, tf.float32)
        self.labels_of_row = tf.constant(labels_of_row, tf.int32)
        self.n_combos = int(combo_conditions.shape[0])
        self.wrong_is_k = config.wrong_weight == "k"
        self.wrong_weight = 0.0 if self.wrong_is_k else float(config.wrong_weight)
        self.residuals = [
            layer
            for net in (self.generator, self.discriminator)
            for layer in net.layers
            if isinstance(layer, VanishingResidual)
        ]
        # The training state (model.training_state), all checkpointed.
        self.adaptive = config.ada == "on"
        self.state = TrainingState(
            config.lr,
            adaptive=self.adaptive,
            baseline_saved=saved is None or any(name.startswith("overfit_baseline") for name in saved),
        )
        # Probing (a fine-tune to new tags): a 0/1 mask per trainable weight marks the entries on the new
        # tags (training.fine_tune sets them); its own Adam moves only those, at probe_lr_scale x the rate.
        self.probe_masks = (
            {
                path: tf.Variable(tf.zeros(v.shape, tf.float32), trainable=False, name="probe_mask")
                for path, v in variables_by_path(self.trainable_weights_of_both()).items()
            }
            if probe
            else {}
        )
        self.probe_optimizer = (
            keras.optimizers.Adam(config.lr * config.probe_lr_scale, beta_1=config.beta1, name="probe_adam")
            if probe
            else None
        )

        # The anchor (a fine-tune to new tags): G as the fine-tune started, frozen (training.fine_tune copies
        # it in), and a 0/1 mask over the condition inputs: 1 on the source's tags, 0 on the new ones.
        self.anchor_generator = None
        if anchor:
            self.anchor_generator = build_generator(config, cond_dim)
            self.anchor_generator.trainable = False
            self.anchor_keep = tf.Variable(
                tf.ones([cond_dim], tf.float32), trainable=False, name="anchor_keep"
            )

    def trainable_weights_of_both(self) -> list:
        """D's trainable variables, then G's: the order of the probe's masks and its optimiser's."""
        return list(self.discriminator.trainable_variables) + list(self.generator.trainable_variables)

    def build_optimizers(self):
        """Create optimiser slots now, so a checkpoint can restore into them."""
        self.g_optimizer.build(self.generator.trainable_variables)
        self.d_optimizer.build(self.discriminator.trainable_variables)
        if self.probe_optimizer is not None:
            self.probe_optimizer.build(self.trainable_weights_of_both())

    def network_variables(self) -> dict[str, dict]:
        """{part: {variable path: variable}} of G, D, G's moving average and both Adam optimisers: the
        checkpoint's network entries, and what fine-tuning copies by path from a source model. Keras 3
        networks and optimisers are not fully tracked by tf.train.Checkpoint (Adam's moments were
        silently left out), so their variables are listed explicitly, keyed by variable path."""
        return {
            "generator": variables_by_path(self.generator.variables),
            "discriminator": variables_by_path(self.discriminator.variables),
            **({"generator_ema": self.ema_by_path()} if self.generator_ema else {}),
            "g_optimizer": variables_by_path(self.g_optimizer.variables),
            "d_optimizer": variables_by_path(self.d_optimizer.variables),
            **(
                {
                    "anchor_generator": variables_by_path(self.anchor_generator.variables),
                    "anchor_keep": {"keep": self.anchor_keep},
                }
                if self.anchor_generator is not None
                else {}
            ),
            **(
                {
                    "probe_masks": dict(self.probe_masks),
                    "probe_optimizer": variables_by_path(self.probe_optimizer.variables),
                }
                if self.probe_optimizer is not None
                else {}
            ),
        }

    def training_checkpoint(self) -> tf.train.Checkpoint:
        """Everything to resume exactly: the networks' variables and the training state."""
        return tf.train.Checkpoint(**self.network_variables(), **self.state.variables())

    def ema_by_path(self) -> dict:
        """{generator variable path: its moving average}, the checkpoint key of the EMA."""
        return dict(zip(variables_by_path(self.generator.weights), self.generator_ema))

    def sampling_weights(self) -> list:
        """G's weights for samples, evaluation and export: the EMA when it is on."""
        return [v.numpy() for v in self.generator_ema] if self.generator_ema else self.generator.get_weights()

    def _update_ema(self):
        decay = losses.ema_decay_at(self.state.step, self.config.ema_decay)
        trainable = {id(v) for v in self.generator.trainable_weights}
        for average, w in zip(self.generator_ema, self.generator.weights):
            value = tf.cast(w, tf.float32)
            average.assign(decay * average + (1.0 - decay) * value if id(w) in trainable else value)

    def _wrong_conditions(self, index, wrong_u):
        """Tags that differ from each image's own: a uniformly drawn other combo."""
        own = tf.gather(self.combo_of_row, index)
        r = tf.cast(tf.floor(wrong_u * (self.n_combos - 1)), tf.int32)
        r = tf.minimum(r, self.n_combos - 2)
        wrong = r + tf.cast(r >= own, tf.int32)
        return tf.gather(self.combo_conditions, wrong)

    def train_step(self, batch, probe: bool = False):
        """One update of G and D; with `probe`, only the entries the probe's masks mark move."""
        b = Batch(*batch)
        replica = tf.distribute.get_replica_context()
        n_replicas = tf.cast(replica.num_replicas_in_sync, tf.float32)
        if self.residuals:
            carry = tf.maximum(0.0, 1.0 - tf.cast(self.state.step, tf.float32) / self.config.vanishing_steps)
            for layer in self.residuals:
                layer.carry.assign(carry)

        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            t = self._step_losses(b)
            # Gradients are summed over replicas: scale so the update is the global-batch mean.
            d_scaled = t["d_loss"] / n_replicas
            g_scaled = t["g_loss"] / n_replicas

        d_vars = self.discriminator.trainable_variables
        g_vars = self.generator.trainable_variables
        d_grads = d_tape.gradient(d_scaled, d_vars)
        g_grads = g_tape.gradient(g_scaled, g_vars)
        if probe:
            both = d_vars + g_vars
            masks = [self.probe_masks[p] for p in variables_by_path(both)]
            grads = [
                tf.zeros_like(v) if g is None else g * tf.cast(m, g.dtype)
                for g, m, v in zip(d_grads + g_grads, masks, both)
            ]
            self.probe_optimizer.apply_gradients(zip(grads, both))
        body_scale = self.config.probe_body_lr_scale if probe else 1.0
        if body_scale > 0:  # (while probing, at a fraction of the rate; the rate is back after the update)
            if probe:
                self._body_rates(body_scale)
            self.d_optimizer.apply_gradients(zip(d_grads, d_vars))
            self.g_optimizer.apply_gradients(zip(g_grads, g_vars))
            if probe:
                self._body_rates(1.0)
        if self.generator_ema:
            self._update_ema()
        return self._update_control_state(b, t, replica)

    def _step_losses(self, b: Batch) -> dict:
        """Every loss of one step (per-image where the filter needs them), inside the tapes."""
        cfg = self.config
        g_inputs = [b.z, b.cond, b.eps] if cfg.cond_augment else [b.z, b.cond]
        fake = self.generator(g_inputs, training=True)
        t = self._discriminate(b, fake)
        wrong_weight = losses.warmup_weight(
            self.state.k if self.wrong_is_k else self.wrong_weight, self.state.step, cfg.wrong_warmup
        )
        t["d_loss"] = losses.discriminator_loss(
            t["loss_real"], t["loss_fake"], t["wrong_term"], self.state.k, wrong_weight, t["kept"]
        )
        t["g_loss"] = losses.generator_loss(
            t["loss_fake"], losses.out_of_bound(fake), cfg.oob_weight, cfg.g_recon_weight
        )
        # k_scope "game": k_t also sets how hard G follows the heads and the mode-seeking term, so at k_t = 0
        # G is BEGAN's alone (the lowest L(G(z))/L(x)) and the one controller finds the balance for any gamma.
        g_gain = losses.head_gain(self.state.k, cfg.head_floor) if cfg.k_scope == "game" else 1.0
        if self.n_other:  # the other tags: D reads them at a fixed weight; G at that weight or at k_t's say
            t["d_loss"] += cfg.other_tag_weight * t["other_real"]
            pull = cfg.other_tag_pull * g_gain if cfg.other_tag_pull > 0 else cfg.other_tag_weight
            t["g_loss"] += pull * t["other_fake"]
        for weight, d_term, g_term in (
            (cfg.aux_weight, "aux_real", "aux_fake"),
            (cfg.projection_weight, "adv_d", "adv_g"),
        ):
            if weight > 0:
                weight = losses.warmup_weight(weight, self.state.step, cfg.head_warmup)
                t["d_loss"] += weight * t[d_term]
                t["g_loss"] += weight * g_gain * t[g_term]
        t["diversity"] = t["kl"] = tf.constant(0.0)
        if cfg.diversity_weight > 0:
            half = tf.shape(b.images)[0] // 2
            pair_inputs = (
                [b.z2[:half], b.cond[:half], b.eps[:half]]
                if cfg.cond_augment
                else [b.z2[:half], b.cond[:half]]
            )
            fake_pair = self.generator(pair_inputs, training=True)
            t["diversity"] = losses.mode_seeking(fake[:half], fake_pair, b.z[:half], b.z2[:half])
            ms_gain = self.state.k if cfg.diversity_by_k else g_gain
            t["g_loss"] += cfg.diversity_weight * ms_gain * t["diversity"]
        t["anchor"] = tf.constant(0.0)
        if self.anchor_generator is not None and cfg.anchor_weight > 0:
            t["anchor"] = self._anchor_loss(b)
            t["g_loss"] += cfg.anchor_weight * t["anchor"]
        if cfg.cond_augment:
            _, mu, log_sigma = self.generator.get_layer("g_embed")(b.cond, b.eps)
            t["kl"] = losses.kl_to_standard_normal(mu, log_sigma)
            t["g_loss"] += cfg.ca_kl_weight * t["kl"]
        return t

    def _anchor_loss(self, b: Batch):
        """Mean |G(z, c) - G_anchor(z, c)| on the first half of the batch, with c its tags minus the new
        ones: for the source's tags G keeps drawing what the source drew, while the new tags' inputs
        (which the anchor lacks) and the rest of G learn the new tags."""
        half = tf.maximum(tf.shape(b.images)[0] // 2, 1)
        kept_tags = b.cond[:half] * self.anchor_keep
        inputs = [b.z[:half], kept_tags] + ([b.eps[:half]] if self.config.cond_augment else [])
        drawn = self.generator(inputs, training=True)
        target = tf.stop_gradient(self.anchor_generator(inputs, training=False))
        return tf.reduce_mean(tf.abs(tf.cast(drawn, tf.float32) - tf.cast(target, tf.float32)))

    def _discriminate(self, b: Batch, fake) -> dict:
        """D's view of the step: reconstruction losses (real, wrong tags, fake), the
        filter's keep mask and the heads' losses. The encoder never sees the tags,
        so each real image is encoded once and decoded under its right and its
        wrong tags; the fakes go through D in their own call, so G's gradient
        only flows back through B images. With --augment, D only ever sees
        augmented images, real and fake alike (DiffAugment)."""
        cfg = self.config
        n = tf.shape(b.images)[0]
        seen_real, seen_fake = b.images, fake
        seed = tf.stack([tf.constant(cfg.seed, tf.int64), self.state.step * 2])
        if cfg.augment:
            seen_real = diff_augment(b.images, cfg.augment, seed)
            seen_fake = diff_augment(fake, cfg.augment, seed + tf.constant([0, 1], tf.int64))
        elif self.adaptive:  # each image on its own draw, real and fake alike
            seen_real = adaptive_augment(b.images, self.state.augment_p, seed)
            seen_fake = adaptive_augment(fake, self.state.augment_p, seed + tf.constant([0, 1], tf.int64))
        h_real, features_real = self.encoder(seen_real, training=True)
        h_fake, features_fake = self.encoder(seen_fake, training=True)
        has_wrong = self.n_combos > 1
        if has_wrong:
            wrong_cond = self._wrong_conditions(b.index, b.wrong_u)
            recon_real = self.decoder(
                [tf.concat([h_real, h_real], 0), tf.concat([b.cond, wrong_cond], 0)], training=True
            )
            per_image_real = losses.reconstruction_loss(tf.concat([seen_real, seen_real], 0), recon_real)
        else:
            per_image_real = losses.reconstruction_loss(
                seen_real, self.decoder([h_real, b.cond], training=True)
            )
        t = {
            "loss_real": per_image_real[:n],
            "loss_fake": losses.reconstruction_loss(seen_fake, self.decoder([h_fake, b.cond], training=True)),
        }
        t["kept"] = keep_mask(t["loss_real"], self.state.threshold)
        if has_wrong:
            t["loss_wrong"] = per_image_real[n:]
            t["wrong_term"] = losses.wrong_condition_term(
                cfg.wrong_form, t["loss_wrong"], t["loss_real"], cfg.wrong_cap
            )
        else:
            t["loss_wrong"] = t["wrong_term"] = tf.zeros_like(t["loss_real"])
        t["aux_real"] = t["aux_fake"] = t["adv_d"] = t["adv_g"] = tf.constant(0.0)
        t["other_real"] = t["other_fake"] = tf.constant(0.0)
        if self.aux_layer is not None:
            labels = tf.gather(self.labels_of_row, b.index)
            logits_real, logits_fake = self.aux_layer(h_real), self.aux_layer(h_fake)
            t["aux_real"] = losses.tag_classification_loss(logits_real, labels, self.group_sizes, t["kept"])
            t["aux_fake"] = losses.tag_classification_loss(logits_fake, labels, self.group_sizes)
            if self.n_other:  # the other tags: the last n_other logits, against the batch's own tags
                t["other_real"] = losses.other_tag_loss(
                    logits_real[:, -self.n_other :], b.cond[:, -self.n_other :], t["kept"]
                )
                t["other_fake"] = losses.other_tag_loss(
                    logits_fake[:, -self.n_other :], b.cond[:, -self.n_other :]
                )
        if self.projection is not None:
            score_fake = self.projection(features_fake, b.cond)
            fake_weight = self.state.k if cfg.k_scope in ("all", "game") else 1.0
            t["adv_d"] = losses.hinge_discriminator_loss(
                self.projection(features_real, b.cond), score_fake, t["kept"], fake_weight
            )
            t["adv_g"] = losses.hinge_generator_loss(score_fake)
        return t

    def _update_control_state(self, b: Batch, t: dict, replica) -> dict:
        """k_t, the M window and the filter statistics from the global (all-replica)
        batch means; returns the step's logged values."""
        cfg = self.config
        mean = lambda x: replica.all_reduce(tf.distribute.ReduceOp.MEAN, x)  # noqa: E731
        loss_real, kept = t["loss_real"], t["kept"]
        real_mean = mean(losses.masked_mean(loss_real, kept))
        fake_mean = mean(tf.reduce_mean(t["loss_fake"]))
        m = losses.convergence_measure(real_mean, fake_mean, cfg.gamma)
        self.state.k.assign(losses.k_update(self.state.k, real_mean, fake_mean, cfg.gamma, cfg.lambda_k))
        self.state.m_sum.assign_add(m)
        self.state.m_count.assign_add(1.0)
        loss_real_f = tf.cast(loss_real, tf.float32)
        self.state.real_sum.assign_add(replica.all_reduce("sum", tf.reduce_sum(loss_real_f)))
        self.state.real_sq_sum.assign_add(replica.all_reduce("sum", tf.reduce_sum(tf.square(loss_real_f))))
        self.state.real_count.assign_add(
            replica.all_reduce("sum", tf.cast(tf.shape(b.images)[0], tf.float32))
        )
        self.state.step.assign_add(1)
        self.state.batch_in_epoch.assign_add(1)
        return {
            "d_loss": mean(t["d_loss"]),
            "g_loss": mean(t["g_loss"]),
            "loss_real": real_mean,
            "loss_fake": fake_mean,
            "loss_wrong": mean(tf.reduce_mean(t["loss_wrong"])),
            "loss_aux": mean(t["aux_real"]),
            "loss_aux_fake": mean(t["aux_fake"]),
            "loss_other": mean(t["other_real"]),
            "loss_other_fake": mean(t["other_fake"]),
            "kl": mean(t["kl"]),
            "mode_seeking": mean(t["diversity"]),
            "anchor": mean(t["anchor"]),
            "loss_adv_d": mean(t["adv_d"]),
            "loss_adv_g": mean(t["adv_g"]),
            "k": self.state.k.read_value(),
            "M": m,
            "lr": self.state.lr.read_value(),
            "filtered": replica.all_reduce("sum", tf.reduce_sum(1.0 - kept)),
            # Per-image values (gathered by the loop) for the filter log.
            "per_image_real": loss_real_f,
            "kept": kept,
            "index": b.index,
        }

    def real_losses(self, images, cond):
        """Per-image L(x) of plain (unaugmented) real images under their own tags, in inference mode:
        what ADA's over-fitting measure compares between held-out and training faces."""
        h, _ = self.encoder(images, training=False)
        return losses.reconstruction_loss(images, self.decoder([h, cond], training=False))

    def _body_rates(self, scale: float):
        """G's and D's optimisers at `scale` x the state's rate (in the step's graph)."""
        self.g_optimizer.learning_rate.assign(self.state.lr * scale)
        self.d_optimizer.learning_rate.assign(self.state.lr * self.d_lr_ratio * scale)

    def set_learning_rate(self, lr: float):
        self.state.lr.assign(lr)
        self.g_optimizer.learning_rate.assign(lr)
        self.d_optimizer.learning_rate.assign(lr * self.d_lr_ratio)
        if self.probe_optimizer is not None:
            self.probe_optimizer.learning_rate.assign(lr * self.config.probe_lr_scale)
