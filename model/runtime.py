"""Load a generator for sampling: LiteRT when a TFLite export exists (no
TensorFlow import: ~0.1 s instead of 3-5 s), else Keras/TensorFlow.

A model directory is an exported model (config.json, vocab.json,
generator.weights.h5, generator.tflite) or a run directory (its export/
is used, or its latest checkpoint).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from model.config import ConfigError, TrainConfig
from tags import TagError
from tags.vocab import Vocabulary


class ModelError(ValueError):
    """A model directory that cannot be used; the message names the file and the fix."""


def resolve_model_dir(path: str | Path) -> Path:
    path = Path(path)
    if not path.exists():
        raise ModelError(f"model {path} does not exist; pass --model with a run or exported model "
                         "directory (train one with train.py)")
    if not path.is_dir():
        raise ModelError(f"model {path} is not a directory; pass --model with a run or exported model directory")
    if (path / "export" / "config.json").exists():
        return path / "export"
    return path


class LoadedGenerator:
    def __init__(self, model_dir: Path, config: TrainConfig, vocab: Vocabulary, backend: str, run):
        self.model_dir, self.config, self.vocab, self.backend = model_dir, config, vocab, backend
        self._run = run

    @property
    def needs_eps(self) -> bool:
        return bool(self.config.cond_augment)

    def generate(self, z: np.ndarray, cond: np.ndarray, eps: np.ndarray | None = None,
                 batch_size: int = 64) -> np.ndarray:
        """float32 [B, S, S, 3] in about [-1, 1]."""
        z = np.asarray(z, np.float32)
        cond = np.asarray(cond, np.float32)
        if self.needs_eps and eps is None:
            eps = np.zeros((len(z), self.config.embed_dim), np.float32)
        outs = []
        for start in range(0, len(z), batch_size):
            part = slice(start, start + batch_size)
            inputs = {"z": z[part], "cond": cond[part]}
            if self.needs_eps:
                inputs["eps"] = np.asarray(eps, np.float32)[part]
            outs.append(np.asarray(self._run(inputs), np.float32))
        size = self.config.image_size
        return np.concatenate(outs) if outs else np.zeros((0, size, size, 3), np.float32)


def _load_tflite(path: Path):
    from model.tflite import TFLiteRunner

    try:
        runner = TFLiteRunner(path)
    except (ValueError, RuntimeError) as exc:
        raise ModelError(f"{path} is not a valid TFLite model ({str(exc).splitlines()[0][:120]}); "
                         "re-export it with python -m model.export RUN_DIR") from None
    return runner.run


def _load_keras(model_dir: Path, config: TrainConfig):
    from model import precision
    from model.networks import build_generator

    weights = model_dir / "generator.weights.h5"
    if weights.exists():
        with precision.float32_policy():
            generator = build_generator(config, config.cond_dim)
        try:
            generator.load_weights(str(weights))
        except Exception as exc:  # keras raises ValueError/OSError variants for mismatches and corruption
            raise ModelError(f"{weights} does not match {model_dir / 'config.json'} or is corrupt "
                             f"({type(exc).__name__}); re-export the model") from None
    elif (model_dir / "checkpoints").is_dir():
        from model.run_dir import RunDirError
        from model.trainer import load_generator_from_run

        try:
            generator, _, _ = load_generator_from_run(model_dir)
        except RunDirError as exc:
            raise ModelError(str(exc)) from None
    else:
        raise ModelError(f"no generator.weights.h5 or checkpoints/ in {model_dir}; "
                         "pass a run or exported model directory")

    return keras_runner(generator)


def keras_runner(generator):
    """A LoadedGenerator runner over an in-memory float32 Keras generator."""

    def run(inputs):
        ordered = [inputs["z"], inputs["cond"]] + ([inputs["eps"]] if "eps" in inputs else [])
        return generator(ordered, training=False).numpy()

    return run


def load_generator(model_dir: str | Path, backend: str = "auto") -> LoadedGenerator:
    """backend: auto (LiteRT if generator.tflite exists) | litert | tensorflow."""
    model_dir = resolve_model_dir(model_dir)
    try:
        config = TrainConfig.load(model_dir)
    except ConfigError as exc:
        raise ModelError(f"{exc}") from None
    try:
        vocab = Vocabulary.load(model_dir / "vocab.json")
    except TagError as exc:
        raise ModelError(str(exc)) from None
    if vocab.dim != config.cond_dim:
        raise ModelError(f"{model_dir / 'vocab.json'} gives {vocab.dim}-dim conditions but the model "
                         f"expects {config.cond_dim}; the vocabulary belongs to another model")
    tflite = model_dir / "generator.tflite"
    if backend == "auto":
        backend = "litert" if tflite.exists() else "tensorflow"
    if backend == "litert":
        if not tflite.exists():
            raise ModelError(f"no {tflite}; export it with python -m model.export RUN_DIR or use --backend tensorflow")
        return LoadedGenerator(model_dir, config, vocab, "litert", _load_tflite(tflite))
    if backend == "tensorflow":
        return LoadedGenerator(model_dir, config, vocab, "tensorflow", _load_keras(model_dir, config))
    raise ModelError(f"unknown backend {backend!r}: auto, litert or tensorflow")
