#!/usr/bin/env python3
"""Generate anime faces from tags with a trained conditional BEGAN.

    python generate.py --tags "blue hair red eyes"               # 5x5 grid -> samples/blue_hair_red_eyes.png
    python generate.py --tags-file testing_tags.txt --format both  # samples/cgan.png + sample_<id>_<k>.jpg
    python generate.py --sweep hair --tags "red eyes"            # fixed z, one column per hair colour
    python generate.py --model runs/mine --sweep smile           # fixed z, without and with an other tag
    python generate.py --interpolate "blue hair" "green hair" --cells 8
    python generate.py --model runs/mine --tags "pink hair" --grade
    python generate.py --edit face.png --tags "green hair" --strip   # your face, recoloured

With a model that has generator.tflite this runs on LiteRT and never imports
TensorFlow. Every failure a user can cause ends as one line on stderr and
exit status 2 (no traceback).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from common.env import require_packages

require_packages("generate.py")  # one line, not a traceback, outside .venv

from checker.checker import load_checker
from common.cli import ArgumentParser, ExamplesHelpFormatter, UserError, exit_on_user_error
from common.quiet import quiet_libraries
from evaluate.sheet import draw_sheet
from evaluate.tag_support import other_tag_lines
from sampling import generation, outputs
from sampling.grid import full_rows_cols, save_png
from sampling.outputs import DEFAULT_CELLS, DEFAULT_MODEL
from sampling.runtime import load_generator


def build_parser() -> argparse.ArgumentParser:
    p = ArgumentParser(prog="generate.py", formatter_class=ExamplesHelpFormatter,
                                description=__doc__.split("\n\n")[0],
                                epilog="examples:\n" + __doc__.split("\n\n")[1])
    src = p.add_argument_group("model")
    src.add_argument("--model", default=str(DEFAULT_MODEL), help="run directory or exported model directory "
                     "(default: the bundled models/default)")
    src.add_argument("--backend", default="auto", choices=["auto", "litert", "tensorflow"],
                     help="auto = LiteRT when generator.tflite exists (fast start), else TensorFlow")
    what = p.add_argument_group("what to draw")
    what.add_argument("--tags", action="append", default=None, metavar="TEXT",
                      help='tag text such as "blue hair red eyes" (repeatable; a group left out is drawn '
                           "per image from the training data)")
    what.add_argument("--tags-file", default=None, help="MLDS test file with 'id,text' lines")
    what.add_argument("--n", type=int, default=None,
                      help="samples per tag text (default: 25 for one --tags, 5 for several or a tags file)")
    what.add_argument("--seed", type=int, default=0, help="random seed: the same seed and tags give the same faces")
    what.add_argument("--seeds", default=None, metavar="RANGE",
                      help="one face per seed for each tag text, a column per seed: 0-7 or 1,3,5-7 "
                           "(replaces --n and --seed; column k is --seed k's first face)")
    what.add_argument("--sweep", default=None, metavar="GROUP|TAG",
                      help="fixed z, one column per colour of a group (hair, eyes), or for an other tag of "
                           "the model (--list-tags) a column without it and one with it")
    what.add_argument("--interpolate", nargs=2, metavar=("A", "B"), default=None,
                      help="between two tag texts (same z) or two integer seeds (same --tags)")
    what.add_argument("--cells", type=int, default=DEFAULT_CELLS, help="cells of --interpolate")
    what.add_argument("--steps", dest="cells", type=int, default=argparse.SUPPRESS,
                      help=argparse.SUPPRESS)  # the older spelling; train.py's --steps are training steps
    what.add_argument("--truncation", type=float, default=1.0, metavar="T",
                      help="scale z towards 0 by T (1: off; lower: cleaner but less varied faces)")
    what.add_argument("--best-of", type=int, default=1, metavar="K",
                      help="draw K faces per cell and keep the one D reconstructs best under its tags "
                           "(1: off; slower by about 3.5K)")
    what.add_argument("--list-tags", action="store_true", help="list the model's tags by group and exit")
    edit = p.add_argument_group("recolour a face you bring (needs TensorFlow: a few seconds per face)")
    edit.add_argument("--edit", default=None, metavar="FACE",
                      help="an image of a face: find it in the generator and draw it with --tags replacing "
                           "its own (groups not named keep the face's colours), or --sweep a group")
    edit.add_argument("--from", dest="from_tags", default=None, metavar="TEXT",
                      help="the face's own tags (default: read by the model's tag checker)")
    edit.add_argument("--strip", action="store_true",
                      help="with --edit: write original | reconstruction | edit side by side")
    out = p.add_argument_group("output")
    out.add_argument("--out", default=None,
                     help="a .png path for the grid (sample files go beside it), or a folder for everything "
                          "(default: samples/, samples/<model>/ for a model other than the bundled one; file "
                          "names from the canonical tags plus what differs: seed, seeds, n, truncation, "
                          "best-of)")
    out.add_argument("--format", default="grid", choices=["grid", "files", "both"],
                     help="grid PNG, sample_<id>_<k>.jpg files, or both")
    out.add_argument("--cols", type=int, default=None,
                     help="grid columns (default: one per --seeds seed, else full rows: 5 for 25, 4 for 8)")
    out.add_argument("--labels", action="store_true",
                     help="tag text beside each grid row (on by default for several tag texts and --sweep)")
    out.add_argument("--scale", type=int, default=1, help="nearest-neighbour upscaling of the grid")
    out.add_argument("--grade", action="store_true",
                     help="mark each cell's tags right/wrong with the model's tag checker")
    web = p.add_argument_group("tag studio (a local web page: pick tags, compare models, grade, download)")
    web.add_argument("--serve", action="store_true", help="start the studio for --model instead of drawing; "
                                                          "Ctrl-C stops it")
    web.add_argument("--port", type=int, default=8765, help="studio port (0: any free port)")
    p.add_argument("--verbose", action="store_true",
                   help="also show the libraries' logs (TensorFlow, LiteRT); or set TAGFACE_VERBOSE=1")
    web.add_argument("--host", default="127.0.0.1", help="studio address (127.0.0.1: this machine only)")
    return p


@exit_on_user_error
def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    quiet_libraries(args.verbose)
    args.seed_list = generation.parse_seeds(args.seeds) if args.seeds else None
    if args.cols is None and args.seed_list:
        args.cols = len(args.seed_list)
    for name in generation.LIMITS:  # every number's range, before any work
        generation.check_option(name, getattr(args, name))
    if args.best_of > 1 and (args.sweep or args.interpolate):
        raise UserError("--best-of picks each cell's face on its own, which would break the fixed z of "
                        "--sweep and --interpolate; use it with --tags or --tags-file")
    if args.serve and (args.best_of > 1 or args.truncation != 1.0):
        raise UserError("--serve takes no --truncation or --best-of: the studio page has its own truncation "
                        "control (and no best-of yet); draw best-of on the command line instead")
    if args.edit or args.from_tags or args.strip:
        return _edit(args)
    if args.serve:
        from studio import serve

        return serve(args.model, args.host, args.port)
    if outputs.is_png(args.out) and Path(args.out).is_dir():
        raise UserError(f"--out {args.out} is a folder; give a .png file path for the grid, or the folder "
                        "without .png")
    if not args.list_tags and not (args.tags or args.tags_file or args.sweep or args.interpolate):
        raise UserError('nothing to draw: give --tags "blue hair red eyes", --tags-file FILE, --sweep or '
                        "--interpolate (see --help)")
    items = generation.read_tags_file(args.tags_file) if args.tags_file else None
    generator = load_generator(args.model, args.backend)
    if args.list_tags:  # draws nothing: no sampling options, and D is not opened
        print(generator.vocab.listing())
        return 0
    generator.truncation, generator.best_of = args.truncation, args.best_of
    if args.truncation != 1.0:
        print(f"truncation {args.truncation:g}: z scaled towards 0 (1 is off)")
    if args.best_of > 1:
        print(f"best of {args.best_of}: each face is the one of {args.best_of} that D reconstructs best")
    if args.sweep or args.interpolate:
        picture = (outputs.sweep_picture if args.sweep else outputs.interpolation_picture)(args, generator)
        save_png(picture.path, picture.image)
        print(f"{picture.caption}\nwrote {picture.path}")
        return 0
    return _draw_sheet(args, generator, items or [(None, text) for text in args.tags])


EDIT_REFUSES = ("tags_file", "seeds", "interpolate", "list_tags", "serve", "grade")


def _edit(args) -> int:
    """--edit FACE with --tags TEXT or --sweep GROUP: one PNG (the edit, a strip or a sweep row)."""
    if not args.edit:
        raise UserError("--from and --strip go with --edit FACE")
    clash = [f"--{name.replace('_', '-')}" for name in EDIT_REFUSES if getattr(args, name)]
    if clash or args.best_of > 1 or args.truncation != 1.0:
        raise UserError(f"--edit draws one face you bring; it does not take "
                        f"{', '.join(clash) or '--best-of / --truncation'}")
    if bool(args.tags) == bool(args.sweep) or (args.tags and len(args.tags) > 1):
        raise UserError('--edit needs one --tags TEXT (e.g. "green hair") or --sweep hair|eyes')
    from editing.recolour import edit_to_file

    edit_to_file(args.model, args.edit, tags=(args.tags or [None])[0], sweep=args.sweep, from_tags=args.from_tags,
                 strip=args.strip, seed=args.seed, scale=args.scale, out=args.out)
    return 0


def _draw_sheet(args, generator, items: list[tuple[str | None, str]]) -> int:
    """--tags or --tags-file (`items`: (id, tag text); a tags file has ids): a sheet, sample files, or both."""
    tags_file = args.tags_file is not None  # the course's: one cell per line
    if tags_file:
        per_text, seeds = args.n or 5, None
    else:
        seeds = args.seed_list
        per_text = len(seeds) if seeds else args.n or (25 if len(items) == 1 else 5)
    requests = generation.build_requests(items, generator.vocab, per_text, seeds[0] if seeds else args.seed)
    if args.cols is None:
        args.cols = full_rows_cols(len(requests) if tags_file else per_text)
    generation.check_output_size(sum(len(r.tagsets) for r in requests), generator.config.image_size, args.scale)
    print("\n".join(r.summary for r in requests))
    picture, files_folder = outputs.sheet_paths(args, [r.id for r in requests], tags_file)
    checker = load_checker(generator.model_dir) if args.grade and picture is not None else None
    sheet = draw_sheet(generator, requests, cols=args.cols, seed=args.seed, seeds=seeds, checker=checker,
                       one_cell_per_request=tags_file, labels=args.labels, scale=args.scale)
    if picture is not None:
        if checker is not None:
            print("\n".join(sheet.grade_lines() + other_tag_lines(sheet, checker, generator)))
        save_png(picture, sheet.image)
        print(f"wrote {picture}")
    if files_folder is not None:
        written = generation.write_files(files_folder, requests, sheet.faces)
        print(f"wrote {len(written)} files to {files_folder}/ (sample_<id>_<k>.jpg)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
