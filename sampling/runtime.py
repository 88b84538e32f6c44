"""Load a generator for sampling: LiteRT when a TFLite export exists (no
TensorFlow import: ~0.1 s instead of 3-5 s), else Keras/TensorFlow.

A model directory is an exported model (config.json, vocab.json,
generator.weights.h5, generator.tflite, and D's autoencoder reconstructor.*
for best-of-K) or a run directory (its export/ is used, or its latest checkpoint). `open_network` is the
one LiteRT-or-Keras
choice, shared with the tag checker (checker.checker).
"""

from __future__ import annotations

import copy
import threading
from pathlib import Path
from typing import Callable

import numpy as np

from common.quiet import silenced
from model import precision
from model.config import CONFIG_NAME, ConfigError, TrainConfig
from model.run_folder import (
    CHECKPOINT_DIR,
    VOCAB_NAME,
    RunDirError,
    load_generator_from_run,
    load_reconstructor_from_run,
)
from sampling.export import (
    GENERATOR_TFLITE,
    GENERATOR_WEIGHTS,
    RECONSTRUCTOR_TFLITE,
    RECONSTRUCTOR_WEIGHTS,
    ModelError,
    resolve_model_dir,
)
from sampling.generation import draw_z
from sampling.tflite import TFLiteRunner
from tags import TagError
from tags.vocab import Vocabulary

# inputs {name: array} -> output array
Infer = Callable[[dict], np.ndarray]
GENERATOR_INPUTS = ("z", "cond", "eps")
REEXPORT = "re-export it with python export.py RUN_DIR"


def open_network(
    tflite: Path, backend: str, load_keras: Callable[[], Infer], *, fix: str
) -> tuple[str, Infer]:
    """(backend, infer) for a network saved as TFLite and as Keras weights.
    backend "auto": LiteRT when `tflite` exists (no TensorFlow import), else
    "tensorflow", which calls `load_keras()`. `fix` tells the user what to do
    when the TFLite file is missing or broken."""
    if backend == "auto":
        backend = "litert" if tflite.exists() else "tensorflow"
    if backend == "litert":
        if not tflite.exists():
            raise ModelError(f"no {tflite}; {fix}")
        try:
            return "litert", TFLiteRunner(tflite).infer
        except (ValueError, RuntimeError) as exc:
            raise ModelError(
                f"{tflite} is not a valid TFLite model ({str(exc).splitlines()[0][:120]}); {fix}"
            ) from None
    if backend == "tensorflow":
        return "tensorflow", load_keras()
    raise ModelError(f"unknown backend {backend!r}: auto, litert or tensorflow")


def keras_infer(model, input_names=GENERATOR_INPUTS) -> Infer:
    """`infer` over an in-memory float32 Keras model whose inputs are `input_names`
    (those absent from a call's dict are skipped, e.g. eps without conditioning augmentation)."""

    def infer(inputs: dict) -> np.ndarray:
        ordered = [inputs[name] for name in input_names if name in inputs]
        return model(ordered if len(ordered) > 1 else ordered[0], training=False).numpy()

    return infer


def load_keras_weights(build: Callable, weights: Path, settings: Path, fix: str):
    """A float32 Keras model from `build()` with `weights` loaded (ModelError when
    they do not match the `settings` file the network was built from)."""
    with silenced(stdout=False):  # TensorFlow's start-up lines and Keras's UserWarnings on a mismatch
        with precision.float32_policy():
            model = build()
        try:
            model.load_weights(str(weights))
        except Exception as exc:  # keras raises ValueError/OSError variants for mismatches and corruption
            raise ModelError(
                f"{weights} does not match {settings} or is corrupt ({type(exc).__name__}); {fix}"
            ) from None
    return model


class LoadedGenerator:
    """A model's generator (and D's autoencoder, opened on first use), shared by every draw: it holds no
    per-request state. `with_sampling` gives the same networks drawing with a truncation and best-of."""

    def __init__(
        self,
        model_dir: Path,
        config: TrainConfig,
        vocab: Vocabulary,
        backend: str,
        infer: Infer,
        open_reconstructor: Callable[[], Infer] | None = None,
    ):
        self.model_dir, self.config, self.vocab, self.backend = model_dir, config, vocab, backend
        self._infer = infer
        self._truncation, self._best_of = 1.0, 1
        self._reconstruct = _Once(open_reconstructor)  # shared with the with_sampling copies

    @property
    def truncation(self) -> float:
        """z is scaled towards 0 by this (the truncation trick; 1 = off)."""
        return self._truncation

    @property
    def best_of(self) -> int:
        """Faces drawn per cell, of which the one D reconstructs best is kept (1 = off)."""
        return self._best_of

    def with_sampling(self, truncation: float = 1.0, best_of: int = 1) -> LoadedGenerator:
        """The same networks drawing with z scaled by `truncation` and the best of `best_of` faces per cell:
        a new object, so two draws with other options never meet in shared state. With best_of > 1, D's
        autoencoder is opened here: a model without it fails before any face is drawn."""
        sampled = copy.copy(self)
        sampled._truncation, sampled._best_of = float(truncation), int(best_of)
        if sampled._best_of > 1:
            sampled._reconstructor()
        return sampled

    def _reconstructor(self) -> Infer:
        if self._reconstruct.opener is None:
            raise ModelError(f"{self.model_dir} has no D to score faces with")
        return self._reconstruct()

    @property
    def needs_eps(self) -> bool:
        return bool(self.config.cond_augment)

    def generate(
        self, z: np.ndarray, cond: np.ndarray, eps: np.ndarray | None = None, batch_size: int = 64
    ) -> np.ndarray:
        """float32 [B, S, S, 3] in about [-1, 1]: z scaled by self.truncation, and with
        self.best_of = K > 1 (with_sampling) the best of K faces per cell (see _best_of_k)."""
        z = np.asarray(z, np.float32)
        cond = np.asarray(cond, np.float32)
        if self.needs_eps and eps is None:
            eps = np.zeros((len(z), self.config.embed_dim), np.float32)
        if self.best_of > 1:
            return self._best_of_k(z, cond, eps, batch_size)
        return self._draw(z, cond, eps, batch_size)

    def _draw(self, z, cond, eps, batch_size: int) -> np.ndarray:
        z = z * np.float32(self.truncation)
        outs = []
        for start in range(0, len(z), batch_size):
            part = slice(start, start + batch_size)
            inputs = {"z": z[part], "cond": cond[part]}
            if self.needs_eps:
                inputs["eps"] = np.asarray(eps, np.float32)[part]
            outs.append(np.asarray(self._infer(inputs), np.float32))
        size = self.config.image_size
        return np.concatenate(outs) if outs else np.zeros((0, size, size, 3), np.float32)

    def reconstruction_error(self, images: np.ndarray, cond: np.ndarray, batch_size: int = 64) -> np.ndarray:
        """Mean |x - D(x, c)| per image (images in [-1, 1]): BEGAN's D reconstructs
        what looks real under tags c well, so lower is better. (In numpy, not
        losses.reconstruction_loss: the LiteRT path never imports TensorFlow.)"""
        reconstruct = self._reconstructor()
        images = np.clip(np.asarray(images, np.float32), -1.0, 1.0)
        errors = []
        for start in range(0, len(images), batch_size):
            part = slice(start, start + batch_size)
            recon = np.asarray(reconstruct({"image": images[part], "cond": cond[part]}), np.float32)
            errors.append(np.abs(recon - images[part]).mean(axis=(1, 2, 3)))
        return np.concatenate(errors) if errors else np.zeros(0, np.float32)

    def _best_of_k(self, z, cond, eps, batch_size: int) -> np.ndarray:
        """Per cell: its own z and K-1 more drawn from a generator seeded by that z
        (same cell, same pick, whatever else is in the call); keep the face D
        reconstructs best under the cell's tags."""
        k, kept = self.best_of, []
        cells_per_chunk = max(1, batch_size // k)  # memory holds one chunk's K faces per cell, not n * K
        for start in range(0, len(z), cells_per_chunk):
            part = slice(start, start + cells_per_chunk)
            candidates = np.concatenate([best_of_k_candidates(row, k) for row in z[part]])
            cond_k = np.repeat(cond[part], k, axis=0)
            eps_k = np.repeat(eps[part], k, axis=0) if eps is not None else None
            faces = self._draw(candidates, cond_k, eps_k, batch_size)
            errors = self.reconstruction_error(faces, cond_k, batch_size).reshape(-1, k)
            kept.append(faces.reshape(-1, k, *faces.shape[1:])[np.arange(len(errors)), errors.argmin(axis=1)])
        size = self.config.image_size
        return np.concatenate(kept) if kept else np.zeros((0, size, size, 3), np.float32)


class _Once:
    """The value of `opener()`, made on the first call only, also when threads call at once."""

    def __init__(self, opener: Callable[[], Infer] | None):
        self.opener, self._value, self._lock = opener, None, threading.Lock()

    def __call__(self) -> Infer:
        with self._lock:
            if self._value is None:
                self._value = self.opener()
            return self._value


def best_of_k_candidates(z_row: np.ndarray, k: int) -> np.ndarray:
    """[k, nz]: z_row first (so a cell's first candidate is its plain face), then
    k-1 uniform draws in [-1, 1] from a generator seeded by z_row's bits."""
    z_row = np.asarray(z_row, np.float32)
    extra = draw_z(np.random.default_rng(np.frombuffer(z_row.tobytes(), np.uint32)), k - 1, z_row.shape[0])
    return np.concatenate([z_row[None], extra])


def _keras_generator(model_dir: Path, config: TrainConfig):
    def build():  # TensorFlow is imported here, inside load_keras_weights' silence
        from model.networks import build_generator

        return build_generator(config, config.cond_dim)

    weights = model_dir / GENERATOR_WEIGHTS
    if weights.exists():
        return load_keras_weights(build, weights, model_dir / CONFIG_NAME, "re-export the model")
    if (model_dir / CHECKPOINT_DIR).is_dir():
        try:
            return load_generator_from_run(model_dir)[0]
        except RunDirError as exc:
            raise ModelError(str(exc)) from None
    raise ModelError(
        f"no {GENERATOR_WEIGHTS} or {CHECKPOINT_DIR}/ in {model_dir}; pass a run or exported model directory"
    )


def _reconstructor_opener(model_dir: Path, config: TrainConfig, backend: str) -> Callable[[], Infer]:
    """Opens D's autoencoder on first use (best-of-K only): LiteRT when the
    generator runs on LiteRT and reconstructor.tflite exists, else Keras."""
    fix = f"best-of-K needs D's autoencoder, which {model_dir} does not have; {REEXPORT}"

    def build():
        from model.networks import build_reconstructor

        return build_reconstructor(config, config.cond_dim)

    def load_keras() -> Infer:
        weights = model_dir / RECONSTRUCTOR_WEIGHTS
        if weights.exists():
            model = load_keras_weights(build, weights, model_dir / CONFIG_NAME, REEXPORT)
        elif (model_dir / CHECKPOINT_DIR).is_dir():
            try:
                model = load_reconstructor_from_run(model_dir)
            except RunDirError as exc:
                raise ModelError(str(exc)) from None
        else:
            raise ModelError(f"no {RECONSTRUCTOR_WEIGHTS}: {fix}")
        return keras_infer(model, input_names=("image", "cond"))

    def open_reconstructor() -> Infer:
        tflite = model_dir / RECONSTRUCTOR_TFLITE
        if not (
            tflite.exists()
            or (model_dir / RECONSTRUCTOR_WEIGHTS).exists()
            or (model_dir / CHECKPOINT_DIR).is_dir()
        ):
            raise ModelError(fix)
        chosen = "litert" if backend == "litert" and tflite.exists() else "tensorflow"
        return open_network(tflite, chosen, load_keras, fix=fix)[1]

    return open_reconstructor


def model_settings(model_dir: Path) -> tuple[TrainConfig, Vocabulary]:
    """The model's config and vocabulary, checked against each other."""
    try:
        config = TrainConfig.load(model_dir)
    except ConfigError as exc:
        raise ModelError(f"{exc}") from None
    try:
        vocab = Vocabulary.load(model_dir / VOCAB_NAME)
    except TagError as exc:
        raise ModelError(str(exc)) from None
    if vocab.dim != config.cond_dim:
        raise ModelError(
            f"{model_dir / VOCAB_NAME} gives {vocab.dim}-dim conditions but the model "
            f"expects {config.cond_dim}; the vocabulary belongs to another model"
        )
    return config, vocab


def load_keras_generator(model_dir: str | Path):
    """(float32 Keras generator, config, vocab): for what needs G's gradients (editing.editor)."""
    model_dir = resolve_model_dir(model_dir)
    config, vocab = model_settings(model_dir)
    return _keras_generator(model_dir, config), config, vocab


def load_generator(model_dir: str | Path, backend: str = "auto") -> LoadedGenerator:
    """backend: auto (LiteRT if generator.tflite exists) | litert | tensorflow."""
    model_dir = resolve_model_dir(model_dir)
    config, vocab = model_settings(model_dir)
    backend, infer = open_network(
        model_dir / GENERATOR_TFLITE,
        backend,
        lambda: keras_infer(_keras_generator(model_dir, config)),
        fix=f"{REEXPORT} or use --backend tensorflow",
    )
    generator = LoadedGenerator(
        model_dir, config, vocab, backend, infer, _reconstructor_opener(model_dir, config, backend)
    )
    if backend == "litert":
        _probe(generator)
    return generator


def _probe(generator: LoadedGenerator) -> None:
    """One face from zeros: a .tflite that is not this generator (the tag checker's, another
    model's) is a ModelError naming the file, not a traceback at the first request."""
    cfg = generator.config
    path = generator.model_dir / GENERATOR_TFLITE
    try:
        out = generator.generate(np.zeros((1, cfg.nz), np.float32), np.zeros((1, cfg.cond_dim), np.float32))
    except (KeyError, ValueError, RuntimeError, TypeError) as exc:
        raise ModelError(
            f"{path} is not this model's generator ({str(exc).splitlines()[0][:100]}); {REEXPORT}"
        ) from None
    if out.shape != (1, cfg.image_size, cfg.image_size, 3):
        raise ModelError(
            f"{path} gives output {out.shape[1:]}, not the generator's "
            f"({cfg.image_size}, {cfg.image_size}, 3); {REEXPORT}"
        )
