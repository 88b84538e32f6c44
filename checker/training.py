"""Training the tag checker, and its held-out accuracy.

It trains on the training part of the data pipeline's split (with mirror
flips and checker.degrade's colour-keeping blur, noise, JPEG and shifts, so
that it reads soft generated faces too) and records its accuracy on the
held-out part, clean and degraded, in checker.json.
"""

from __future__ import annotations

import sys
import time

import numpy as np

from checker import degrade
from checker.checker import (
    CONV_FILTERS,
    FEATURE_DIM,
    FORMAT_VERSION,
    Checker,
    build_checker,
    find_checker_dir,
    vocab_digest,
)
from common.cli import UserError
from sampling.export import CHECKER_JSON, CHECKER_WEIGHTS
from sampling.runtime import keras_infer


def train_checker(
    data,
    *,
    epochs: int = 4,
    batch_size: int = 64,
    seed: int = 0,
    image_size: int = 64,
    progress: bool = True,
    lr: float = 2e-3,
    robust: bool = True,
    start_from=None,
):
    """Train on data.train_indices() (flips and, when robust, the colour-keeping
    degradations of checker.degrade: blur, noise, JPEG, shifts, so that the
    reading holds on soft generated faces); returns (keras model, meta) where
    meta holds the accuracy per group on data.holdout_indices(), which
    training never sees, clean and under each degradation of ROBUSTNESS_SUITE.
    `start_from` (a checker folder) fine-tunes that checker instead of starting afresh:
    its layers are taken whole, its outputs column by column for the tags both know."""
    import keras
    from tqdm import tqdm

    from model import precision

    keras.utils.set_random_seed(seed)
    vocab = data.vocab
    sizes = [len(v) for v in vocab.groups.values()]
    source = _source_meta(start_from) if start_from is not None else None
    image_size = source[1]["image_size"] if source else image_size  # the layers it keeps were trained at it
    with precision.float32_policy():
        model = build_checker(image_size, sizes, len(vocab.other_tags))
    if source:
        _start_from(model, *source, vocab)
    train = data.train_indices()
    held = data.holdout_indices()
    if len(train) == 0:
        raise UserError("no training images for the checker")
    if len(held) == 0:
        held = train  # tiny data sets: report training accuracy, flagged in the meta
    optimizer = keras.optimizers.Adam(lr)
    step = _training_step(model, optimizer, sizes, len(vocab.other_tags))
    rng = np.random.default_rng(seed)
    batch_size = min(batch_size, len(train))
    steps_per_epoch = max(1, len(train) // batch_size)
    bar = tqdm(total=epochs * steps_per_epoch, desc="training checker", disable=not progress, file=sys.stderr)
    t0 = time.perf_counter()
    for epoch in range(epochs):
        optimizer.learning_rate.assign(lr * (0.5 ** max(0, epoch - epochs // 2)))
        for i, batch in enumerate(
            _augmented_batches(data, rng.permutation(train), batch_size, steps_per_epoch, rng, robust)
        ):
            loss = step(*batch)
            bar.update(1)
            if i % 20 == 0:
                bar.set_postfix_str(f"loss {float(loss):.3f}")
    bar.close()
    meta = {
        "format_version": FORMAT_VERSION,
        "image_size": image_size,
        "architecture": {
            "conv_filters": list(CONV_FILTERS),
            "feature_dim": FEATURE_DIM,
            "pooling": "global average + global max",
            "input": f"uint8-range pixels, any size, resized to {image_size} inside the model",
        },
        "groups": vocab.groups,
        "other_tags": list(vocab.other_tags),
        "feature_dim": FEATURE_DIM,
        "vocab_digest": vocab_digest(vocab.groups, vocab.other_tags),
        "condition_mode": vocab.mode,
        "train_images": int(len(train)),
        "train_seconds": round(time.perf_counter() - t0, 1),
        "epochs": epochs,
        "batch_size": batch_size,
        "seed": seed,
        "robust_training": robust,
    }
    checker = Checker(meta, keras_infer(model, ("image",)), "tensorflow")
    meta["heldout_accuracy"] = evaluate(checker, data, held)
    meta["heldout_accuracy_degraded"] = evaluate_degraded(checker, data, held, seed=seed)
    meta["heldout_images"] = int(len(held))
    meta["heldout_is_training_data"] = bool(len(data.holdout_indices()) == 0)
    return model, meta


def _source_meta(path):
    """(folder, checker.json) of the checker a run fine-tunes."""
    import json

    folder = find_checker_dir(path)
    if folder is None:
        raise UserError(f"no tag checker ({CHECKER_JSON}) in {path} to start from")
    return folder, json.loads((folder / CHECKER_JSON).read_text())


def _start_from(model, folder, meta: dict, vocab) -> None:
    """Copy a trained checker's weights into `model` (built for `vocab`): every layer as it is, the output
    layer by tag (a tag the source lacks keeps its fresh weights)."""
    from sampling.runtime import load_keras_weights
    from tags.vocab import Vocabulary

    source = load_keras_weights(
        lambda: build_checker(
            meta["image_size"], [len(v) for v in meta["groups"].values()], len(meta["other_tags"])
        ),
        folder / CHECKER_WEIGHTS,
        folder / CHECKER_JSON,
        "retrain the checker",
    )
    # a checker's outputs are laid out as a onehot condition: each group's values, then the other tags
    columns = Vocabulary(vocab.groups, vocab.other_tags).position_map(
        Vocabulary(meta["groups"], meta["other_tags"])
    )
    for mine, theirs in zip(model.layers, source.layers):
        weights = theirs.get_weights()
        if mine.name == "logits":
            kernel, bias = mine.get_weights()
            taken = columns >= 0
            kernel[:, taken], bias[taken] = weights[0][:, columns[taken]], weights[1][columns[taken]]
            weights = [kernel, bias]
        mine.set_weights(weights)


def _training_step(model, optimizer, sizes: list[int], n_other: int):
    """One Adam step on the summed cross-entropies: softmax per group, sigmoid per other tag."""
    import tensorflow as tf

    @tf.function(autograph=False)  # the loops and branches are on sizes, not tensors: trace, don't convert
    def step(images, labels, other):
        with tf.GradientTape() as tape:
            out = model(images, training=True)
            loss, start = 0.0, 0
            for g, size in enumerate(sizes):
                loss += tf.reduce_mean(
                    tf.nn.sparse_softmax_cross_entropy_with_logits(
                        labels=labels[:, g], logits=out[:, start : start + size]
                    )
                )
                start += size
            if n_other:
                loss += tf.reduce_mean(
                    tf.nn.sigmoid_cross_entropy_with_logits(
                        labels=other, logits=out[:, start : start + n_other]
                    )
                )
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    return step


def _augmented_batches(data, order: np.ndarray, batch_size: int, steps: int, rng, robust: bool):
    """(images, labels, other-tag targets) tensors of one epoch, half the images
    flipped and, when robust, randomly degraded (checker.degrade.random_degrade)."""
    import tensorflow as tf

    n_other = len(data.vocab.other_tags)
    for i in range(steps):
        rows = np.sort(order[i * batch_size : (i + 1) * batch_size])
        images = data.images[rows].astype(np.float32)
        flip = rng.random(len(rows)) < 0.5
        images[flip] = images[flip, :, ::-1]
        if robust:
            images = degrade.random_degrade(images.astype(np.uint8), rng).astype(np.float32)
        # the other tags are the last columns of a condition in both condition modes
        other = (
            data.conditions[rows, data.conditions.shape[1] - n_other :]
            if n_other
            else np.zeros((len(rows), 0), np.float32)
        )
        yield tf.constant(images), tf.constant(data.labels[rows]), tf.constant(other, tf.float32)


def evaluate_degraded(checker: Checker, data, rows, *, seed: int = 0) -> dict[str, dict[str, float]]:
    """Accuracy per group under each degradation of checker.degrade.ROBUSTNESS_SUITE."""
    return {
        name: evaluate(checker, data, rows, degrade.apply(data.images[rows], kind, strength, seed=seed))
        for name, (kind, strength) in degrade.ROBUSTNESS_SUITE.items()
        if kind != "none"
    }


def evaluate(checker: Checker, data, rows, images=None) -> dict[str, float]:
    """Accuracy per group on data rows (labels in the data's vocabulary order);
    `images` replaces data.images[rows] (e.g. degraded copies of them)."""
    read = checker.read_values(data.images[rows] if images is None else images)
    out = {}
    for g_index, group in enumerate(data.vocab.groups):
        if group not in read:
            continue
        truth = np.array(data.vocab.groups[group])[data.labels[rows, g_index]]
        out[group] = round(float((np.array(read[group]) == truth).mean()), 4) if len(rows) else float("nan")
    return out
