"""python -m tags "some text" [--vocab vocab.json]: print the canonical tags;
python -m tags --list-tags: the valid tags by group. Errors exit with status 2."""

import argparse
import sys
from pathlib import Path

from common.cli import ArgumentParser, ExamplesHelpFormatter, exit_on_user_error

DEFAULT_VOCAB = Path(__file__).resolve().parents[1] / "models" / "default" / "vocab.json"


@exit_on_user_error
def main(argv=None) -> int:
    p = ArgumentParser(prog="python -m tags", description=__doc__, formatter_class=ExamplesHelpFormatter)
    p.add_argument("text", nargs="?", help='tag text such as "Blue Hair, red eyes"')
    p.add_argument("--vocab", default=None, help="a model's vocab.json").shown_default = "the bundled model's"
    p.add_argument("--list-tags", dest="list", action="store_true", help="list the valid tags by group")
    p.add_argument("--list", dest="list", action="store_true", help=argparse.SUPPRESS)  # older spelling
    p.add_argument("--seed", type=int, default=0, help="seed for drawing a group left out")
    args = p.parse_args(argv)
    import numpy as np

    from tags import TagError
    from tags.parser import complete, parse
    from tags.vocab import Vocabulary

    if not 0 <= args.seed <= 2**32 - 1:
        raise TagError(f"--seed must be between 0 and {2**32 - 1}, not {str(args.seed)[:20]}")
    vocab = Vocabulary.load(args.vocab or DEFAULT_VOCAB)
    if args.list:
        print(vocab.listing())
        return 0
    if args.text is None:
        raise TagError('give tag text, e.g. python -m tags "blue hair red eyes", or --list-tags')
    query = parse(args.text, vocab)
    tagset = complete(query, vocab, np.random.default_rng(args.seed), 1)[0]
    missing = [g for g in vocab.groups if g not in query.values]
    print(tagset.text)
    if missing:
        print(f"({', '.join(missing)} not given: drawn from the training data)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
