"""The tag checker: a small CNN that reads hair and eye colour (and other
vocabulary tags) off a face, used to grade sample grids and to measure
tag accuracy, diversity and Frechet distance in its feature space.

    python -m report.checker train --images DIR --tags-csv CSV --out DIR
    python -m report.checker eval --checker DIR --images DIR --tags-csv CSV

It trains on the training part of the data pipeline's split (with mirror
flips and report.degrade's colour-keeping blur, noise, JPEG and shifts, so
that it reads soft generated faces too) and records its accuracy on the
held-out part in checker.json; a checker is only trusted to judge samples once that accuracy
is high enough (see MIN_ACCURACY). The TFLite export lets grading run on the
fast path without importing TensorFlow.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np

from common import jsonio
from common.cli import ArgumentParser, DefaultsHelpFormatter, ExamplesHelpFormatter, UserError, exit_on_user_error
from common.files import atomic_write
from common.quiet import quiet_libraries
from preprocess.cache import build_or_load
from report import degrade
from sampling.export import CHECKER_FILES, CHECKER_JSON, CHECKER_TFLITE, CHECKER_WEIGHTS, ModelError
from sampling.runtime import keras_infer, load_keras_weights, open_network
from tags.vocab import Vocabulary

FORMAT_VERSION = 1
CONV_FILTERS = (32, 32, 64, 128)  # first one strided
FEATURE_DIM = 128
MIN_ACCURACY = {"hair": 0.95, "eyes": 0.85}  # issue targets on the real set


def build_checker(image_size: int, group_sizes: list[int], n_other: int):
    """Input "image": float32 pixels in [0, 255] of any size (a Resizing layer
    brings them to image_size). One output, [n, sum(group_sizes) + n_other +
    FEATURE_DIM]: the softmax logits of each group, the sigmoid logits of the
    other tags, then the penultimate features. (One concatenated output keeps
    the Keras and TFLite outputs in a known order; `Checker` splits it.)"""
    import keras
    from keras import layers

    inp = keras.Input((None, None, 3), name="image")
    # bilinear without antialiasing is a TFLite builtin and exact at the same size
    x = layers.Resizing(image_size, image_size, interpolation="bilinear", antialias=False)(inp)
    x = layers.Rescaling(1 / 127.5, offset=-1.0)(x)
    # Colour tags need little depth: a strided first layer keeps training to minutes on 2 cores.
    x = layers.Conv2D(CONV_FILTERS[0], 3, strides=2, padding="same", activation="relu")(x)
    for filters in CONV_FILTERS[1:]:
        x = layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
        x = layers.MaxPooling2D()(x)
    # Max pooling finds small features anywhere (an iris); average pooling reads big areas (hair).
    x = layers.Concatenate()([layers.GlobalAveragePooling2D()(x), layers.GlobalMaxPooling2D()(x)])
    features = layers.Dense(FEATURE_DIM, activation="relu", name="features")(x)
    logits = layers.Dense(sum(group_sizes) + n_other, name="logits")(layers.Dropout(0.2)(features))
    out = layers.Concatenate(name="checker_out", dtype="float32")([logits, features])
    return keras.Model(inp, out, name="checker")


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def as_pixels(images) -> np.ndarray:
    """float32 [n, h, w, 3] in [0, 255] from uint8 pixels, from generator
    output in [-1, 1] (any float array whose values stay within about [-1.5, 1.5]),
    or from float pixels already in [0, 255]."""
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[None]
    if images.dtype == np.uint8:
        return images.astype(np.float32)
    images = images.astype(np.float32)
    if images.size and np.abs(images).max() <= 1.5:
        images = np.rint((np.clip(images, -1.0, 1.0) + 1.0) * 127.5)
    return np.clip(images, 0.0, 255.0)


class Checker:
    """A loaded checker (LiteRT or Keras) with its metadata (checker.json)."""

    def __init__(self, meta: dict, infer, backend: str):
        self.meta = meta
        self.groups: dict[str, list[str]] = meta["groups"]
        self.other_tags: list[str] = meta["other_tags"]
        self.image_size: int = meta["image_size"]
        self.backend = backend
        self._infer = infer

    @property
    def group_sizes(self) -> list[int]:
        return [len(v) for v in self.groups.values()]

    @property
    def heldout_accuracy(self) -> dict[str, float]:
        return dict(self.meta.get("heldout_accuracy", {}))

    def _forward(self, images, batch: int = 256) -> np.ndarray:
        pixels = as_pixels(images)
        outs = [np.asarray(self._infer({"image": pixels[i:i + batch]}), np.float32)
                for i in range(0, len(pixels), batch)]
        width = sum(self.group_sizes) + len(self.other_tags) + FEATURE_DIM
        return np.concatenate(outs) if outs else np.zeros((0, width), np.float32)

    def _split(self, out: np.ndarray):
        probs, start = {}, 0
        for group, size in zip(self.groups, self.group_sizes):
            probs[group] = _softmax(out[:, start:start + size])
            start += size
        if self.other_tags:
            probs["other"] = 1.0 / (1.0 + np.exp(-out[:, start:start + len(self.other_tags)]))
        return probs, out[:, start + len(self.other_tags):]

    def predict(self, images) -> dict[str, np.ndarray]:
        """{group: softmax probabilities [n, values]} (+ "other": sigmoid
        probabilities [n, other_tags] when the vocabulary has other tags).
        `images`: uint8 pixels or generator output in [-1, 1], any size."""
        return self._split(self._forward(images))[0]

    def features(self, images) -> np.ndarray:
        """float32 [n, FEATURE_DIM]: the penultimate layer (for diversity / Frechet)."""
        return self._split(self._forward(images))[1]

    def predict_and_features(self, images):
        return self._split(self._forward(images))

    def read_values(self, images) -> dict[str, list[str]]:
        """{group: the value the checker reads off each image}."""
        return {g: [self.groups[g][i] for i in p.argmax(1)]
                for g, p in self.predict(images).items() if g in self.groups}


def vocab_digest(groups: dict, other_tags: list) -> str:
    """Short fingerprint of the tag vocabulary a checker was trained for."""
    text = json.dumps({"groups": groups, "other_tags": list(other_tags)}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def save_checker(model, meta: dict, out_dir: str | Path) -> Path:
    """checker.weights.h5 + checker.tflite + checker.json into out_dir."""
    from sampling.tflite import convert

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_weights(str(out_dir / CHECKER_WEIGHTS))
    convert(model, out_dir / CHECKER_TFLITE)
    atomic_write(out_dir / CHECKER_JSON, jsonio.dumps(meta, indent=1) + "\n")
    return out_dir


def find_checker_dir(path: str | Path) -> Path | None:
    """The folder holding checker.json: path itself, its export/ or checker/."""
    path = Path(path)
    for candidate in (path, path / "export", path / "checker"):
        if (candidate / CHECKER_JSON).exists():
            return candidate
    return None


def missing_checker_hint(path: str | Path) -> str:
    """The simplest fix for a model without a tag checker: the export that adds the checker
    its run trained with (--checker), or the bundled one's, before training a new one."""
    from model.config import ConfigError, TrainConfig

    path = Path(path)
    run = path.parent if path.name == "export" and (path.parent / "checkpoints").is_dir() else path
    try:
        trained_with = TrainConfig.load(path).checker
    except ConfigError:
        trained_with = ""
    if (run / "checkpoints").is_dir():
        checker = trained_with if trained_with and find_checker_dir(trained_with) else "models/checker"
        return (f"add one to its export: python export.py {run} --checker {checker}"
                + ("" if trained_with else " (a checker trained on the same tags)"))
    return (f"copy one beside it (the files checker.json, checker.tflite, checker.weights.h5 of models/checker) "
            f"or train one: python -m report.checker train --images DIR --tags-csv CSV --out {path}")


def load_checker(path: str | Path, backend: str = "auto") -> Checker:
    """backend auto: LiteRT when checker.tflite exists (no TensorFlow import), else Keras."""
    folder = find_checker_dir(path)
    if folder is None:
        raise ModelError(f"no tag checker ({CHECKER_JSON}) in {path}; {missing_checker_hint(path)}")
    meta_path = folder / CHECKER_JSON
    try:
        meta = json.loads(meta_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelError(f"{meta_path} is not valid JSON ({exc}); retrain the checker") from None
    if not isinstance(meta, dict) or meta.get("format_version") != FORMAT_VERSION:
        raise ModelError(f"{meta_path} has an unknown format_version; retrain the checker")

    def load_keras():
        weights = folder / CHECKER_WEIGHTS
        if not weights.exists():
            raise ModelError(f"no {CHECKER_WEIGHTS} in {folder}; retrain the checker")
        build = lambda: build_checker(meta["image_size"], [len(v) for v in meta["groups"].values()],  # noqa: E731
                                      len(meta["other_tags"]))
        return keras_infer(load_keras_weights(build, weights, meta_path, "retrain the checker"), ("image",))

    backend, infer = open_network(folder / CHECKER_TFLITE, backend, load_keras,
                                  fix="retrain the checker or use the tensorflow backend")
    return Checker(meta, infer, backend)


def copy_run_checker(config, out_dir) -> Path | None:
    """The checker a run trained with (its --checker), copied into its export so that --grade and
    the report work with the model alone. None when the run had none; a run whose checker has
    gone since gets one warning line, not an error (the export itself is fine)."""
    if not config.checker:
        return None
    if find_checker_dir(config.checker) is None:
        print(f"warning: the run's tag checker {config.checker} is gone; the export has none "
              f"(add one: python export.py RUN --checker DIR)", file=sys.stderr)
        return None
    copy_checker(config.checker, out_dir)
    return Path(config.checker)


def copy_checker(checker_dir, out_dir) -> None:
    """Copy a tag checker's files into an exported model folder, after
    loading it once: a broken checker is refused before anything is copied."""
    load_checker(checker_dir)
    folder = find_checker_dir(checker_dir)
    for name in CHECKER_FILES:
        if (folder / name).exists():
            shutil.copyfile(folder / name, Path(out_dir) / name)


def train_checker(data, *, epochs: int = 4, batch_size: int = 64, seed: int = 0, image_size: int = 64,
                  progress: bool = True, lr: float = 2e-3, robust: bool = True):
    """Train on data.train_indices() (flips and, when robust, the colour-keeping
    degradations of report.degrade: blur, noise, JPEG, shifts, so that the
    reading holds on soft generated faces); returns (keras model, meta) where
    meta holds the accuracy per group on data.holdout_indices(), which
    training never sees, clean and under each degradation of ROBUSTNESS_SUITE."""
    import keras
    from tqdm import tqdm

    from model import precision

    keras.utils.set_random_seed(seed)
    vocab = data.vocab
    sizes = [len(v) for v in vocab.groups.values()]
    with precision.float32_policy():
        model = build_checker(image_size, sizes, len(vocab.other_tags))
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
        for i, batch in enumerate(_augmented_batches(data, rng.permutation(train), batch_size, steps_per_epoch, rng,
                                                        robust)):
            loss = step(*batch)
            bar.update(1)
            if i % 20 == 0:
                bar.set_postfix_str(f"loss {float(loss):.3f}")
    bar.close()
    meta = {"format_version": FORMAT_VERSION, "image_size": image_size,
            "architecture": {"conv_filters": list(CONV_FILTERS), "feature_dim": FEATURE_DIM,
                             "pooling": "global average + global max", "input": "uint8-range pixels, "
                             f"any size, resized to {image_size} inside the model"},
            "groups": vocab.groups, "other_tags": list(vocab.other_tags), "feature_dim": FEATURE_DIM,
            "vocab_digest": vocab_digest(vocab.groups, vocab.other_tags), "condition_mode": vocab.mode,
            "train_images": int(len(train)), "train_seconds": round(time.perf_counter() - t0, 1),
            "epochs": epochs, "batch_size": batch_size, "seed": seed, "robust_training": robust}
    checker = Checker(meta, keras_infer(model, ("image",)), "tensorflow")
    meta["heldout_accuracy"] = evaluate(checker, data, held)
    meta["heldout_accuracy_degraded"] = evaluate_degraded(checker, data, held, seed=seed)
    meta["heldout_images"] = int(len(held))
    meta["heldout_is_training_data"] = bool(len(data.holdout_indices()) == 0)
    return model, meta


def _training_step(model, optimizer, sizes: list[int], n_other: int):
    """One Adam step on the summed cross-entropies: softmax per group, sigmoid per other tag."""
    import tensorflow as tf

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

    return step


def _augmented_batches(data, order: np.ndarray, batch_size: int, steps: int, rng, robust: bool):
    """(images, labels, other-tag targets) tensors of one epoch, half the images
    flipped and, when robust, randomly degraded (report.degrade.random_degrade)."""
    import tensorflow as tf

    n_other = len(data.vocab.other_tags)
    for i in range(steps):
        rows = np.sort(order[i * batch_size:(i + 1) * batch_size])
        images = data.images[rows].astype(np.float32)
        flip = rng.random(len(rows)) < 0.5
        images[flip] = images[flip, :, ::-1]
        if robust:
            images = degrade.random_degrade(images.astype(np.uint8), rng).astype(np.float32)
        # the other tags are the last columns of a condition in both condition modes
        other = data.conditions[rows, data.conditions.shape[1] - n_other:] if n_other else \
            np.zeros((len(rows), 0), np.float32)
        yield tf.constant(images), tf.constant(data.labels[rows]), tf.constant(other, tf.float32)


def evaluate_degraded(checker: Checker, data, rows, *, seed: int = 0) -> dict[str, dict[str, float]]:
    """Accuracy per group under each degradation of report.degrade.ROBUSTNESS_SUITE."""
    return {name: evaluate(checker, data, rows, degrade.apply(data.images[rows], kind, strength, seed=seed))
            for name, (kind, strength) in degrade.ROBUSTNESS_SUITE.items() if kind != "none"}


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


def tag_marks(images, tagsets, checker: Checker) -> tuple[list[list[bool]], dict[str, float]]:
    """Per cell, per checker group (in checker order): does the checker read
    the requested value? Returns (marks [n][groups], accuracy per group)."""
    tagsets = list(tagsets)
    if len(tagsets) != len(images):
        raise ValueError(f"{len(images)} images but {len(tagsets)} requested tag sets")
    read = checker.read_values(images) if len(tagsets) else {g: [] for g in checker.groups}
    marks = [[read[g][i] == t.get(g) for g in checker.groups] for i, t in enumerate(tagsets)]
    n = max(len(tagsets), 1)
    accuracy = {g: sum(m[j] for m in marks) / n for j, g in enumerate(checker.groups)}
    return marks, accuracy


def _parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(prog="python -m report.checker", description=__doc__,
                            formatter_class=ExamplesHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="train a checker", formatter_class=DefaultsHelpFormatter)
    e = sub.add_parser("eval", help="held-out accuracy of a checker",
                       formatter_class=DefaultsHelpFormatter)
    for p in (t, e):
        p.add_argument("--images", required=True, help="image folder")
        p.add_argument("--tags-csv", required=True, help="tag CSV (any supported format)")
        p.add_argument("--tag-format", default="auto", choices=["auto", "2018", "2017", "header"],
                       help="tag CSV format (auto: detected from its first line)")
        p.add_argument("--holdout", type=float, default=0.1, help="held-out fraction (use the model's)")
        p.add_argument("--cache-dir", default=None, help="dataset cache folder (default: $TAGFACE_CACHE, else ~/.cache/tagface)")
        p.add_argument("--seed", type=int, default=0, help="split and training seed")
    t.add_argument("--duplicates", default="group", choices=["group", "drop", "ignore"],
                   help="near-duplicate images: each group on one side of the split, one image kept, or split "
                        "by id (as before this setting)")
    e.add_argument("--duplicates", default=None, choices=["group", "drop", "ignore"],
                   help="near-duplicate handling of the split (default: the checker's own, from checker.json; "
                        "ignore for checkers trained before the setting, such as the bundled one)")
    t.add_argument("--out", default="checker", help="folder for checker.json / .weights.h5 / .tflite "
                                                    "(e.g. a model's export/ folder)")
    t.add_argument("--vocab", default=None, help="use this vocab.json (the model's) for the data")
    t.add_argument("--epochs", type=int, default=4, help="passes over the training images")
    t.add_argument("--batch-size", type=int, default=64, help="images per step")
    t.add_argument("--image-size", type=int, default=64, help="the network's input size (images are resized)")
    t.add_argument("--lr", type=float, default=2e-3, help="Adam learning rate (halved per epoch in the 2nd half)")
    t.add_argument("--no-progress", action="store_true", help="no progress bar")
    e.add_argument("--checker", required=True, help="checker folder")
    return parser


@exit_on_user_error
def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    quiet_libraries()  # TensorFlow's logs only with TAGFACE_VERBOSE=1
    return _train_command(args) if args.command == "train" else _eval_command(args)


def _eval_command(args) -> int:
    checker = load_checker(args.checker)
    data = build_or_load(args.images, args.tags_csv, tag_format=args.tag_format, size=checker.image_size,
                         cache_dir=args.cache_dir, holdout=args.holdout, seed=args.seed,
                         duplicates=args.duplicates or checker.meta.get("data", {}).get("duplicates", "ignore"))
    acc = evaluate(checker, data, data.holdout_indices())
    print(jsonio.dumps({"heldout_accuracy": acc, "heldout_images": int(len(data.holdout_indices()))}))
    return 0


def _train_command(args) -> int:
    if args.epochs < 1 or args.batch_size < 1 or args.image_size < 8:
        raise UserError("--epochs and --batch-size must be >= 1, --image-size >= 8")
    vocab = Vocabulary.load(args.vocab) if args.vocab else None
    data = build_or_load(args.images, args.tags_csv, tag_format=args.tag_format, size=args.image_size,
                         cache_dir=args.cache_dir, holdout=args.holdout, seed=args.seed, vocab=vocab,
                         duplicates=args.duplicates, progress=not args.no_progress)
    model, meta = train_checker(data, epochs=args.epochs, batch_size=args.batch_size, seed=args.seed,
                                image_size=args.image_size, lr=args.lr, progress=not args.no_progress)
    meta["data"] = {"images": str(args.images), "tags_csv": str(args.tags_csv), "holdout": args.holdout,
                    "split_seed": args.seed, "duplicates": args.duplicates}
    save_checker(model, meta, Path(args.out))
    acc = meta["heldout_accuracy"]
    low = [g for g, a in acc.items() if a < MIN_ACCURACY.get(g, 0.0)]
    print("held-out accuracy: " + ", ".join(f"{g} {a:.4f}" for g, a in acc.items())
          + f" ({meta['heldout_images']} images); saved to {args.out}")
    if low:
        print(f"warning: below the accuracy needed to judge samples ({MIN_ACCURACY}) for {low}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
