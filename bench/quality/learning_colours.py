"""Hair-colour accuracy of the round-1 learning run, with any settings changed.

Trains the tiny model on synthetic faces of all 12 hair colours (or those --hair names) and prints
the accuracy (nearest mean fringe colour), the pixel spread within a colour and the confusion
matrix. `--test` runs the learning test's shorter run (4 hair colours, 500 steps of 8 faces). The rows of
docs/default-model/comparison.md's synthetic table:

    .venv/bin/python -m bench.quality.learning_colours                       # the table's last row
    .venv/bin/python -m bench.quality.learning_colours --set cond_every_scale=true
    .venv/bin/python -m bench.quality.learning_colours --set aux_weight=1.0 --set seed=2 --faces-per-pair 80
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from bench import parser
from bench.quality.synthetic_colour import (
    TEST_HAIR,
    TEST_SETTINGS,
)  # numpy and settings only: --help stays quick
from bench.settings import parse_setting
from common.cli import DefaultsHelpFormatter, UserError, exit_on_user_error
from preprocess.synthetic import HAIR_COLOURS


@exit_on_user_error
def main() -> int:
    p = parser(__doc__, __spec__, DefaultsHelpFormatter)
    p.add_argument(
        "--set",
        type=parse_setting,
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override one TrainConfig field (JSON value), e.g. aux_weight=1.0",
    )
    p.add_argument("--faces-per-pair", type=int, default=20, help="synthetic faces per hair x eye pair")
    p.add_argument(
        "--hair",
        nargs="+",
        choices=HAIR_COLOURS,
        metavar="COLOUR",
        help="train on these hair colours only (default: all 12: " + " ".join(HAIR_COLOURS) + ")",
    )
    p.add_argument(
        "--test",
        action="store_true",
        help=f"the learning test's run: hair {' '.join(TEST_HAIR)}, "
        f"{', '.join(f'{k} {v}' for k, v in TEST_SETTINGS.items())} "
        "(--hair and --set still apply)",
    )
    p.add_argument("--threads", type=int, default=0, help="CPU threads for TensorFlow (0: all)")
    args = p.parse_args()

    import numpy as np

    from bench.quality.synthetic_colour import hair_colour_confusion, learning_config
    from model.precision import limit_threads
    from training.trainer import Trainer

    limit_threads(args.threads)
    overrides = dict(args.set)
    hair = args.hair
    if args.test:
        hair = hair or TEST_HAIR
        overrides = {**TEST_SETTINGS, **overrides}
    with tempfile.TemporaryDirectory() as tmp:
        try:
            config = learning_config(tmp, args.faces_per_pair, hair, **overrides)
        except TypeError as exc:  # a setting TrainConfig does not have
            raise UserError(str(exc)) from None
        start = time.time()
        trainer = Trainer(config, Path(tmp) / "run", progress=True)
        trainer.train()
        confusion, spread = hair_colour_confusion(trainer.model.generator, trainer.vocab, trainer.config)
    names = trainer.vocab.groups["hair"]
    print(f"settings changed: {overrides or 'none'}; faces per pair {args.faces_per_pair}")
    print(
        f"hair colour accuracy {np.trace(confusion) / confusion.sum():.3f} (chance {1 / len(names):.3f}); "
        f"pixel spread within a colour {spread:.2f}; {time.time() - start:.0f} s"
    )
    print("requested \\ read back: " + " ".join(n[:4] for n in names))
    for name, row in zip(names, confusion):
        print(f"{name:>8} " + " ".join(f"{c:4d}" for c in row))
    return 0


if __name__ == "__main__":
    sys.exit(main())
