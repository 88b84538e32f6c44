"""The bare update step: CondBEGAN.train_step alone on one fixed batch, in images/s.
bench.speed.train_throughput runs it in a fresh process per precision (the number
format is set once per process) beside train.py end to end.

    .venv/bin/python -m bench.speed.update_step [--precision fp32] [--filters 64] [--batch 16]
        [--image-size 64] [--steps 20] [--set NAME=VALUE ...]

The network and losses are those of the training settings (TrainConfig with
--set changes), the data a random batch over the real set's 119 hair x eye
pairs (one-hot, 22 dimensions); 3 warm-up steps are not timed. Prints the
images/s as the last line.
"""

import sys
import time

from bench import parser
from bench.settings import parse_setting

N_ROWS, DIM, PAIRS = 256, 22, 119  # rows of the fake data set, condition size, hair x eye pairs


def images_per_second(
    precision_name: str, filters: int, batch: int, size: int, steps: int, settings: dict | None = None
) -> float:
    """Images/s of CondBEGAN.train_step on one fixed batch, after 3 untimed steps."""
    import numpy as np
    import tensorflow as tf

    from model import precision
    from model.began import CondBEGAN
    from model.config import TrainConfig

    precision.apply(precision_name)
    cfg = TrainConfig(image_size=size, filters=filters, batch_size=batch, **(settings or {}))
    rng = np.random.default_rng(0)
    combo = np.arange(N_ROWS) % PAIRS
    combo_conditions = np.zeros((PAIRS, DIM), np.float32)
    combo_conditions[np.arange(PAIRS), np.arange(PAIRS) % 12] = 1
    combo_conditions[np.arange(PAIRS), 12 + np.arange(PAIRS) % 10] = 1
    labels = np.stack([combo % 12, combo % 10], 1)
    model = CondBEGAN(cfg, DIM, [12, 10], combo, combo_conditions, labels)
    model.build_optimizers()
    step = tf.function(model.train_step, autograph=False)  # as training/trainer.py traces it
    batch_data = (
        tf.constant(rng.uniform(-1, 1, (batch, size, size, 3)), tf.float32),
        tf.constant(combo_conditions[combo[:batch]]),
        tf.range(batch),
        tf.constant(rng.uniform(-1, 1, (batch, cfg.nz)), tf.float32),
        tf.constant(rng.standard_normal((batch, cfg.embed_dim)), tf.float32),
        tf.constant(rng.uniform(0, 1, batch), tf.float32),
        tf.constant(rng.uniform(-1, 1, (batch, cfg.nz)), tf.float32),
    )
    for _ in range(3):
        step(batch_data)["d_loss"].numpy()
    t = time.perf_counter()
    for _ in range(steps):
        step(batch_data)["d_loss"].numpy()
    return steps * batch / (time.perf_counter() - t)


def main(argv=None) -> int:
    p = parser(__doc__, __spec__)
    p.add_argument(
        "--precision", choices=("auto", "fp32", "bf16"), default="fp32", help="number format (default: fp32)"
    )
    p.add_argument("--filters", type=int, default=64, help="filters n (default: 64)")
    p.add_argument("--batch", type=int, default=16, help="batch size (default: 16)")
    p.add_argument(
        "--image-size", "--size", dest="size", type=int, default=64, help="image size (default: 64)"
    )
    p.add_argument("--steps", type=int, default=20, help="timed steps (default: 20)")
    p.add_argument(
        "--set",
        type=parse_setting,
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a TrainConfig field (JSON value), e.g. diversity_weight=0",
    )
    args = p.parse_args(argv)
    print(images_per_second(args.precision, args.filters, args.batch, args.size, args.steps, dict(args.set)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
