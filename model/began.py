"""The conditional BEGAN update: one `train_step` to read top to bottom.

`CondBEGAN` owns the two networks, their Adam optimisers and every piece of
training state that must survive a resume (k_t, learning rate, windowed M,
plateau counters, filter threshold and running real-loss statistics, step
and epoch position). All of it is tracked by `tf.train.Checkpoint`.
"""
from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from model import losses
from model.augment import diff_augment
from model.config import TrainConfig
from model.networks import VanishingResidual, build_discriminator, build_generator
from model.real_filter import NO_THRESHOLD, keep_mask


def _state(name, value, dtype=tf.float32):
    # ONLY_FIRST_REPLICA: every replica assigns the same (all-reduced) value.
    return tf.Variable(value, dtype=dtype, trainable=False, name=name,
                       aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)


def _variables_by_path(variables) -> dict:
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
        self.d_optimizer = keras.optimizers.Adam(config.lr_d or config.lr, beta_1=config.beta1, name="d_adam")
        self.d_lr_ratio = (config.lr_d / config.lr) if config.lr_d else 1.0
        self.encoder = self.discriminator.get_layer("d_encoder")
        self.decoder = self.discriminator.get_layer("d_decoder")
        self.aux_layer = self.discriminator.get_layer("d_aux") if aux_units else None
        self.projection = self.discriminator.get_layer("d_projection") if config.projection_weight > 0 else None
        # Moving average of G's weights (float32), used for samples, evaluation and export.
        self.generator_ema = ([tf.Variable(tf.cast(w, tf.float32), trainable=False,
                                           name="ema_" + w.name) for w in self.generator.weights]
                              if config.ema_decay > 0 else [])
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
            generator=_variables_by_path(self.generator.variables),
            discriminator=_variables_by_path(self.discriminator.variables),
            **({"generator_ema": self.ema_by_path()} if self.generator_ema else {}),
            g_optimizer=_variables_by_path(self.g_optimizer.variables),
            d_optimizer=_variables_by_path(self.d_optimizer.variables),
            k=self.k, lr=self.lr, step=self.step, epoch=self.epoch,
            batch_in_epoch=self.batch_in_epoch, m_sum=self.m_sum, m_count=self.m_count,
            best_m=self.best_m, bad_windows=self.bad_windows, threshold=self.threshold,
            real_sum=self.real_sum, real_sq_sum=self.real_sq_sum, real_count=self.real_count,
        )

    def ema_by_path(self) -> dict:
        """{generator variable path: its moving average}, the checkpoint key of the EMA."""
        return dict(zip(_variables_by_path(self.generator.weights), self.generator_ema))

    def sampling_weights(self) -> list:
        """G's weights for samples, evaluation and export: the EMA when it is on."""
        return [v.numpy() for v in self.generator_ema] if self.generator_ema else self.generator.get_weights()

    def _update_ema(self):
        decay = losses.ema_decay_at(self.step, self.config.ema_decay)
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

    def train_step(self, batch):
        images, cond, index, z, eps, wrong_u, z2 = batch
        cfg = self.config
        replica = tf.distribute.get_replica_context()
        n_replicas = tf.cast(replica.num_replicas_in_sync, tf.float32)
        n = tf.shape(images)[0]
        if self.residuals:
            carry = tf.maximum(0.0, 1.0 - tf.cast(self.step, tf.float32) / cfg.vanishing_steps)
            for layer in self.residuals:
                layer.carry.assign(carry)
        k = self.k
        wrong_weight = losses.warmup_weight(k if self.wrong_is_k else self.wrong_weight, self.step,
                                            cfg.wrong_warmup)
        has_wrong = self.n_combos > 1
        labels = tf.gather(self.labels_of_row, index)

        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            g_inputs = [z, cond, eps] if cfg.cond_augment else [z, cond]
            fake = self.generator(g_inputs, training=True)
            seen_real, seen_fake = images, fake
            if cfg.augment:  # DiffAugment: D only ever sees augmented images, real and fake alike
                aug_seed = tf.stack([tf.constant(cfg.seed, tf.int64), self.step * 2])
                seen_real = diff_augment(images, cfg.augment, aug_seed)
                seen_fake = diff_augment(fake, cfg.augment, aug_seed + tf.constant([0, 1], tf.int64))
            # The encoder never sees the tags: encode each real image once and decode it
            # under its right and its wrong tags; the fakes go through D in their own call
            # so G's gradient only flows back through B images.
            h_real, features_real = self.encoder(seen_real, training=True)
            h_fake, features_fake = self.encoder(seen_fake, training=True)
            if has_wrong:
                wrong_cond = self._wrong_conditions(index, wrong_u)
                recon_real = self.decoder([tf.concat([h_real, h_real], 0), tf.concat([cond, wrong_cond], 0)],
                                          training=True)
                targets_real = tf.concat([seen_real, seen_real], 0)
            else:
                recon_real = self.decoder([h_real, cond], training=True)
                targets_real = seen_real
            recon_fake = self.decoder([h_fake, cond], training=True)
            per_image_real = losses.reconstruction_loss(targets_real, recon_real)
            loss_real = per_image_real[:n]
            loss_fake = losses.reconstruction_loss(seen_fake, recon_fake)
            kept = keep_mask(loss_real, self.threshold)
            if has_wrong:
                loss_wrong = per_image_real[n:]
                wrong_term = losses.capped_wrong_condition_loss(loss_wrong, loss_real, cfg.wrong_cap)
            else:
                loss_wrong = wrong_term = tf.zeros_like(loss_real)
            d_loss = losses.discriminator_loss(loss_real, loss_fake, wrong_term, k, wrong_weight, kept)
            g_loss = losses.generator_loss(loss_fake, losses.out_of_bound(fake), cfg.oob_weight)
            aux_real = aux_fake = tf.constant(0.0)
            if self.aux_layer is not None:
                aux_real = losses.tag_classification_loss(self.aux_layer(h_real), labels, self.group_sizes, kept)
                aux_fake = losses.tag_classification_loss(self.aux_layer(h_fake), labels, self.group_sizes)
                d_loss += cfg.aux_weight * aux_real
                g_loss += cfg.aux_weight * aux_fake
            adv_d = adv_g = tf.constant(0.0)
            if self.projection is not None:
                score_real = self.projection(features_real, cond)
                score_fake = self.projection(features_fake, cond)
                adv_d = losses.hinge_discriminator_loss(score_real, score_fake, kept)
                adv_g = losses.hinge_generator_loss(score_fake)
                d_loss += cfg.projection_weight * adv_d
                g_loss += cfg.projection_weight * adv_g
            diversity = tf.constant(0.0)
            if cfg.diversity_weight > 0:
                half = n // 2
                pair_inputs = [z2[:half], cond[:half], eps[:half]] if cfg.cond_augment else [z2[:half], cond[:half]]
                fake_pair = self.generator(pair_inputs, training=True)
                diversity = losses.mode_seeking(fake[:half], fake_pair, z[:half], z2[:half])
                g_loss += cfg.diversity_weight * diversity
            kl = tf.constant(0.0)
            if cfg.cond_augment:
                _, mu, log_sigma = self.generator.get_layer("g_embed")(cond, eps)
                kl = losses.kl_to_standard_normal(mu, log_sigma)
                g_loss += cfg.ca_kl_weight * kl
            # Gradients are summed over replicas: scale so the update is the global-batch mean.
            d_scaled = d_loss / n_replicas
            g_scaled = g_loss / n_replicas

        d_vars = self.discriminator.trainable_variables
        g_vars = self.generator.trainable_variables
        self.d_optimizer.apply_gradients(zip(d_tape.gradient(d_scaled, d_vars), d_vars))
        self.g_optimizer.apply_gradients(zip(g_tape.gradient(g_scaled, g_vars), g_vars))
        if self.generator_ema:
            self._update_ema()

        # Control state, from the global (all-replica) batch means.
        mean = lambda x: replica.all_reduce(tf.distribute.ReduceOp.MEAN, x)  # noqa: E731
        real_mean = mean(losses.masked_mean(loss_real, kept))
        fake_mean = mean(tf.reduce_mean(loss_fake))
        m = losses.convergence_measure(real_mean, fake_mean, cfg.gamma)
        self.k.assign(losses.k_update(k, real_mean, fake_mean, cfg.gamma, cfg.lambda_k))
        self.m_sum.assign_add(m)
        self.m_count.assign_add(1.0)
        loss_real_f = tf.cast(loss_real, tf.float32)
        self.real_sum.assign_add(replica.all_reduce("sum", tf.reduce_sum(loss_real_f)))
        self.real_sq_sum.assign_add(replica.all_reduce("sum", tf.reduce_sum(tf.square(loss_real_f))))
        self.real_count.assign_add(replica.all_reduce("sum", tf.cast(n, tf.float32)))
        self.step.assign_add(1)
        self.batch_in_epoch.assign_add(1)
        return {
            "d_loss": mean(d_loss), "g_loss": mean(g_loss),
            "loss_real": real_mean, "loss_fake": fake_mean,
            "loss_wrong": mean(tf.reduce_mean(loss_wrong)), "loss_aux": mean(aux_real),
            "loss_aux_fake": mean(aux_fake), "kl": mean(kl), "mode_seeking": mean(diversity),
            "loss_adv_d": mean(adv_d), "loss_adv_g": mean(adv_g),
            "k": self.k.read_value(), "M": m, "lr": self.lr.read_value(),
            "filtered": replica.all_reduce("sum", tf.reduce_sum(1.0 - kept)),
            # Per-image values (gathered by the loop) for the filter log.
            "per_image_real": loss_real_f, "kept": kept, "index": index,
        }

    def set_learning_rate(self, lr: float):
        self.lr.assign(lr)
        self.g_optimizer.learning_rate.assign(lr)
        self.d_optimizer.learning_rate.assign(lr * self.d_lr_ratio)
