"""MirroredStrategy on two logical CPU devices gives the same losses, weights and
optimiser moments as one device for the same seed and global batch (the update is the
global mean). Both
runs share one child process (the logical devices must be set before TensorFlow
starts, so not in the test's own), each from the same seed."""

import json
import subprocess
import sys

import numpy as np
import pytest

from tests.conftest import ROOT

SCRIPT = r"""
import json, sys
import numpy as np
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
sys.path.insert(0, ROOT)
import keras
from model.config import TrainConfig
from model.began import CondBEGAN
from training.trainer import make_strategy

def run(mode):
    strategy = make_strategy(mode)
    keras.utils.set_random_seed(3)
    # the mode-seeking term pairs images within each replica, so it is left out of the equality check
    cfg = TrainConfig(image_size=32, filters=4, repeats=1, nz=8, embed_dim=4, batch_size=8, lr=1e-3,
                      diversity_weight=0.0)
    rng = np.random.default_rng(0)
    n = 32
    combo = np.arange(n) % 4
    combo_conditions = np.eye(4, dtype=np.float32)
    labels = np.stack([combo % 2, combo % 4], 1)
    images = rng.uniform(-1, 1, (n, 32, 32, 3)).astype(np.float32)
    with strategy.scope():
        model = CondBEGAN(cfg, 4, [2, 4], combo, combo_conditions, labels)
        model.build_optimizers()
    ds = tf.data.Dataset.from_tensor_slices((
        images, combo_conditions[combo], np.arange(n, dtype=np.int32),
        rng.uniform(-1, 1, (n, 8)).astype(np.float32), rng.standard_normal((n, 4)).astype(np.float32),
        rng.uniform(0, 1, n).astype(np.float32), rng.uniform(-1, 1, (n, 8)).astype(np.float32))).batch(8)

    @tf.function(autograph=False)  # as the trainer traces it
    def step(batch):
        return strategy.run(model.train_step, args=(batch,))

    def weights():  # G's and D's weights, flattened
        both = model.generator.weights + model.discriminator.weights
        return np.concatenate([np.ravel(w.numpy()) for w in both])

    before = weights()
    out = []
    for batch in strategy.experimental_distribute_dataset(ds):
        r = step(batch)
        first = lambda v: strategy.experimental_local_results(v)[0].numpy().item()
        out.append({k: first(r[k]) for k in ("d_loss", "g_loss", "loss_real", "loss_fake", "k", "M")})
    after = weights()
    # Adam's moments (not its step counter) scale with the gradient, which the weights barely do
    moments = np.concatenate([np.ravel(v.numpy()) for opt in (model.g_optimizer, model.d_optimizer)
                              for v in opt.variables if v.shape.rank])
    return {"replicas": strategy.num_replicas_in_sync, "steps": out, "before": before[:4000:7].tolist(),
            "after": after[:4000:7].tolist(), "moved": float(np.abs(after - before).mean()),
            "moments": moments[::7].tolist()}


print(json.dumps({mode: run(mode) for mode in ("default", "mirrored")}))
"""


def _run() -> dict:
    code = f"ROOT = {str(ROOT)!r}\n" + SCRIPT
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_mirrored_strategy_matches_single_device():
    runs = _run()
    single, mirrored = runs["default"], runs["mirrored"]
    assert single["replicas"] == 1 and mirrored["replicas"] == 2
    assert len(single["steps"]) == len(mirrored["steps"]) == 4
    for a, b in zip(single["steps"], mirrored["steps"]):
        for key in a:
            np.testing.assert_allclose(a[key], b[key], rtol=2e-3, atol=1e-5, err_msg=key)
    # both started from the same weights, the steps moved them (otherwise equal losses would be trivial),
    # and they moved them to the same place
    np.testing.assert_array_equal(single["before"], mirrored["before"])
    assert single["moved"] > 1e-4 and mirrored["moved"] > 1e-4, (single["moved"], mirrored["moved"])
    np.testing.assert_allclose(single["after"], mirrored["after"], rtol=2e-3, atol=2e-5)
    # Adam is nearly blind to a gradient's scale, so equal weights would not show a global batch's
    # gradient summed over the replicas instead of averaged; its moments, which follow the gradient
    # (first) and its square (second), do
    assert np.abs(single["moments"]).max() > 0
    np.testing.assert_allclose(single["moments"], mirrored["moments"], rtol=5e-3, atol=1e-7)
