"""How far apart the two backends draw: the same seed and tags through LiteRT and through TensorFlow.

    .venv/bin/python -m bench.quality.backends [--model models/default] [--n 2000] [--seed 7]

Draws --n faces (noise from --seed, tags drawn at random from the model's
groups) with the TFLite export on LiteRT and with the Keras weights on
TensorFlow, and prints the share of uint8 pixel values that differ, the
largest difference in levels (of 255) and the share of faces with any
difference, with the CPU. The figure behind docs/generating.md's "one level
in about 0.004 % of the values".
"""

import numpy as np

from bench import cpu_name, parser


def main(argv=None) -> int:
    p = parser(__doc__, __spec__)
    p.add_argument("--model", default="models/default", help="an exported model (default: models/default)")
    p.add_argument("--n", type=int, default=2000, help="faces (default: 2000)")
    p.add_argument("--seed", type=int, default=7, help="noise and tag seed (default: 7)")
    args = p.parse_args(argv)
    from sampling.generation import sample_inputs, to_uint8
    from sampling.runtime import load_generator

    lite = load_generator(args.model, "litert")
    keras = load_generator(args.model, "tensorflow")
    z, eps = sample_inputs(lite.config, args.n, args.seed)
    rng = np.random.default_rng([args.seed, 3])
    groups = lite.vocab.groups
    tagsets = [
        lite.vocab.tagset({g: values[rng.integers(len(values))] for g, values in groups.items()})
        for _ in range(args.n)
    ]
    cond = lite.vocab.conditions(tagsets)
    a = to_uint8(lite.generate(z, cond, eps)).astype(np.int16)
    b = to_uint8(keras.generate(z, cond, eps)).astype(np.int16)
    diff = np.abs(a - b)
    print(
        f"{args.n} faces, {diff.size} values: {np.mean(diff > 0) * 100:.4f} % differ, by at most "
        f"{diff.max()} level(s); {np.mean(diff.reshape(args.n, -1).max(1) > 0) * 100:.1f} % of the faces "
        f"have a differing value; CPU: {cpu_name()}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
