"""MultiWorkerMirroredStrategy with two worker processes on 127.0.0.1.

Each worker (bench.speed.strategy_steps) runs the conditional BEGAN update
(model.began.CondBEGAN) on its half of each global batch, with TF_CONFIG naming
both workers; the script compares the losses with a single-process run over the
same global batches.

    .venv/bin/python -m bench.speed.multiworker [--steps 6]
"""

import json
import os
import socket
import subprocess
import sys
import time

from bench import ROOT, parser


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_worker(mode, steps, tf_config=None):
    """One process of bench.speed.strategy_steps (run from the checkout, as this one is)."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    if tf_config:
        env["TF_CONFIG"] = json.dumps(tf_config)
    return subprocess.Popen(
        [sys.executable, "-m", "bench.speed.strategy_steps", "--strategy", mode, "--steps", str(steps)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def main():
    p = parser(__doc__, __spec__)
    p.add_argument("--steps", type=int, default=6)
    args = p.parse_args()
    single = start_worker("default", args.steps)
    s_out, s_err = single.communicate(timeout=600)
    single_res = json.loads(s_out.strip().splitlines()[-1])
    workers = [f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"]
    t0 = time.perf_counter()
    procs = [
        start_worker(
            "multiworker",
            args.steps,
            {"cluster": {"worker": workers}, "task": {"type": "worker", "index": i}},
        )
        for i in range(2)
    ]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=600)
        if proc.returncode != 0:
            print(err[-2000:])
            sys.exit(1)
        results.append(json.loads(out.strip().splitlines()[-1]))
    wall = time.perf_counter() - t0
    diffs = [abs(a["d_loss"] - b["d_loss"]) for a, b in zip(single_res["steps"], results[0]["steps"])]
    print(
        f"multiworker: {results[0]['replicas']} replicas over 2 processes on 127.0.0.1, {args.steps} steps "
        f"of global batch 16 in {results[0]['seconds']:.1f} s (wall incl. start-up {wall:.1f} s); "
        f"single process {single_res['seconds']:.1f} s"
    )
    print(
        f"max |L_D(multiworker) - L_D(single)| over the steps: {max(diffs):.2e}; "
        f"final k: {results[0]['steps'][-1]['k']:.3g} vs {single_res['steps'][-1]['k']:.3g}"
    )


if __name__ == "__main__":
    main()
