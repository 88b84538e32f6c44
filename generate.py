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
from common.cli import ArgumentParser, ExamplesHelpFormatter, UserError, exit_on_user_error
from common.quiet import quiet_libraries
from evaluate.baseline import baseline_lines
from evaluate.tag_support import other_tag_lines
from sampling.drawing import Drawing
from sampling.generation import read_tags_file
from sampling.options import OPTIONS, check_options, check_range, flag
from sampling.outputs import DEFAULT_MODEL, save
from sampling.runtime import load_generator
from sampling.sheet import draw


def build_parser() -> argparse.ArgumentParser:
    p = ArgumentParser(
        prog="generate.py",
        formatter_class=ExamplesHelpFormatter,
        description=__doc__.split("\n\n")[0],
        epilog="examples:\n" + __doc__.split("\n\n")[1],
    )
    src = p.add_argument_group("model")
    src.add_argument(
        "--model",
        default=str(DEFAULT_MODEL),
        help="run directory or exported model directory (default: the bundled models/default)",
    )
    src.add_argument(
        "--backend",
        default="auto",
        choices=["auto", "litert", "tensorflow"],
        help="auto = LiteRT when generator.tflite exists (fast start), else TensorFlow",
    )
    what, out = p.add_argument_group("what to draw"), p.add_argument_group("output")
    out.add_argument(
        "--out",
        default=None,
        help="a .png path for the grid (sample files go beside it), or a "
        "folder for everything (default: samples/, samples/<model>/ for a model other than the "
        "bundled one; file names from the canonical tags plus what differs: seed, seeds, n, "
        "cells, truncation, best-of)",
    )
    out.add_argument(
        "--format",
        default="grid",
        choices=["grid", "files", "both"],
        help="grid PNG, sample_<id>_<k>.jpg files, or both",
    )
    for name, option in OPTIONS.items():  # the drawing's parameters: help, default and range from one table
        (out if option.output else what).add_argument(flag(name), **option.argparse)
    what.add_argument(
        "--steps", dest="cells", type=int, default=argparse.SUPPRESS, help=argparse.SUPPRESS
    )  # the older spelling; train.py's --steps are training steps
    what.add_argument("--tags-file", default=None, help="MLDS test file with 'id,text' lines")
    what.add_argument("--list-tags", action="store_true", help="list the model's tags by group and exit")
    edit = p.add_argument_group("recolour a face you bring (needs TensorFlow: a few seconds per face)")
    edit.add_argument(
        "--edit",
        default=None,
        metavar="FACE",
        help="an image of a face: find it in the generator and draw it with --tags replacing "
        "its own (groups not named keep the face's colours), or --sweep a group",
    )
    edit.add_argument(
        "--from",
        dest="from_tags",
        default=None,
        metavar="TEXT",
        help="the face's own tags (default: read by the model's tag checker)",
    )
    edit.add_argument(
        "--strip",
        action="store_true",
        help="with --edit: write original | reconstruction | edit side by side",
    )
    web = p.add_argument_group("tag studio (a local web page: pick tags, compare models, grade, download)")
    web.add_argument(
        "--serve",
        action="store_true",
        help="start the studio for --model instead of drawing; Ctrl-C stops it",
    )
    web.add_argument("--port", type=int, default=8765, help="studio port (0: any free port)")
    web.add_argument("--host", default="127.0.0.1", help="studio address (127.0.0.1: this machine only)")
    p.add_argument(
        "--verbose",
        action="store_true",
        help="also show the libraries' logs (TensorFlow, LiteRT); or set TAGFACE_VERBOSE=1",
    )
    return p


@exit_on_user_error
def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    quiet_libraries(args.verbose)
    check_range("port", args.port, 0, 65535)
    check_options(vars(args))  # every range and the modes that exclude each other, before any work
    if args.edit or args.from_tags or args.strip:
        return _edit(args)
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


def _edit(args) -> int:
    """--edit FACE with --tags TEXT or --sweep GROUP: one PNG (the edit, a strip or a sweep row)."""
    if not args.edit:
        raise UserError("--from and --strip go with --edit FACE")
    if bool(args.tags) == bool(args.sweep) or (args.tags and len(args.tags) > 1):
        raise UserError('--edit needs one --tags TEXT (e.g. "green hair") or --sweep hair|eyes')
    from editing.recolour import edit_to_file

    edit_to_file(
        args.model,
        args.edit,
        tags=(args.tags or [None])[0],
        sweep=args.sweep,
        from_tags=args.from_tags,
        strip=args.strip,
        seed=args.seed,
        scale=args.scale,
        out=args.out,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
