"""The synthetic hair-colour check behind the learning test and its bench.

A tiny conditional BEGAN is trained on procedural faces of the 12 hair colours (the test: 4 of them);
each sample's hair colour is read back as the mean colour of the fringe (the
pixels that are hair in every drawing) and counted as right when that mean is
nearest to the requested colour. One place, so the test and
`bench.quality.learning_colours` measure the same thing. (Lives in bench/quality/: only the
learning test and that bench use it.)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bench.settings import ROUND2_CONTROL
from model.config import TrainConfig
from preprocess.synthetic import COLOURS, hair_region, write_synthetic_set

# The round-1 learning run: 32x32, n=16, 3,000 steps, 20 faces per hair x eye pair, all 12 hair colours
# (docs/default-model/comparison.md's synthetic table; the bench's default).
LEARNING_SETTINGS = dict(
    ROUND2_CONTROL,
    holdout=0.0,
    image_size=32,
    filters=16,
    repeats=1,
    nz=16,
    embed_dim=8,
    batch_size=16,
    lr=5e-4,
    gamma=0.7,
    small_data_gamma=0.0,  # (the 160 faces are a small set: this gamma, not 0.9)
    aux_weight=0.2,
    diversity_weight=0.02,
    cond_every_scale=False,
    steps=3000,
    log_every=100,
    checkpoint_every=100000,
    precision="fp32",
    seed=0,
    # the settings the table's 0.93 was measured with, before round 2's defaults (projection head,
    # margin form of the wrong-condition term), which were chosen on the real set
    projection_weight=0.0,
    wrong_form="course",
    # round 1-2's k_t control (ROUND2_CONTROL, at this test's own gamma 0.7): round 3's default,
    # k_scope game, does not balance on these faces
    lr_patience=3,
)
FACES_PER_PAIR = 20
EYES = ["blue", "red"]
# The learning test runs the same settings on 4 well-spread hair colours for 500 steps of 8 faces (AMD EPYC
# Zen 5, one thread, seeds 0-3: 0.975 / 0.925 / 1.000 / 0.950; with the tags shuffled across the images
# 0.100). Batches of 16 read 0.975 / 0.900 / 0.975 / 0.850 (shuffled: 0.250) at a third more CPU time. Round 3
# ran 6 colours for 1,000 steps of 16 (0.92 / 0.98 / 0.65 / 0.72); all 12 for 3,000 steps diverged at one
# thread (step 60, L(G(z)) 6.7).
TEST_HAIR = ["blonde", "blue", "green", "red"]
TEST_SETTINGS = dict(steps=500, batch_size=8)  # the TrainConfig fields the test's run changes


def learning_config(
    root: str | Path, faces_per_pair: int = FACES_PER_PAIR, hair: list[str] | None = None, **overrides
):
    """Write the synthetic set under `root` (all 12 hair colours unless `hair` names fewer) and return
    its TrainConfig."""
    root = Path(root)
    faces = write_synthetic_set(
        root / "faces", faces_per_pair, size=32, seed=0, hair=hair, eyes=EYES, formats=("2018",)
    )
    settings = dict(
        LEARNING_SETTINGS,
        images=str(faces / "images"),
        tags_csv=str(faces / "tags_2018.csv"),
        cache_dir=str(root / "cache"),
    )
    settings.update(overrides)
    return TrainConfig(**settings)


def hair_colour_confusion(generator, vocab, config, per_colour: int = 10, seed: int = 1):
    """(confusion [requested, read back] over the vocabulary's hair colours, smallest
    within-colour mean pixel difference between samples of the same tags)."""
    hair_names = vocab.groups["hair"]
    palette = np.array([COLOURS[h] for h in hair_names], float)
    mask = hair_region(config.image_size)
    rng = np.random.default_rng(seed)
    confusion = np.zeros((len(hair_names), len(hair_names)), int)
    spreads = []
    for index, hair in enumerate(hair_names):
        tagset = vocab.tagset({"hair": hair, "eyes": EYES[index % 2]})
        cond = np.repeat(vocab.condition(tagset)[None], per_colour, 0)
        z = rng.uniform(-1, 1, (per_colour, config.nz)).astype(np.float32)
        inputs = [z, cond]
        if config.cond_augment:
            inputs.append(rng.standard_normal((per_colour, config.embed_dim)).astype(np.float32))
        images = (np.clip(generator(inputs, training=False).numpy(), -1, 1) + 1) * 127.5
        mean_colour = images[:, mask].mean(axis=1)
        nearest = np.argmin(((mean_colour[:, None] - palette[None]) ** 2).sum(-1), axis=1)
        np.add.at(confusion[index], nearest, 1)
        spreads.append(float(np.abs(images[:, None] - images[None]).mean()))
    return confusion, min(spreads)
