"""BEGAN networks (Berthelot et al. 2017) with a tag condition.

Generator = decoder; discriminator = encoder + decoder (an autoencoder).
The condition embedding sits beside z at G's input and beside h at D's
bottleneck, each followed by a dense layer; with `cond_every_scale` the
embedding is also tiled and concatenated at every decoder scale, which gives
colour a direct path to the pixels (a plain bottleneck lets D's autoencoder
ignore the tags). Upsampling uses `Resizing(interpolation="nearest")` because
it converts to TFLite builtins (UpSampling2D + conv needs Flex ops).
"""

from __future__ import annotations

import keras
from keras import layers

from model.config import TrainConfig


class VanishingResidual(layers.Layer):
    """carry * shortcut + (1 - carry) * x; carry goes 1 -> 0 over training.

    `carry` is a non-trainable weight set by the trainer each step, so it is
    saved with checkpoints and exported models see its final value.
    """

    def build(self, input_shape):
        self.carry = self.add_weight(
            name="carry", shape=(), initializer="ones", trainable=False, dtype="float32"
        )

    def call(self, inputs):
        shortcut, x = inputs
        carry = keras.ops.cast(self.carry, x.dtype)
        return carry * shortcut + (1.0 - carry) * x


class ConditionEmbedding(layers.Layer):
    """Dense embedding of the tag vector; with conditioning augmentation
    (StackGAN) it returns mu + sigma * eps and keeps mu, log-sigma for the KL.
    Always returns (c, mu, log_sigma); without augmentation c = mu, log_sigma = 0."""

    def __init__(self, embed_dim: int, augment: bool, **kwargs):
        super().__init__(**kwargs)
        self.embed_dim = embed_dim
        self.augment = augment
        self.dense = layers.Dense(embed_dim * (2 if augment else 1), name="dense")

    def call(self, cond, eps=None):
        out = self.dense(cond)
        if not self.augment:
            return out, out, keras.ops.zeros_like(out)
        mu, log_sigma = out[:, : self.embed_dim], out[:, self.embed_dim :]
        log_sigma = keras.ops.clip(log_sigma, -5.0, 2.0)
        c = mu + keras.ops.exp(log_sigma) * keras.ops.cast(eps, mu.dtype)
        return c, mu, log_sigma


def _conv(filters: int, name: str, strides: int = 1) -> layers.Layer:
    return layers.Conv2D(filters, 3, strides=strides, padding="same", activation="elu", name=name)


def _tile(embedding, size: int):
    """Broadcast a [B, E] embedding to a [B, size, size, E] map."""
    e = layers.Reshape((1, 1, embedding.shape[-1]))(embedding)
    return layers.Resizing(size, size, interpolation="nearest")(e)


def _decoder(config: TrainConfig, h, embedding, prefix: str):
    """8x8xn -> image; shared by G and by D's decoder (separate weights)."""
    n = config.filters
    x = layers.Dense(8 * 8 * n, name=f"{prefix}_dense_in")(h)
    h0 = layers.Reshape((8, 8, n), name=f"{prefix}_h0")(x)
    x = h0
    size = 8
    for level in range(config.levels + 1):
        if level > 0:
            size *= 2
            x = layers.Resizing(size, size, interpolation="nearest", name=f"{prefix}_up{level}")(x)
            if config.skip:
                skip = layers.Resizing(size, size, interpolation="nearest", name=f"{prefix}_skip{level}")(h0)
                x = layers.Concatenate(name=f"{prefix}_skipcat{level}")([x, skip])
        if config.cond_every_scale and embedding is not None:
            x = layers.Concatenate(name=f"{prefix}_condcat{level}")([x, _tile(embedding, size)])
        first = x = _conv(n, f"{prefix}_conv{level}_0")(x)
        for r in range(1, config.repeats):
            x = _conv(n, f"{prefix}_conv{level}_{r}")(x)
        if config.vanishing_residual and config.repeats > 1:
            x = VanishingResidual(name=f"{prefix}_vres{level}")([first, x])
    return layers.Conv2D(3, 3, padding="same", dtype="float32", name=f"{prefix}_rgb")(x)


def build_generator(config: TrainConfig, cond_dim: int) -> keras.Model:
    """G(z, cond[, eps]) -> image in about [-1, 1] (float32 output).

    The KL term of conditioning augmentation needs mu and log-sigma: call
    `generator.get_layer("g_embed")(cond, eps)` rather than widening the
    output, so the exported model has exactly one output.
    """
    z = keras.Input((config.nz,), name="z")
    cond = keras.Input((cond_dim,), name="cond")
    inputs = [z, cond]
    eps = None
    if config.cond_augment:
        eps = keras.Input((config.embed_dim,), name="eps")
        inputs.append(eps)
    embedding, _, _ = ConditionEmbedding(config.embed_dim, config.cond_augment, name="g_embed")(cond, eps)
    h = layers.Concatenate(name="g_zcat")([z, embedding])
    h = layers.Dense(config.nz, name="g_mix")(h)
    image = _decoder(config, h, embedding, "g")
    return keras.Model(inputs, image, name="generator")


def build_discriminator(config: TrainConfig, cond_dim: int, aux_units: int = 0) -> keras.Model:
    """D(x, cond) -> [reconstruction, aux tag logits (if aux_units), projection score (if on)].

    Encoder: 3x3 conv + ELU per level, filters n, 2n, 3n, ... growing with
    each stride-2 downsampling, dense to h in R^Nh (no nonlinearity). The
    encoder never sees the condition, so it is its own sub-model
    (`get_layer("d_encoder")`): the trainer encodes a real image once and
    decodes it under its right and wrong tags (`get_layer("d_decoder")`).
    The auxiliary tag head reads h, before the condition is mixed in, so it
    learns what the image looks like rather than the tags. The projection
    head (Miyato & Koyama 2018) scores (x, c) as psi(phi(x)) + <E c, phi(x)>
    with phi the mean-pooled last encoder features; it gives D a hinge
    adversarial signal beside the reconstruction loss.
    """
    encoder = build_encoder(config)
    decoder = build_d_decoder(config, cond_dim)
    image = keras.Input((config.image_size, config.image_size, 3), name="image")
    cond = keras.Input((cond_dim,), name="cond")
    h, features = encoder(image)
    outputs = [decoder([h, cond])]
    if aux_units:
        outputs.append(aux_head(aux_units)(h))
    if config.projection_weight > 0:
        outputs.append(ProjectionHead(name="d_projection")(features, cond))
    return keras.Model([image, cond], outputs, name="discriminator")


def build_reconstructor(config: TrainConfig, cond_dim: int) -> keras.Model:
    """D's autoencoder without its heads: (image, cond) -> reconstruction. Its
    layers are named as D's, so D's weights load into it; best-of-K sampling
    scores a face by how well this reconstructs it under the asked tags."""
    image = keras.Input((config.image_size, config.image_size, 3), name="image")
    cond = keras.Input((cond_dim,), name="cond")
    h, _ = build_encoder(config)(image)
    return keras.Model([image, cond], build_d_decoder(config, cond_dim)([h, cond]), name="reconstructor")


def build_encoder(config: TrainConfig) -> keras.Model:
    """image -> (h in R^Nh, sum-pooled last-level features)."""
    n = config.filters
    image = keras.Input((config.image_size, config.image_size, 3), name="image")
    x = _conv(n, "d_conv_in")(image)
    for level in range(config.levels + 1):
        width = n * (level + 1)
        for r in range(config.repeats):
            x = _conv(width, f"d_enc{level}_{r}")(x)
        if level < config.levels:
            x = _conv(n * (level + 2), f"d_down{level}", strides=2)(x)
    features = layers.GlobalAveragePooling2D(name="d_pool")(x)
    x = layers.Flatten(name="d_flat")(x)
    h = layers.Dense(config.nz, name="d_h")(x)
    return keras.Model(image, [h, features], name="d_encoder")


def build_d_decoder(config: TrainConfig, cond_dim: int) -> keras.Model:
    """(h, cond) -> reconstruction: the condition joins h at the bottleneck."""
    h = keras.Input((config.nz,), name="h")
    cond = keras.Input((cond_dim,), name="cond")
    embedding = layers.Dense(config.embed_dim, name="d_embed")(cond)
    hc = layers.Concatenate(name="d_hcat")([h, embedding])
    hc = layers.Dense(config.nz, name="d_mix")(hc)
    return keras.Model([h, cond], _decoder(config, hc, embedding, "d"), name="d_decoder")


def aux_head(units: int) -> layers.Layer:
    return layers.Dense(units, dtype="float32", name="d_aux")


class ProjectionHead(layers.Layer):
    """psi(phi) + <E c, phi>: the projection discriminator's conditional score (float32)."""

    def __init__(self, **kwargs):
        super().__init__(dtype="float32", **kwargs)
        self.psi = layers.Dense(1, name="psi", dtype="float32")
        self.embed = layers.Dense(None or 1, use_bias=False, name="embed", dtype="float32")

    def build(self, features_shape, cond_shape):
        width = int(features_shape[-1])
        self.embed.units = width
        self.psi.build(features_shape)
        self.embed.build(cond_shape)

    def call(self, features, cond):
        features = keras.ops.cast(features, "float32")
        cond = keras.ops.cast(cond, "float32")
        return keras.ops.squeeze(self.psi(features), -1) + keras.ops.sum(self.embed(cond) * features, axis=-1)
