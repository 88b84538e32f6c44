"""What train.py shows of a run while it trains, as trainer callbacks (the
trainer itself only logs numbers):

- `SampleGrids`: the same noise and tags every epoch (samples/epoch_NNN.png,
  a timeline; samples/step_NNNNNNN.png every --sample-every steps), also in TensorBoard;
- `FilterSheets`: a contact sheet of the real images the filter left out
  (filtered/epoch_NNN.png, beside the trainer's epoch_NNN.csv);
- `QualityMetrics`: the tag checker's metrics every --eval-every steps into RUN/eval.csv,
  scored on the generator in memory (no export, no reload).
"""
from __future__ import annotations

import numpy as np

from model.generation import to_uint8
from model.runtime import LoadedGenerator, keras_infer
from model.trainer import Trainer, TrainerCallback
from report.grid import grid, save_png
from report.metrics import evaluate_generator, write_results

CONTACT_SHEET_IMAGES = 64
CONTACT_SHEET_COLUMNS = 8


def fixed_sample_plan(vocab, config, n_rows: int = 8, n_cols: int = 8):
    """The same z and tags every epoch, so the grids form a timeline.
    Rows walk through the hair colours, pairing each with a different eye colour."""
    hair = vocab.groups.get("hair", [])
    combos = [tuple(c["tags"].get(g) for g in vocab.groups) for c in vocab.combos] if vocab.combos else []
    rows = []
    for i in range(min(n_rows, max(len(hair), 1))):
        wanted_hair = hair[(i * max(len(hair), 1)) // n_rows % len(hair)] if hair else None
        options = [c for c in combos if c and c[0] == wanted_hair] or combos
        rows.append(options[(i * 3) % len(options)])
    rng = np.random.default_rng(config.seed + 12345)
    z = rng.uniform(-1, 1, (n_cols, config.nz)).astype(np.float32)
    eps = rng.standard_normal((n_cols, config.embed_dim)).astype(np.float32)
    return rows, z, eps


class SampleGrids(TrainerCallback):
    def on_train_begin(self, trainer: Trainer) -> None:
        self.tag_rows, self.z, self.eps = fixed_sample_plan(trainer.vocab, trainer.config)
        folder = trainer.run_dir / "samples"
        folder.mkdir(exist_ok=True)
        groups = trainer.vocab.groups
        (folder / "fixed_tags.txt").write_text(
            "".join(" ".join(f"{v} {g}" for g, v in zip(groups, row)) + "\n" for row in self.tag_rows))

    def _grid(self, trainer: Trainer) -> np.ndarray:
        generator = trainer.sampling_generator()  # G's moving average when it is on
        rows = []
        for combo in self.tag_rows:
            cond = np.repeat(trainer.vocab.condition_from_values(dict(zip(trainer.vocab.groups, combo)))[None],
                             len(self.z), 0)
            inputs = [self.z, cond, self.eps] if trainer.config.cond_augment else [self.z, cond]
            rows.append(to_uint8(generator(inputs, training=False).numpy()))
        return grid(np.concatenate(rows), len(self.z))

    def on_step_end(self, trainer: Trainer, step: int) -> None:
        every = trainer.config.sample_every
        if every and step % every == 0:
            save_png(trainer.run_dir / "samples" / f"step_{step:07d}.png", self._grid(trainer))

    def on_epoch_end(self, trainer: Trainer, epoch: int, left_out) -> None:
        image = self._grid(trainer)
        save_png(trainer.run_dir / "samples" / f"epoch_{epoch:03d}.png", image)
        trainer.log_image("samples", image)


class FilterSheets(TrainerCallback):
    def on_epoch_end(self, trainer: Trainer, epoch: int, left_out) -> None:
        if left_out is not None:
            images = trainer.data.images[left_out[:CONTACT_SHEET_IMAGES]]
            save_png(trainer.run_dir / "filtered" / f"epoch_{epoch:03d}.png", grid(images, CONTACT_SHEET_COLUMNS))


class QualityMetrics(TrainerCallback):
    def __init__(self, checker, every: int):
        self.checker, self.every = checker, every

    def on_step_end(self, trainer: Trainer, step: int) -> None:
        if step % self.every:
            return
        generator = LoadedGenerator(trainer.run_dir, trainer.config, trainer.vocab, "tensorflow",
                                    keras_infer(trainer.sampling_generator()))
        result = evaluate_generator(generator, self.checker, trainer.data, n_per_combo=2, seed=trainer.config.seed)
        write_results(trainer.run_dir, result | {"cpu_seconds": round(trainer.cpu_seconds(), 1)}, step)


def training_callbacks(config, checker=None) -> list[TrainerCallback]:
    """The callbacks train.py trains with: sample grids, filter contact sheets
    and, with --eval-every, the quality metrics (`checker` loaded beforehand)."""
    callbacks = [SampleGrids(), FilterSheets()]
    if config.eval_every:
        callbacks.append(QualityMetrics(checker, config.eval_every))
    return callbacks
