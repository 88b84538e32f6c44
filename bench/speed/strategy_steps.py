"""The conditional BEGAN update under one tf.distribute strategy: one process of
bench.speed.multiworker's comparison, which starts it once alone (--strategy default)
and twice as a two-worker cluster (--strategy multiworker, TF_CONFIG naming both).

    .venv/bin/python -m bench.speed.strategy_steps [--strategy default] [--steps 6]

Runs --steps updates (model.began.CondBEGAN) over the same fixed random global
batches of 16 and prints one JSON line: the replicas in sync, each step's
d_loss, g_loss, loss_real and k, and the seconds the steps took.
"""

import json
import sys
import time

from bench import parser

GLOBAL_BATCH = 16


def fixed_batches(steps: int):
    """`steps` global batches of random tiny faces over 6 tag pairs (the same on every worker),
    and the pair tables CondBEGAN takes."""
    import numpy as np

    rng = np.random.default_rng(0)
    n = GLOBAL_BATCH * steps
    combo = np.arange(n) % 6
    combo_conditions = np.eye(6, dtype=np.float32)
    labels = np.stack([combo % 3, combo % 2], 1)
    data = (
        rng.uniform(-1, 1, (n, 32, 32, 3)).astype(np.float32),
        combo_conditions[combo],
        np.arange(n, dtype=np.int32),
        rng.uniform(-1, 1, (n, 16)).astype(np.float32),
        rng.standard_normal((n, 8)).astype(np.float32),
        rng.uniform(0, 1, n).astype(np.float32),
        rng.uniform(-1, 1, (n, 16)).astype(np.float32),
    )
    return data, combo, combo_conditions, labels


def run_steps(strategy_name: str, steps: int) -> dict:
    """The updates under the strategy: {"replicas", "steps": [{d_loss, g_loss, loss_real, k}], "seconds"}."""
    import keras
    import tensorflow as tf

    from model.began import CondBEGAN
    from model.config import TrainConfig
    from training.trainer import make_strategy

    strategy = make_strategy(strategy_name)
    keras.utils.set_random_seed(3)
    cfg = TrainConfig(
        image_size=32, filters=8, repeats=1, nz=16, embed_dim=8, batch_size=GLOBAL_BATCH, lr=1e-3
    )
    data, combo, combo_conditions, labels = fixed_batches(steps)
    with strategy.scope():
        model = CondBEGAN(cfg, 6, [3, 2], combo, combo_conditions, labels)
        model.build_optimizers()
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    ds = tf.data.Dataset.from_tensor_slices(data).batch(GLOBAL_BATCH).with_options(options)

    @tf.function(autograph=False)  # as training/trainer.py traces it
    def step(batch):
        return strategy.run(model.train_step, args=(batch,))

    def first(value):
        return strategy.experimental_local_results(value)[0].numpy().item()

    out = []
    t0 = time.perf_counter()
    for batch in strategy.experimental_distribute_dataset(ds):
        result = step(batch)
        out.append({k: first(result[k]) for k in ("d_loss", "g_loss", "loss_real", "k")})
    return {"replicas": strategy.num_replicas_in_sync, "steps": out, "seconds": time.perf_counter() - t0}


def main(argv=None) -> int:
    p = parser(__doc__, __spec__)
    p.add_argument(
        "--strategy",
        choices=("default", "multiworker"),
        default="default",
        help="tf.distribute strategy (multiworker reads TF_CONFIG; default: default)",
    )
    p.add_argument("--steps", type=int, default=6, help="updates of global batch 16 (default: 6)")
    args = p.parse_args(argv)
    print(json.dumps(run_steps(args.strategy, args.steps)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
