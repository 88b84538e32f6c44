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
from model.config import TrainConfig
from model.networks import VanishingResidual, build_discriminator, build_generator
from model.real_filter import NO_THRESHOLD, keep_mask


def _state(name, value, dtype=tf.float32):
    # ONLY_FIRST_REPLICA: every replica assigns the same (all-reduced) value.
    return tf.Variable(value, dtype=dtype, trainable=False, name=name,
                       aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)


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
    def __init__(self, config: TrainConfig, cond_dim: int, group_sizes: list[int],
                 combo_of_row: np.ndarray, combo_conditions: np.ndarray, labels_of_row: np.ndarray):
        super().__init__(name="cond_began")
        self.config = config
        self.group_sizes = list(group_sizes)
        aux_units = sum(self.group_sizes) if config.aux_weight > 0 else 0
        self.generator = build_generator(config, cond_dim)
        self.discriminator = build_discriminator(config, cond_dim, aux_units=aux_units)
        self.g_optimizer = keras.optimizers.Adam(config.lr, beta_1=config.beta1, name="g_adam")
        self.d_optimizer = keras.optimizers.Adam(config.lr, beta_1=config.beta1, name="d_adam")
        # Data tables: row -> combo, combo -> condition, row -> labels (constants, not state).
        self.combo_of_row = tf.constant(combo_of_row, tf.int32)
        self.combo_conditions = tf.constant(combo_conditions, tf.float32)
        self.labels_of_row = tf.constant(labels_of_row, tf.int32)
        self.n_combos = int(combo_conditions.shape[0])
        self.wrong_is_k = config.wrong_weight == "k"
        self.wrong_weight = 0.0 if self.wrong_is_k else float(config.wrong_weight)
        self.residuals = [layer for net in (self.generator, self.discriminator)
                          for layer in net.layers if isinstance(layer, VanishingResidual)]
        # Training state, all checkpointed.
        self.k = _state("k", 0.0)
        self.lr = _state("lr", config.lr)
        self.step = _state("step", 0, tf.int64)
        self.epoch = _state("epoch", 0, tf.int64)  # epoch in progress (0-based)
        self.batch_in_epoch = _state("batch_in_epoch", 0, tf.int64)
        self.m_sum = _state("m_window_sum", 0.0)
        self.m_count = _state("m_window_count", 0.0)
        self.best_m = _state("best_m", np.inf)
        self.bad_windows = _state("bad_windows", 0, tf.int64)
        self.threshold = _state("filter_threshold", NO_THRESHOLD)
        self.real_sum = _state("epoch_real_sum", 0.0)
        self.real_sq_sum = _state("epoch_real_sq_sum", 0.0)
        self.real_count = _state("epoch_real_count", 0.0)

    def build_optimizers(self):
        """Create optimiser slots now, so a checkpoint can restore into them."""
        self.g_optimizer.build(self.generator.trainable_variables)
        self.d_optimizer.build(self.discriminator.trainable_variables)

    def training_checkpoint(self) -> tf.train.Checkpoint:
        """Everything to resume exactly. Keras 3 networks and optimisers are not
        fully tracked by tf.train.Checkpoint (Adam's moments were silently left
        out), so their variables are listed explicitly, keyed by variable path."""
        return tf.train.Checkpoint(
            generator=variables_by_path(self.generator.variables),
            discriminator=variables_by_path(self.discriminator.variables),
            g_optimizer=variables_by_path(self.g_optimizer.variables),
            d_optimizer=variables_by_path(self.d_optimizer.variables),
            k=self.k, lr=self.lr, step=self.step, epoch=self.epoch,
            batch_in_epoch=self.batch_in_epoch, m_sum=self.m_sum, m_count=self.m_count,
            best_m=self.best_m, bad_windows=self.bad_windows, threshold=self.threshold,
            real_sum=self.real_sum, real_sq_sum=self.real_sq_sum, real_count=self.real_count,
        )

    def _wrong_conditions(self, index, wrong_u):
        """Tags that differ from each image's own: a uniformly drawn other combo."""
        own = tf.gather(self.combo_of_row, index)
        r = tf.cast(tf.floor(wrong_u * (self.n_combos - 1)), tf.int32)
        r = tf.minimum(r, self.n_combos - 2)
        wrong = r + tf.cast(r >= own, tf.int32)
        return tf.gather(self.combo_conditions, wrong)

    def train_step(self, batch):
        b = Batch(*batch)
        replica = tf.distribute.get_replica_context()
        n_replicas = tf.cast(replica.num_replicas_in_sync, tf.float32)
        if self.residuals:
            carry = tf.maximum(0.0, 1.0 - tf.cast(self.step, tf.float32) / self.config.vanishing_steps)
            for layer in self.residuals:
                layer.carry.assign(carry)

        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            t = self._step_losses(b)
            # Gradients are summed over replicas: scale so the update is the global-batch mean.
            d_scaled = t["d_loss"] / n_replicas
            g_scaled = t["g_loss"] / n_replicas

        d_vars = self.discriminator.trainable_variables
        g_vars = self.generator.trainable_variables
        self.d_optimizer.apply_gradients(zip(d_tape.gradient(d_scaled, d_vars), d_vars))
        self.g_optimizer.apply_gradients(zip(g_tape.gradient(g_scaled, g_vars), g_vars))
        return self._update_control_state(b, t, replica)

    def _step_losses(self, b: Batch) -> dict:
        """Every loss of one step (per-image where the filter needs them), inside the tapes."""
        cfg = self.config
        n = tf.shape(b.images)[0]
        k = self.k
        wrong_weight = k if self.wrong_is_k else tf.constant(self.wrong_weight, tf.float32)
        has_wrong = self.n_combos > 1
        labels = tf.gather(self.labels_of_row, b.index)

        g_inputs = [b.z, b.cond, b.eps] if cfg.cond_augment else [b.z, b.cond]
        fake = self.generator(g_inputs, training=True)
        # D sees real and real-with-wrong-tags in one call (one big call is faster on
        # CPU) and the fakes in another, so G's gradient only flows back through B images.
        if has_wrong:
            wrong_cond = self._wrong_conditions(b.index, b.wrong_u)
            d_real = self.discriminator([tf.concat([b.images, b.images], 0), tf.concat([b.cond, wrong_cond], 0)],
                                        training=True)
        else:
            d_real = self.discriminator([b.images, b.cond], training=True)
        d_fake = self.discriminator([fake, b.cond], training=True)
        recon_real = d_real[0] if isinstance(d_real, (list, tuple)) else d_real
        recon_fake = d_fake[0] if isinstance(d_fake, (list, tuple)) else d_fake
        per_image_real = losses.reconstruction_loss(tf.concat([b.images, b.images], 0) if has_wrong else b.images,
                                                    recon_real)
        loss_real = per_image_real[:n]
        loss_fake = losses.reconstruction_loss(fake, recon_fake)
        kept = keep_mask(loss_real, self.threshold)
        if has_wrong:
            loss_wrong = per_image_real[n:]
            wrong_term = losses.capped_wrong_condition_loss(loss_wrong, loss_real, cfg.wrong_cap)
        else:
            loss_wrong = wrong_term = tf.zeros_like(loss_real)
        d_loss = losses.discriminator_loss(loss_real, loss_fake, wrong_term, k, wrong_weight, kept)
        g_loss = losses.generator_loss(loss_fake, losses.out_of_bound(fake), cfg.oob_weight)
        aux_real = aux_fake = tf.constant(0.0)
        if cfg.aux_weight > 0:
            aux_real = losses.tag_classification_loss(d_real[1][:n], labels, self.group_sizes, kept)
            aux_fake = losses.tag_classification_loss(d_fake[1], labels, self.group_sizes)
            d_loss += cfg.aux_weight * aux_real
            g_loss += cfg.aux_weight * aux_fake
        diversity = tf.constant(0.0)
        if cfg.diversity_weight > 0:
            half = n // 2
            pair_inputs = ([b.z2[:half], b.cond[:half], b.eps[:half]] if cfg.cond_augment
                           else [b.z2[:half], b.cond[:half]])
            fake_pair = self.generator(pair_inputs, training=True)
            diversity = losses.mode_seeking(fake[:half], fake_pair, b.z[:half], b.z2[:half])
            g_loss += cfg.diversity_weight * diversity
        kl = tf.constant(0.0)
        if cfg.cond_augment:
            _, mu, log_sigma = self.generator.get_layer("g_embed")(b.cond, b.eps)
            kl = losses.kl_to_standard_normal(mu, log_sigma)
            g_loss += cfg.ca_kl_weight * kl
        return {"d_loss": d_loss, "g_loss": g_loss, "loss_real": loss_real, "loss_fake": loss_fake,
                "loss_wrong": loss_wrong, "kept": kept, "aux_real": aux_real, "aux_fake": aux_fake,
                "diversity": diversity, "kl": kl}

    def _update_control_state(self, b: Batch, t: dict, replica) -> dict:
        """k_t, the M window and the filter statistics from the global (all-replica)
        batch means; returns the step's logged values."""
        cfg = self.config
        mean = lambda x: replica.all_reduce(tf.distribute.ReduceOp.MEAN, x)  # noqa: E731
        loss_real, kept = t["loss_real"], t["kept"]
        real_mean = mean(losses.masked_mean(loss_real, kept))
        fake_mean = mean(tf.reduce_mean(t["loss_fake"]))
        m = losses.convergence_measure(real_mean, fake_mean, cfg.gamma)
        self.k.assign(losses.k_update(self.k, real_mean, fake_mean, cfg.gamma, cfg.lambda_k))
        self.m_sum.assign_add(m)
        self.m_count.assign_add(1.0)
        loss_real_f = tf.cast(loss_real, tf.float32)
        self.real_sum.assign_add(replica.all_reduce("sum", tf.reduce_sum(loss_real_f)))
        self.real_sq_sum.assign_add(replica.all_reduce("sum", tf.reduce_sum(tf.square(loss_real_f))))
        self.real_count.assign_add(replica.all_reduce("sum", tf.cast(tf.shape(b.images)[0], tf.float32)))
        self.step.assign_add(1)
        self.batch_in_epoch.assign_add(1)
        return {
            "d_loss": mean(t["d_loss"]), "g_loss": mean(t["g_loss"]),
            "loss_real": real_mean, "loss_fake": fake_mean,
            "loss_wrong": mean(tf.reduce_mean(t["loss_wrong"])), "loss_aux": mean(t["aux_real"]),
            "loss_aux_fake": mean(t["aux_fake"]), "kl": mean(t["kl"]), "mode_seeking": mean(t["diversity"]),
            "k": self.k.read_value(), "M": m, "lr": self.lr.read_value(),
            "filtered": replica.all_reduce("sum", tf.reduce_sum(1.0 - kept)),
            # Per-image values (gathered by the loop) for the filter log.
            "per_image_real": loss_real_f, "kept": kept, "index": b.index,
        }

    def set_learning_rate(self, lr: float):
        self.lr.assign(lr)
        self.g_optimizer.learning_rate.assign(lr)
        self.d_optimizer.learning_rate.assign(lr)
