"""The tag checker: a small CNN that reads hair and eye colour (and other
vocabulary tags) off a face, used to grade sample grids and to measure
tag accuracy, diversity and Frechet distance in its feature space.

Its network, its files (checker.json, .weights.h5, .tflite) and loading it
(LiteRT or Keras); sampling.sheet marks a grid's cells with it. It is trained by
checker.training (python -m checker train|eval) and only trusted to judge
samples once its held-out accuracy is high enough (see MIN_ACCURACY). The
TFLite export lets grading run on the fast path without importing
TensorFlow.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
from pathlib import Path

import numpy as np

from common import jsonio
from common.files import atomic_write
from sampling.export import CHECKER_FILES, CHECKER_JSON, CHECKER_TFLITE, CHECKER_WEIGHTS, ModelError
from sampling.runtime import keras_infer, load_keras_weights, open_network

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
        outs = [
            np.asarray(self._infer({"image": pixels[i : i + batch]}), np.float32)
            for i in range(0, len(pixels), batch)
        ]
        width = sum(self.group_sizes) + len(self.other_tags) + FEATURE_DIM
        return np.concatenate(outs) if outs else np.zeros((0, width), np.float32)

    def _split(self, out: np.ndarray):
        probs, start = {}, 0
        for group, size in zip(self.groups, self.group_sizes):
            probs[group] = _softmax(out[:, start : start + size])
            start += size
        if self.other_tags:
            probs["other"] = 1.0 / (1.0 + np.exp(-out[:, start : start + len(self.other_tags)]))
        return probs, out[:, start + len(self.other_tags) :]

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
        return {
            g: [self.groups[g][i] for i in p.argmax(1)]
            for g, p in self.predict(images).items()
            if g in self.groups
        }


def vocab_digest(groups: dict, other_tags: list) -> str:
    """Short fingerprint of the tag vocabulary a checker was trained for."""
    text = json.dumps({"groups": groups, "other_tags": list(other_tags)}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def save_checker(model, meta: dict, out_dir: str | Path) -> Path:
    """checker.weights.h5 + checker.tflite + checker.json into out_dir (no .tflite under the tests'
    switch, sampling.tflite.tflite_export_skipped: load_checker then reads with Keras)."""
    from sampling.tflite import convert, tflite_export_skipped

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_weights(str(out_dir / CHECKER_WEIGHTS))
    if tflite_export_skipped():
        (out_dir / CHECKER_TFLITE).unlink(missing_ok=True)  # never beside weights it was not made from
    else:
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
        return f"add one to its export: python export.py {run} --checker {checker}" + (
            "" if trained_with else " (a checker trained on the same tags)"
        )
    return (
        f"copy one beside it (the files checker.json, checker.tflite, checker.weights.h5 of models/checker) "
        f"or train one: python -m checker train --images DIR --tags-csv CSV --out {path}"
    )


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

        def build():
            sizes = [len(v) for v in meta["groups"].values()]
            return build_checker(meta["image_size"], sizes, len(meta["other_tags"]))

        return keras_infer(load_keras_weights(build, weights, meta_path, "retrain the checker"), ("image",))

    backend, infer = open_network(
        folder / CHECKER_TFLITE, backend, load_keras, fix="retrain the checker or use the tensorflow backend"
    )
    return Checker(meta, infer, backend)


def copy_run_checker(config, out_dir, run_dir=None) -> Path | None:
    """The checker a run grades with, copied into its export so that --grade and the report work with
    the model alone: its own (RUN/checker/, trained for tags its --checker lacked), else its --checker.
    None when the run has none; a run whose checker has gone since gets one warning line, not an error
    (the export itself is fine)."""
    own = find_checker_dir(Path(run_dir) / "checker") if run_dir is not None else None
    if own is not None and own.name == "checker":
        copy_checker(own, out_dir)
        return own
    if not config.checker:
        return None
    if find_checker_dir(config.checker) is None:
        print(
            f"warning: the run's tag checker {config.checker} is gone; the export has none "
            f"(add one: python export.py RUN --checker DIR)",
            file=sys.stderr,
        )
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
