"""The tag checker: a small CNN that reads hair and eye colour (and other
vocabulary tags) off a face, used to grade sample grids and to measure
tag accuracy, diversity and Frechet distance in its feature space.

    python -m model.checker train --images DIR --tags-csv CSV --out DIR
    python -m model.checker eval --checker DIR --images DIR --tags-csv CSV

It trains on the training part of the data pipeline's split and records its
accuracy on the held-out part in checker.json; a checker is only trusted to
judge samples once that accuracy is high enough (see MIN_ACCURACY). The
TFLite export lets grading run on the fast path without TensorFlow.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

CHECKER_JSON = "checker.json"
FORMAT_VERSION = 1
FEATURE_DIM = 128
MIN_ACCURACY = {"hair": 0.95, "eyes": 0.85}  # issue targets on the real set


def build_checker(image_size: int, group_sizes: list[int], n_other: int):
    """Input: float32 pixels in [0, 255] (any size, resized to image_size);
    output: one tensor [logits of each group..., other-tag logits, features]."""
    import keras
    from keras import layers

    inp = keras.Input((image_size, image_size, 3), name="image")
    x = layers.Rescaling(1 / 127.5, offset=-1.0)(inp)
    # Colour tags need little depth: a strided first layer keeps training to minutes on 2 cores.
    x = layers.Conv2D(32, 3, strides=2, padding="same", activation="relu")(x)
    for filters in (32, 64, 128):
        x = layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
        x = layers.MaxPooling2D()(x)
    # Max pooling finds small features anywhere (an iris); average pooling reads big areas (hair).
    x = layers.Concatenate()([layers.GlobalAveragePooling2D()(x), layers.GlobalMaxPooling2D()(x)])
    features = layers.Dense(FEATURE_DIM, activation="relu", name="features")(x)
    logits = layers.Dense(sum(group_sizes) + n_other, name="logits")(layers.Dropout(0.2)(features))
    out = layers.Concatenate(name="checker_out", dtype="float32")([logits, features])
    return keras.Model(inp, out, name="checker")


def _split(out: np.ndarray, group_sizes: list[int], n_other: int):
    logits, start = [], 0
    for size in group_sizes:
        logits.append(out[:, start:start + size])
        start += size
    other = out[:, start:start + n_other]
    features = out[:, start + n_other:]
    return logits, other, features


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


class Checker:
    """A loaded checker (LiteRT or Keras) with its metadata."""

    def __init__(self, meta: dict, run, backend: str):
        self.meta = meta
        self.groups: dict[str, list[str]] = meta["groups"]
        self.other_tags: list[str] = meta["other_tags"]
        self.image_size: int = meta["image_size"]
        self.backend = backend
        self._run = run

    @property
    def group_sizes(self) -> list[int]:
        return [len(v) for v in self.groups.values()]

    def _forward(self, images: np.ndarray, batch: int = 256) -> np.ndarray:
        images = np.asarray(images)
        if images.dtype != np.uint8:  # generator output in [-1, 1]
            images = np.clip(np.rint((images + 1.0) * 127.5), 0, 255)
        if images.shape[1] != self.image_size:
            from skimage.transform import resize

            images = np.stack([resize(im, (self.image_size, self.image_size), preserve_range=True,
                                      anti_aliasing=True) for im in images])
        images = images.astype(np.float32)
        outs = [self._run(images[i:i + batch]) for i in range(0, len(images), batch)]
        return np.concatenate(outs) if outs else np.zeros((0, sum(self.group_sizes) + len(self.other_tags)
                                                           + FEATURE_DIM), np.float32)

    def predict(self, images) -> dict[str, np.ndarray]:
        """{group: probabilities [n, values]} (+ "other": sigmoid probabilities)."""
        logits, other, _ = _split(self._forward(images), self.group_sizes, len(self.other_tags))
        out = {g: _softmax(l) for g, l in zip(self.groups, logits)}
        if self.other_tags:
            out["other"] = 1.0 / (1.0 + np.exp(-other))
        return out

    def predict_and_features(self, images):
        raw = self._forward(images)
        logits, _, features = _split(raw, self.group_sizes, len(self.other_tags))
        return {g: _softmax(l) for g, l in zip(self.groups, logits)}, features

    def features(self, images) -> np.ndarray:
        return _split(self._forward(images), self.group_sizes, len(self.other_tags))[2]


def save_checker(model, meta: dict, out_dir: Path) -> None:
    from model.tflite import convert

    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_weights(str(out_dir / "checker.weights.h5"))
    convert(model, out_dir / "checker.tflite")
    (out_dir / CHECKER_JSON).write_text(json.dumps(meta, indent=1) + "\n")


def find_checker_dir(path: str | Path) -> Path | None:
    path = Path(path)
    for candidate in (path, path / "export", path / "checker"):
        if (candidate / CHECKER_JSON).exists():
            return candidate
    return None


def load_checker(path: str | Path, backend: str = "auto") -> Checker:
    from model.runtime import ModelError

    folder = find_checker_dir(path)
    if folder is None:
        raise ModelError(f"no tag checker (checker.json) in {path}; train one with "
                         "python -m model.checker train --images DIR --tags-csv CSV --out " + str(path))
    meta = json.loads((folder / CHECKER_JSON).read_text())
    if meta.get("format_version") != FORMAT_VERSION:
        raise ModelError(f"{folder / CHECKER_JSON} has an unknown format_version; retrain the checker")
    tflite = folder / "checker.tflite"
    if backend == "auto":
        backend = "litert" if tflite.exists() else "tensorflow"
    if backend == "litert":
        from model.tflite import TFLiteRunner

        runner = TFLiteRunner(tflite)
        return Checker(meta, lambda x: runner.run({"image": x}), "litert")
    from model import precision

    with precision.float32_policy():
        model = build_checker(meta["image_size"], [len(v) for v in meta["groups"].values()],
                              len(meta["other_tags"]))
    model.load_weights(str(folder / "checker.weights.h5"))
    return Checker(meta, lambda x: model(x, training=False).numpy(), "tensorflow")


def train_checker(data, *, epochs: int = 4, batch_size: int = 64, seed: int = 0, image_size: int = 64,
                  progress: bool = True, lr: float = 2e-3):
    """Train on data.train_indices(); returns (keras model, meta with held-out accuracy)."""
    import keras
    import tensorflow as tf

    from model import precision

    keras.utils.set_random_seed(seed)
    vocab = data.vocab
    groups = vocab.groups
    sizes = [len(v) for v in groups.values()]
    n_other = len(vocab.other_tags)
    other_start = sum(len(v) for v in groups.values()) if vocab.mode == "onehot" else None
    with precision.float32_policy():
        model = build_checker(image_size, sizes, n_other)
    train = data.train_indices()
    held = data.holdout_indices()
    if len(held) == 0:
        held = train  # tiny data sets: report training accuracy, flagged in the meta
    optimizer = keras.optimizers.Adam(lr)

    def targets(rows):
        labels = data.labels[rows]
        other = (data.conditions[rows, other_start:other_start + n_other] if (n_other and other_start is not None)
                 else np.zeros((len(rows), n_other), np.float32))
        return labels, other

    def resize(images):
        if images.shape[1] == image_size:
            return images
        return tf.image.resize(images, (image_size, image_size), method="area")

    @tf.function
    def step(images, labels, other):
        with tf.GradientTape() as tape:
            out = model(images, training=True)
            loss, start = 0.0, 0
            for g, size in enumerate(sizes):
                loss += tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
                    labels=labels[:, g], logits=out[:, start:start + size]))
                start += size
            if n_other:
                loss += tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(
                    labels=other, logits=out[:, start:start + n_other]))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    from tqdm import tqdm

    rng = np.random.default_rng(seed)
    steps_per_epoch = max(1, len(train) // batch_size)
    bar = tqdm(total=epochs * steps_per_epoch, desc="training checker", disable=not progress, file=sys.stderr)
    t0 = time.perf_counter()
    for epoch in range(epochs):
        optimizer.learning_rate.assign(lr * (0.5 ** max(0, epoch - epochs // 2)))
        order = rng.permutation(train)
        for i in range(steps_per_epoch):
            rows = np.sort(order[i * batch_size:(i + 1) * batch_size])
            images = data.images[rows].astype(np.float32)
            flip = rng.random(len(rows)) < 0.5
            images[flip] = images[flip, :, ::-1]
            labels, other = targets(rows)
            loss = step(resize(tf.constant(images)), tf.constant(labels), tf.constant(other, tf.float32))
            bar.update(1)
            if i % 20 == 0:
                bar.set_postfix_str(f"loss {float(loss):.3f}")
    bar.close()
    meta = {"format_version": FORMAT_VERSION, "image_size": image_size, "groups": groups,
            "other_tags": list(vocab.other_tags), "feature_dim": FEATURE_DIM,
            "train_images": int(len(train)), "train_seconds": round(time.perf_counter() - t0, 1),
            "epochs": epochs, "seed": seed}
    checker = Checker(meta, lambda x: model(resize(tf.constant(x)), training=False).numpy(), "tensorflow")
    meta["heldout_accuracy"] = evaluate(checker, data, held)
    meta["heldout_images"] = int(len(held))
    meta["heldout_is_training_data"] = bool(len(data.holdout_indices()) == 0)
    return model, meta


def evaluate(checker: Checker, data, rows) -> dict[str, float]:
    """Accuracy per group on data rows (labels in the data's vocabulary order)."""
    probs = checker.predict(data.images[rows])
    out = {}
    for g_index, (group, values) in enumerate(checker.groups.items()):
        data_values = data.vocab.groups[group]
        predicted = np.array(values)[probs[group].argmax(1)]
        truth = np.array(data_values)[data.labels[rows, g_index]]
        out[group] = round(float((predicted == truth).mean()), 4)
    return out


def grade(checker: Checker, images, tagsets) -> tuple[list[list[bool]], dict[str, float]]:
    """Per cell, per group: does the checker read the requested value?"""
    probs = checker.predict(images)
    marks, correct = [], {g: 0 for g in checker.groups}
    for i, tagset in enumerate(tagsets):
        row = []
        for group, values in checker.groups.items():
            ok = values[int(probs[group][i].argmax())] == tagset.get(group)
            row.append(bool(ok))
            correct[group] += ok
        marks.append(row)
    n = max(len(tagsets), 1)
    return marks, {g: c / n for g, c in correct.items()}


def grade_cells(model_dir, cells, tagsets):
    """generate.py --grade: (per-cell marks, accuracy per group) with the
    checker stored beside the model."""
    checker = load_checker(model_dir)
    return grade(checker, np.asarray(cells), tagsets)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m model.checker", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="train a checker", formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    e = sub.add_parser("eval", help="held-out accuracy of a checker",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    for p in (t, e):
        p.add_argument("--images", required=True)
        p.add_argument("--tags-csv", required=True)
        p.add_argument("--tag-format", default="auto")
        p.add_argument("--holdout", type=float, default=0.1)
        p.add_argument("--cache-dir", default=None)
        p.add_argument("--seed", type=int, default=0)
    t.add_argument("--out", required=True, help="folder for checker.json / .weights.h5 / .tflite "
                                                "(e.g. a model directory)")
    t.add_argument("--vocab", default=None, help="use this vocab.json (the model's) for the data")
    t.add_argument("--epochs", type=int, default=4)
    t.add_argument("--batch-size", type=int, default=64)
    t.add_argument("--image-size", type=int, default=64)
    e.add_argument("--checker", required=True)
    args = parser.parse_args(argv)

    from model.runtime import ModelError
    from preprocess.cache import build_or_load
    from tags import TagError
    from tags.vocab import Vocabulary

    try:
        vocab = Vocabulary.load(args.vocab) if getattr(args, "vocab", None) else None
        if args.command == "eval":
            checker = load_checker(args.checker)
            data = build_or_load(args.images, args.tags_csv, tag_format=args.tag_format,
                                 size=checker.image_size, cache_dir=args.cache_dir, holdout=args.holdout,
                                 seed=args.seed)
            acc = evaluate(checker, data, data.holdout_indices())
            print(json.dumps({"heldout_accuracy": acc, "heldout_images": int(len(data.holdout_indices()))}))
            return 0
        data = build_or_load(args.images, args.tags_csv, tag_format=args.tag_format, size=args.image_size,
                             cache_dir=args.cache_dir, holdout=args.holdout, seed=args.seed, vocab=vocab)
        model, meta = train_checker(data, epochs=args.epochs, batch_size=args.batch_size, seed=args.seed,
                                    image_size=args.image_size)
        meta["tags_csv"] = str(args.tags_csv)
        save_checker(model, meta, Path(args.out))
    except (TagError, ModelError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    acc = meta["heldout_accuracy"]
    print("held-out accuracy: " + ", ".join(f"{g} {a:.4f}" for g, a in acc.items())
          + f" ({meta['heldout_images']} images); saved to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
