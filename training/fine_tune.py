"""Fine-tuning (--init-from): what a new run takes from its source model, in one place.

- Weights: every variable of G, D, G's moving average and both Adam optimisers is copied by path
  from the source's checkpoint (a run, or an export whose run is still there), or G and D's
  autoencoder from an export's weight files. A variable on the condition inputs (the embeddings,
  the projection head) or on the tag head's outputs of a grown vocabulary is copied along that axis,
  the inputs the source lacks at zero: at step 0 the run draws exactly what the source drew.
- Training state: model.training_state.CARRIED (k_t, the real-image filter's threshold and the
  learning rate) carries over; the rest starts afresh.

The settings (the network, the losses, the learning-rate rule) come from the source too:
model.config.TrainConfig.fine_tuned_from. The vocabulary grows in tags.vocab.Vocabulary.grown_by.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from common.files import atomic_write
from model import precision
from model.began import CondBEGAN, variables_by_path
from model.config import TrainConfig
from model.run_folder import CHECKPOINT_DIR, VOCAB_NAME, RunDirError, latest_checkpoint, training_run_of
from sampling.export import GENERATOR_WEIGHTS, RECONSTRUCTOR_WEIGHTS
from tags.vocab import Vocabulary


@dataclass
class Transfer:
    """What a fine-tuning run took from its source, for the line it prints."""

    source: Path
    from_run: bool
    carried: list[str] = field(default_factory=list)
    reset: list[str] = field(default_factory=list)
    grown: list[str] = field(default_factory=list)  # variables copied along a grown axis

    def describe(self) -> str:
        where = f"{self.source} (checkpoint)" if self.from_run else f"{self.source} (exported weights)"
        return f"from {where}: carried over {', '.join(self.carried)}; reset {', '.join(self.reset)}" + (
            f"; {len(self.grown)} weights widened for the new tags (new inputs start at zero)"
            if self.grown
            else ""
        )


SOURCE_RECORD = "fine_tuned_from.txt"  # in a fine-tuned run's folder: the source it started from


def record_source(run_dir: Path, source) -> None:
    """Note in the run folder that it was fine-tuned (and from what), so a resume reads its data as the
    first sitting did."""
    atomic_write(Path(run_dir) / SOURCE_RECORD, f"{source}\n")


def source_vocabulary(source: Path) -> Vocabulary:
    return Vocabulary.load(Path(source) / VOCAB_NAME)


def check_architecture(source_cfg: TrainConfig, config: TrainConfig, source: Path) -> None:
    """The run's network settings must be the source's (cond_dim aside: the vocabulary may grow)."""
    for name in TrainConfig.architecture_names():
        if name != "cond_dim" and getattr(source_cfg, name) != getattr(config, name):
            raise RunDirError(
                f"--init-from {source}: its {name} is {getattr(source_cfg, name)!r}, this run's is "
                f"{getattr(config, name)!r}; pass the same network settings (or none: they come from "
                "the source)"
            )


def transfer(model: CondBEGAN, source: Path, vocab: Vocabulary) -> Transfer:
    """Load `source`'s weights and state into `model` (built for `vocab`, the grown vocabulary)."""
    source = Path(source)
    source_cfg = TrainConfig.load(source)
    check_architecture(source_cfg, model.config, source)
    source_vocab = source_vocabulary(source)
    source_heads = sum(len(v) for v in source_vocab.groups.values()) + (
        len(source_vocab.other_tags) if source_cfg.other_tag_weight > 0 else 0
    )
    maps = {
        "cond": (vocab.position_map(source_vocab), source_vocab.dim),
        "tag head": (
            vocab.head_map(
                source_vocab,
                other=model.config.other_tag_weight > 0,
                source_other=source_cfg.other_tag_weight > 0,
            ),
            source_heads,
        ),
    }
    run = training_run_of(source)
    result = Transfer(source, run is not None)
    if run is not None:
        twin = _source_model(TrainConfig.load(run), source_vocab)
        twin.training_checkpoint().restore(latest_checkpoint(run / CHECKPOINT_DIR)).expect_partial()
        for part, variables in model.network_variables().items():
            result.grown += _mark_new_entries(
                model, _copy(variables, twin.network_variables().get(part, {}), maps)
            )
        if model.generator_ema and not twin.generator_ema:  # the source kept no average: start from G
            _ema_from_generator(model)
        model.state.carry_from(twin.state)
        result.carried = [
            "G, D and their Adam moments",
            "G's moving average",
            "k_t",
            "the filter's threshold",
            "the learning rate",
        ]
    else:  # (_load_export lists D's autoencoder among what it carried, or D among what it reset)
        result.carried = ["G"]
        _load_export(model, source, source_cfg, source_vocab, maps, result)
        result.reset += [
            "k_t, the filter's threshold (an export has no training state)",
            "D's tag heads",
            "Adam's moments",
        ]
    if model.anchor_generator is not None:
        _set_anchor(model, maps["cond"][0])
        result.carried.append(
            f"G as the anchor of the source's tags (--anchor-weight {model.config.anchor_weight:g})"
        )
    result.reset = ["the step and epoch", "M's window and the plateau counters"] + result.reset
    if model.adaptive:
        result.reset.append("ADA's p (it follows the new data)")
    return result


def _source_model(config: TrainConfig, vocab: Vocabulary) -> CondBEGAN:
    """A model shaped as the source was, to restore its checkpoint into (data tables are placeholders)."""
    groups = [len(v) for v in vocab.groups.values()]
    twin = CondBEGAN(
        config,
        vocab.dim,
        groups,
        np.zeros(1, np.int32),
        np.zeros((2, vocab.dim), np.float32),
        np.zeros((1, len(groups)), np.int32),
        n_other=len(vocab.other_tags),
    )
    twin.build_optimizers()
    return twin


def _load_export(model, source: Path, config: TrainConfig, vocab: Vocabulary, maps, result: Transfer) -> None:
    """G from generator.weights.h5 and D's encoder and decoder from reconstructor.weights.h5."""
    from model.networks import build_generator, build_reconstructor

    weights = source / GENERATOR_WEIGHTS
    if not weights.exists():
        raise RunDirError(f"--init-from {source}: no {CHECKPOINT_DIR}/ and no {GENERATOR_WEIGHTS}")
    with precision.float32_policy():
        generator = build_generator(config, vocab.dim)
    generator.load_weights(str(weights))
    result.grown += _mark_new_entries(
        model,
        _copy(variables_by_path(model.generator.variables), variables_by_path(generator.variables), maps),
    )
    if (source / RECONSTRUCTOR_WEIGHTS).exists():
        with precision.float32_policy():
            reconstructor = build_reconstructor(config, vocab.dim)
        reconstructor.load_weights(str(source / RECONSTRUCTOR_WEIGHTS))
        result.grown += _mark_new_entries(
            model,
            _copy(
                variables_by_path(model.discriminator.variables),
                variables_by_path(reconstructor.variables),
                maps,
            ),
        )
        result.carried.append("D's autoencoder")
    else:
        result.reset.append("D (the export has no reconstructor)")
    _ema_from_generator(model)


def _set_anchor(model: CondBEGAN, positions) -> None:
    """The anchor is G as the fine-tune starts (the source's weights, zero on the new tags), frozen; its
    mask keeps the condition inputs the source had (`positions` >= 0) and drops the new ones."""
    for anchor, w in zip(model.anchor_generator.weights, model.generator.weights):
        anchor.assign(w)
    model.anchor_keep.assign((np.asarray(positions) >= 0).astype(np.float32))


def _ema_from_generator(model: CondBEGAN) -> None:
    import tensorflow as tf

    for average, w in zip(model.generator_ema, model.generator.weights):
        average.assign(tf.cast(w, tf.float32))


def _mark_new_entries(model: CondBEGAN, grown: list) -> list[str]:
    """Set the probe's mask of each trainable weight `_copy` widened to its new entries (when the run
    probes); returns the paths widened."""
    if model.probe_masks:
        mask_of = {
            id(v): model.probe_masks[p]
            for p, v in variables_by_path(model.trainable_weights_of_both()).items()
        }
        for _, variable, new in grown:
            if id(variable) in mask_of:
                mask_of[id(variable)].assign(new)
    return [path for path, _, _ in grown]


def _copy(targets: dict, sources: dict, maps: dict) -> list[tuple[str, object, np.ndarray]]:
    """Assign each target variable its source's value by path (targets with no source keep their
    fresh values); returns (path, variable, mask of its new entries) for those copied along a grown axis."""
    grown = []
    for path, variable in targets.items():
        if path not in sources:
            continue
        value = np.asarray(sources[path].numpy())
        shape = tuple(variable.shape)
        if value.shape != shape:
            value, new = _widen(value, shape, maps, path)
            grown.append((path, variable, new.astype(np.float32)))
        variable.assign(value)
    return grown


def widened(value: np.ndarray, shape: tuple, maps: dict, name: str = "") -> np.ndarray:
    """`value` on a grown axis: the one axis where the shapes differ is a condition-input axis (or the
    tag head's output axis); entry i of the result is entry map[i] of `value`, or 0 where map[i] = -1."""
    return _widen(value, shape, maps, name)[0]


def _widen(value: np.ndarray, shape: tuple, maps: dict, name: str) -> tuple[np.ndarray, np.ndarray]:
    """widened(value) and a bool array of `shape`, true on the entries the source lacks (the new tags')."""
    axes = [i for i, (a, b) in enumerate(zip(value.shape, shape)) if a != b]
    if len(value.shape) != len(shape) or len(axes) != 1:
        raise RunDirError(f"--init-from: the source's {name} has shape {value.shape}, this run's {shape}")
    axis = axes[0]
    for positions, old_size in maps.values():
        if len(positions) == shape[axis] and value.shape[axis] == old_size:
            taken = np.take(value, np.maximum(positions, 0), axis=axis)
            keep = (positions >= 0).reshape([-1 if i == axis else 1 for i in range(len(shape))])
            return np.where(keep, taken, 0).astype(value.dtype), np.broadcast_to(~keep, shape)
    raise RunDirError(
        f"--init-from: the source's {name} has shape {value.shape}, this run's {shape}, "
        "and no tag axis explains the difference"
    )
