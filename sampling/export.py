"""What an exported model folder holds (RUN/export/, models/default/), and the
one way to find and write one: its file names, ModelError, the folder a
--model path means, and the export of a run's G and D (Keras weights and
TFLite), whole or not at all.

Imported by the fast generation path, so TensorFlow is only imported inside
the functions that convert or save networks.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from common.cli import UserError
from common.files import atomic_folder, atomic_path
from model.config import CONFIG_NAME, TrainConfig
from model.run_folder import (
    CHECKPOINT_DIR,
    EXPORT_DIR,
    VOCAB_NAME,
    WORD2VEC_NAME,
    checkpoint_at,
    checkpoint_step,
    load_generator_from_run,
    load_reconstructor_from_run,
)

# An exported model (RUN/export/, models/default/)
GENERATOR_WEIGHTS = "generator.weights.h5"
GENERATOR_TFLITE = "generator.tflite"
# D's autoencoder (no heads), for best-of-K sampling (sampling.runtime)
RECONSTRUCTOR_WEIGHTS = "reconstructor.weights.h5"
RECONSTRUCTOR_TFLITE = "reconstructor.tflite"
# The tag checker's files, shipped beside an exported model (see checker.checker)
CHECKER_JSON = "checker.json"
CHECKER_WEIGHTS = "checker.weights.h5"
CHECKER_TFLITE = "checker.tflite"
CHECKER_FILES = (CHECKER_JSON, CHECKER_TFLITE, CHECKER_WEIGHTS)


class ModelError(UserError):
    """A model directory that cannot be used; the message names the file and the fix."""


def resolve_model_dir(path: str | Path) -> Path:
    """A run directory (its export/ when there is one) or an exported model directory."""
    path = Path(path)
    if not path.exists():
        raise ModelError(
            f"model {path} does not exist; pass --model with a run or exported model "
            "directory (train one with train.py)"
        )
    if not path.is_dir():
        raise ModelError(
            f"model {path} is not a directory; pass --model with a run or exported model directory"
        )
    if (path / EXPORT_DIR / CONFIG_NAME).exists():
        return path / EXPORT_DIR
    return path


# -------------------------------------------------------------------- export
# What an export writes of the model itself; any other file of an earlier export in the same folder
# (the tag checker, metrics.json) is carried over into the new one, as it was kept before exports were whole.
EXPORT_OWN_FILES = (
    CONFIG_NAME,
    VOCAB_NAME,
    WORD2VEC_NAME,
    GENERATOR_WEIGHTS,
    GENERATOR_TFLITE,
    RECONSTRUCTOR_WEIGHTS,
    RECONSTRUCTOR_TFLITE,
)


def export_generator(
    generator, config: TrainConfig, vocab_path, out_dir, reconstructor=None, finish=None
) -> Path:
    """Write config.json, vocab.json (+ word2vec.txt), generator.weights.h5 and
    generator.tflite, and D's autoencoder (reconstructor.*, for best-of-K
    sampling) when given, then `finish(folder)` (e.g. the tag checker's files).
    The .tflite files are left out under the test-only switch TAGFACE_TEST_SKIP_TFLITE=1
    (sampling.tflite.tflite_export_skipped); the Keras weights are always written.
    The folder is built beside out_dir and swapped in whole (common.files.atomic_folder),
    so a kill leaves the old export or the new one, never one of mixed steps.
    The networks must be float32 models."""
    out = Path(out_dir)
    with atomic_folder(out) as stage:
        _write_export(stage, generator, config, vocab_path, reconstructor)
        _carry_over(out, stage)
        if finish is not None:
            finish(stage)
    return out


def _carry_over(old: Path, new: Path) -> None:
    """Files of the earlier export that are not the model's own (EXPORT_OWN_FILES)."""
    if not old.is_dir() or old.is_symlink():
        return
    for item in old.iterdir():
        if (
            item.is_file()
            and not item.is_symlink()
            and item.name not in EXPORT_OWN_FILES
            and not (new / item.name).exists()
        ):
            shutil.copy2(item, new / item.name)


def _write_export(out: Path, generator, config: TrainConfig, vocab_path, reconstructor) -> None:
    from sampling.tflite import convert, tflite_export_skipped

    with_tflite = not tflite_export_skipped()
    config.save(out)
    vocab_path = Path(vocab_path)
    if vocab_path.resolve() != (out / VOCAB_NAME).resolve():
        shutil.copyfile(vocab_path, out / VOCAB_NAME)
        w2v = vocab_path.with_name(WORD2VEC_NAME)
        if w2v.exists():
            shutil.copyfile(w2v, out / WORD2VEC_NAME)
    with atomic_path(out / GENERATOR_WEIGHTS, suffix=".weights.h5") as tmp:
        generator.save_weights(str(tmp))
    if with_tflite:
        convert(generator, out / GENERATOR_TFLITE)
    if reconstructor is not None:
        with atomic_path(out / RECONSTRUCTOR_WEIGHTS, suffix=".weights.h5") as tmp:
            reconstructor.save_weights(str(tmp))
        if with_tflite:
            convert(reconstructor, out / RECONSTRUCTOR_TFLITE)


def export_run(
    run_dir: str | Path,
    out_dir: str | Path | None = None,
    *,
    use_ema: bool = True,
    step: int | None = None,
    finish=None,
) -> Path:
    """RUN/export/ (or out_dir) from the run's checkpoint of `step` (None: the latest;
    G's moving average when kept). G and D come from the same checkpoint even
    while the run is still writing new ones."""
    if step is None:
        latest = checkpoint_at(Path(run_dir) / CHECKPOINT_DIR, None)
        step = checkpoint_step(latest) if latest else None
    generator, config, vocab_path = load_generator_from_run(run_dir, use_ema=use_ema, step=step)
    return export_generator(
        generator,
        config,
        vocab_path,
        out_dir or Path(run_dir) / EXPORT_DIR,
        load_reconstructor_from_run(run_dir, step),
        finish,
    )
