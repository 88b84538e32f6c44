"""How long a run trains when neither --steps nor --epochs is given, and what to expect of it.

A fixed number of epochs is wrong both ways: 10 epochs of 1,000 faces (620 steps) draw tinted
blobs, 10 epochs of 33,000 faces take hours. What a GAN needs is counted in images seen, so the
length rule is a number of images, with a floor in epochs for large sets:

- from scratch: FROM_SCRATCH_IMAGES (at least DEFAULT_EPOCHS epochs);
- fine-tuning (--init-from): FINE_TUNE_IMAGES (at least one epoch): the source already draws faces,
  the run adapts it to the new images and learns the new tags.

The time is estimated from the measured speed of the default network (IMAGES_PER_CPU_SECOND),
scaled by the network's size; the first lines of a run and --check print it. Imports no TensorFlow.
"""

from __future__ import annotations

import math
import textwrap
from dataclasses import dataclass

from model.config import TrainConfig

DEFAULT_EPOCHS = 10
FROM_SCRATCH_IMAGES = 100_000  # 6,250 steps of 16: under 2 CPU-hours at IMAGES_PER_CPU_SECOND
FINE_TUNE_IMAGES = 24_000  # 1,500 steps of 16
ADA_MIN_HELDOUT = 32  # held-out faces ADA needs to measure D's over-fitting on (training.ada's batch)
SMALL_DATA = (
    5_000  # training images: below this, augmentation adapts by default and the advice is to fine-tune
)
# The default network (filters 32, 64 px, bf16) measured end to end by train.py: images per CPU-second
# (user + system, all threads): 16 in the own-data fine-tune of bench/quality/own_data on the 2-core AMD EPYC
# (Zen 4), beside another training.
IMAGES_PER_CPU_SECOND = 16.0


@dataclass(frozen=True)
class Plan:
    steps: int
    rule: str  # how the length was chosen, in words
    cpu_minutes: float
    train_images: int
    fine_tune: bool

    @property
    def small_data(self) -> bool:
        return self.train_images < SMALL_DATA

    def describe(self) -> str:
        time = f"about {self.cpu_minutes:.0f} CPU-minutes" if self.cpu_minutes >= 1 else "under a CPU-minute"
        return f"length: {self.steps:,} steps ({self.rule}); {time} for the default network on an AMD EPYC"

    def advice(self, default_model: str = "models/default") -> str | None:
        """The line for a small data set trained from scratch: what fine-tuning would give instead."""
        if self.fine_tune or not self.small_data:
            return None
        tune = fine_tune_steps(self.train_images, 16)
        return (
            f"advice: {self.train_images:,} training images is a small set. From scratch, expect faces "
            f"only after thousands of steps, soft, with less faithful colours (on 1,141 faces the whole "
            f"length drew faces the course's detector found in 0.67 of them, hair right in 0.74: "
            f"docs/training.md); fine-tuning the bundled model "
            f"is faster and better on small sets: add --init-from {default_model} ({tune:,} steps, about "
            f"{cpu_minutes(tune, TrainConfig()):.0f} CPU-minutes; it keeps the source's tags and adds yours)"
        )


def adaptive_augmentation(config: TrainConfig, run_plan: Plan, heldout_images: int) -> str:
    """--ada auto -> "on" for a small set with held-out faces to measure over-fitting on (and no fixed
    --augment), else "off"; "on" and "off" stay as given."""
    if config.ada != "auto":
        return config.ada
    return "on" if run_plan.small_data and heldout_images >= ADA_MIN_HELDOUT and not config.augment else "off"


def run_gamma(config: TrainConfig, run_plan: Plan) -> float:
    """The gamma a new run trains at, from scratch or fine-tuning: --small-data-gamma on a small set (when
    not 0, and gamma is the default: a gamma chosen, or a fine-tune source's other than it, is trained at),
    else --gamma."""
    chosen = config.gamma != TrainConfig().gamma
    if not run_plan.small_data or config.small_data_gamma <= 0 or chosen:
        return config.gamma
    return config.small_data_gamma


def gamma_line(config: TrainConfig, run_plan: Plan) -> str | None:
    """The line a new run on a small set prints about its gamma (None when --gamma stands)."""
    gamma = run_gamma(config, run_plan)
    if gamma == config.gamma:
        return None
    return (
        f"gamma {gamma:g} (--small-data-gamma, in place of {config.gamma:g}: on fewer than {SMALL_DATA:,} "
        "training images D's reconstruction of its faces outruns G's at the usual balance; "
        "--gamma sets another)"
    )


def probe_description(config: TrainConfig, steps: int) -> str:
    """The line a fine-tune to new tags (of `steps` steps) prints about its probe (--probe-steps)."""
    rest = (
        f"the rest at {config.probe_body_lr_scale:g} x" if config.probe_body_lr_scale else "the rest frozen"
    )
    rates = f"train the weights on the new tags at {config.probe_lr_scale:g} x the rate, {rest}"
    if config.probe_steps >= steps:
        return f"probing: all {steps:,} steps {rates}"
    return f"probing: the first {config.probe_steps:,} steps {rates}; then the whole network at the rate"


def fine_tune_steps(train_images: int, batch_size: int) -> int:
    return max(math.ceil(FINE_TUNE_IMAGES / batch_size), train_images // batch_size)


def cpu_minutes(steps: int, config: TrainConfig) -> float:
    """Estimated CPU-minutes for `steps` of `config`'s network (cost ~ filters^2 x pixels)."""
    cost = (config.filters / 32) ** 2 * (config.image_size / 64) ** 2
    return steps * config.batch_size * cost / IMAGES_PER_CPU_SECOND / 60


def plan(config: TrainConfig, train_images: int, *, fine_tune: bool) -> Plan:
    """The run's length: --steps, else --epochs, else the length rule above."""
    per_epoch = max(train_images // config.batch_size, 1)
    if config.steps:
        steps, rule = config.steps, "--steps"
    elif config.epochs:
        steps, rule = config.epochs * per_epoch, f"--epochs {config.epochs}"
    elif fine_tune:
        steps = fine_tune_steps(train_images, config.batch_size)
        rule = f"fine-tuning: {FINE_TUNE_IMAGES:,} images seen, at least one epoch"
    else:
        steps = max(math.ceil(FROM_SCRATCH_IMAGES / config.batch_size), DEFAULT_EPOCHS * per_epoch)
        rule = f"from scratch: {FROM_SCRATCH_IMAGES:,} images seen, at least {DEFAULT_EPOCHS} epochs"
    return Plan(steps, rule, cpu_minutes(steps, config), train_images, fine_tune)


def check_lines(config: TrainConfig, data, init_from: str | None, *, resume: bool = False) -> list[str]:
    """What train.py --check says of the data before anything is written (`data`: a
    preprocess.check.DataCheck): the format and usable rows, the vocabulary (grown from the source's
    when fine-tuning), the tags left out, the planned length and time, the small-data advice and gamma."""
    from tags.vocab import Vocabulary, describe_left_out

    vocab, left_out = data.vocabulary(config.top_k)
    probe_line = None
    run_plan = plan(config, int(data.usable * (1 - config.holdout)), fine_tune=bool(init_from))
    if init_from:
        growth = Vocabulary.load(f"{init_from}/vocab.json").grown_by(vocab)
        vocab_line = growth.describe()
        if growth.added and config.probe_steps:
            probe_line = probe_description(config, run_plan.steps)
    else:
        vocab_line = f"vocabulary ({vocab.dim} condition inputs): {', '.join(vocab.all_tags())}"
    ada = adaptive_augmentation(config, run_plan, int(data.usable * config.holdout))
    lines = [
        vocab_line,
        describe_left_out(left_out, config.top_k),
        run_plan.describe() + " (training images estimated from the usable rows and --holdout)",
        run_plan.advice(),
        probe_line,
        None if resume else gamma_line(config, run_plan),  # (a resumed run's gamma is recorded)
        f"adaptive augmentation of D's inputs (--ada {config.ada}): {ada}"
        + (f" (fewer than {SMALL_DATA:,} training images)" if config.ada == "auto" and ada == "on" else ""),
    ]
    wrap = dict(subsequent_indent="  ", break_on_hyphens=False, break_long_words=False)
    # the data line names the CSV's path and stays whole; the others are wrapped at 100 characters
    return [data.describe(config.tags_csv)] + [textwrap.fill(line, 100, **wrap) for line in lines if line]
