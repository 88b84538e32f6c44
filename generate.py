#!/usr/bin/env python3
"""Generate anime faces from tags with a trained conditional BEGAN.

    python generate.py --tags "blue hair red eyes"               # 5x5 grid -> samples/blue_hair_red_eyes.png
    python generate.py --tags-file testing_tags.txt --format both  # samples/cgan.png + sample_<id>_<k>.jpg
    python generate.py --sweep hair --tags "red eyes"            # fixed z, one column per hair colour
    python generate.py --model runs/mine --sweep smile           # fixed z, without and with an other tag
    python generate.py --interpolate "blue hair" "green hair" --cells 8
    python generate.py --model runs/mine --tags "pink hair" --grade
    python generate.py --edit face.png --tags "green hair" --strip   # your face, recoloured

With a model that has generator.tflite this runs on LiteRT and never imports TensorFlow. Every failure a
user can cause ends as one line on stderr and exit status 2 (no traceback).
"""

from __future__ import annotations

import argparse
import sys

from common.env import require_packages

require_packages("generate.py")  # one line, not a traceback, outside .venv

from checker.checker import load_checker
from common.cli import ArgumentParser, ExamplesHelpFormatter, exit_on_user_error
from common.quiet import quiet_libraries
from evaluate.baseline import baseline_lines
from evaluate.tag_support import other_tag_lines
from sampling.drawing import Drawing
from sampling.generation import read_tags_file
from sampling.options import COMMAND_LINE, GROUPS, OPTIONS, check_options, flag
from sampling.outputs import save
from sampling.runtime import load_generator
from sampling.sheet import draw


def build_parser() -> argparse.ArgumentParser:
    p = ArgumentParser(
        prog="generate.py",
        formatter_class=ExamplesHelpFormatter,
        description=__doc__.split("\n\n")[0],
        epilog="examples:\n" + __doc__.split("\n\n")[1],
    )
    groups = {key: p.add_argument_group(title) for key, title in GROUPS.items()}
    for name, option in (OPTIONS | COMMAND_LINE).items():  # help, default and range from one table
        groups.get(option.group, p).add_argument(option.spelling or flag(name), dest=name, **option.argparse)
    groups["draw"].add_argument(
        "--steps", dest="cells", type=int, default=argparse.SUPPRESS, help=argparse.SUPPRESS
    )  # the older spelling; train.py's --steps are training steps
    return p


@exit_on_user_error
def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    quiet_libraries(args.verbose)
    check_options(vars(args))  # every range and the modes that exclude each other, before any work
    if args.edit or args.from_tags or args.strip:
        from editing.recolour import edit_to_file

        edit_to_file(
            args.model,
            args.edit,
            tags=args.tags,
            sweep=args.sweep,
            from_tags=args.from_tags,
            strip=args.strip,
            seed=args.seed,
            scale=args.scale,
            out=args.out,
        )
        return 0
    if args.serve:
        from studio import serve

        return serve(args.model, args.host, args.port)
    lines = read_tags_file(args.tags_file) if args.tags_file else ()
    drawing = None if args.list_tags else Drawing(lines=lines, **{k: getattr(args, k) for k in OPTIONS})
    generator = load_generator(args.model, args.backend)
    if drawing is None:  # --list-tags draws nothing: no sampling options, and D is not opened
        print(generator.vocab.listing())
        return 0
    checker = load_checker(generator.model_dir) if drawing.graded and args.format != "files" else None
    sheet = draw(generator, drawing, checker)
    print(sheet.caption)
    if checker is not None:
        print(
            "\n".join(
                sheet.grade_lines() + baseline_lines(sheet) + other_tag_lines(sheet, checker, generator)
            )
        )
    print("\n".join(save(sheet, drawing, generator.vocab, out=args.out, model=args.model, fmt=args.format)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
