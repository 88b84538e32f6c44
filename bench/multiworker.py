"""MultiWorkerMirroredStrategy with two worker processes on 127.0.0.1.

Each worker runs the conditional BEGAN update (model.began.CondBEGAN) on its
half of each global batch, with TF_CONFIG naming both workers; the script
compares the losses with a single-process run over the same global batches.

    .venv/bin/python bench/multiworker.py [--steps 6]
"""
import argparse
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

WORKER = r"""
import json, os, sys, time
import numpy as np
import tensorflow as tf
sys.path.insert(0, ROOT)
import keras
from model.config import TrainConfig
from model.began import CondBEGAN
from training.trainer import make_strategy

strategy = make_strategy(MODE)
keras.utils.set_random_seed(3)
cfg = TrainConfig(image_size=32, filters=8, repeats=1, nz=16, embed_dim=8, batch_size=16, lr=1e-3)
rng = np.random.default_rng(0)
n = 16 * STEPS
combo = np.arange(n) % 6
cc = np.eye(6, dtype=np.float32)
labels = np.stack([combo % 3, combo % 2], 1)
data = (rng.uniform(-1, 1, (n, 32, 32, 3)).astype(np.float32), cc[combo], np.arange(n, dtype=np.int32),
        rng.uniform(-1, 1, (n, 16)).astype(np.float32), rng.standard_normal((n, 8)).astype(np.float32),
        rng.uniform(0, 1, n).astype(np.float32), rng.uniform(-1, 1, (n, 16)).astype(np.float32))
with strategy.scope():
    model = CondBEGAN(cfg, 6, [3, 2], combo, cc, labels)
    model.build_optimizers()
ds = tf.data.Dataset.from_tensor_slices(data).batch(16)
options = tf.data.Options()
options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
ds = ds.with_options(options)

@tf.function
def step(batch):
    return strategy.run(model.train_step, args=(batch,))

out = []
t0 = time.perf_counter()
for batch in strategy.experimental_distribute_dataset(ds):
    r = step(batch)
    first = lambda v: strategy.experimental_local_results(v)[0].numpy().item()
    out.append({k: first(r[k]) for k in ("d_loss", "g_loss", "loss_real", "k")})
print(json.dumps({"replicas": strategy.num_replicas_in_sync, "steps": out,
                  "seconds": time.perf_counter() - t0}))
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_worker(mode, steps, tf_config=None):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    if tf_config:
        env["TF_CONFIG"] = json.dumps(tf_config)
    code = f"ROOT = {str(ROOT)!r}\nMODE = {mode!r}\nSTEPS = {steps}\n" + WORKER
    return subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=6)
    args = p.parse_args()
    single = start_worker("default", args.steps)
    s_out, s_err = single.communicate(timeout=600)
    single_res = json.loads(s_out.strip().splitlines()[-1])
    workers = [f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"]
    t0 = time.perf_counter()
    procs = [start_worker("multiworker", args.steps, {"cluster": {"worker": workers}, "task": {"type": "worker", "index": i}})
             for i in range(2)]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=600)
        if proc.returncode != 0:
            print(err[-2000:])
            sys.exit(1)
        results.append(json.loads(out.strip().splitlines()[-1]))
    wall = time.perf_counter() - t0
    diffs = [abs(a["d_loss"] - b["d_loss"]) for a, b in zip(single_res["steps"], results[0]["steps"])]
    print(f"multiworker: {results[0]['replicas']} replicas over 2 processes on 127.0.0.1, {args.steps} steps "
          f"of global batch 16 in {results[0]['seconds']:.1f} s (wall incl. start-up {wall:.1f} s); "
          f"single process {single_res['seconds']:.1f} s")
    print(f"max |L_D(multiworker) - L_D(single)| over the steps: {max(diffs):.2e}; "
          f"final k: {results[0]['steps'][-1]['k']:.3g} vs {single_res['steps'][-1]['k']:.3g}")


if __name__ == "__main__":
    main()
