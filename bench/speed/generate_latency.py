"""Generation latency: ./run.sh "blue hair red eyes" end to end (venv present),
median of 5, and the generator forward pass alone (25 faces) on LiteRT and TF.

    .venv/bin/python -m bench.speed.generate_latency [--model models/default]
"""

import os
import statistics
import subprocess
import tempfile
import time

from bench import ROOT, parser


def main():
    p = parser(__doc__, __spec__)
    p.add_argument("--model", default=str(ROOT / "models" / "default"))
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args()
    env = dict(os.environ, TAGFACE_MODEL=args.model)
    times = []
    with tempfile.TemporaryDirectory() as cwd:
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            subprocess.run(
                [str(ROOT / "run.sh"), "blue hair red eyes"],
                cwd=cwd,
                env=env,
                check=True,
                capture_output=True,
            )
            times.append(time.perf_counter() - t0)
    print(
        f'./run.sh "blue hair red eyes" (25 faces, 5x5 grid): median {statistics.median(times):.3f} s '
        f"over {args.repeats} runs (min {min(times):.3f}, max {max(times):.3f})"
    )

    import numpy as np

    from sampling.generation import sample_inputs
    from sampling.runtime import load_generator

    for backend in ("litert", "tensorflow"):
        gen = load_generator(args.model, backend)
        z, eps = sample_inputs(gen.config, 25, 0)
        cond = np.repeat(gen.vocab.conditions([gen.vocab.tagset({"hair": "blue", "eyes": "red"})]), 25, 0)
        gen.generate(z, cond, eps)  # warm-up
        runs = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            gen.generate(z, cond, eps)
            runs.append(time.perf_counter() - t0)
        print(f"forward pass, 25 faces, {backend}: median {statistics.median(runs) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
