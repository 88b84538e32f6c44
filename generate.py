#!/usr/bin/env python3
"""Generate anime faces from tags with a trained conditional BEGAN.

    python generate.py --tags "blue hair red eyes"               # 5x5 grid -> samples/blue_hair_red_eyes.png
    python generate.py --tags-file testing_tags.txt --format both  # samples/cgan.png + sample_<id>_<k>.jpg
    python generate.py --sweep hair --tags "red eyes"            # fixed z, one column per hair colour
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

import numpy as np

from checker.checker import load_checker, tag_marks
from common.cli import ArgumentParser, ExamplesHelpFormatter, UserError, clip, exit_on_user_error
from common.ids import safe_name
from common.quiet import quiet_libraries
from model.run_folder import EXPORT_DIR, ensure_writable_dir
from sampling import generation
from sampling.grid import full_rows_cols, grid, save_png, upscale
from sampling.runtime import load_generator
from tags.parser import parse

DEFAULT_MODEL = Path(__file__).resolve().parent / "models" / "default"
SAMPLES = Path("samples")
DEFAULT_CELLS = 8


def model_folder(model: str) -> Path:
    """samples/ for the bundled model, samples/<model name>/ for any other: two models'
    grids and course files (cgan.png, sample_<id>_<k>.jpg) never overwrite each other."""
    folder = Path(model).resolve()
    if folder == DEFAULT_MODEL:
        return SAMPLES
    return SAMPLES / safe_name(folder.parent.name if folder.name == EXPORT_DIR else folder.name, "model")


def variant(args, default_n: int | None = None) -> str:
    """What this drawing changes from the defaults, for its file name (seed3, seeds0-7, n8,
    cells12, trunc0.7, best4; empty for the defaults)."""
    parts = []
    if args.seed_list:
        parts.append("seeds" + safe_name(args.seeds.replace(",", "_"), ""))
    elif args.seed:
        parts.append(f"seed{args.seed}")
    if args.n is not None and args.n != default_n and not args.seed_list:
        parts.append(f"n{args.n}")
    if args.interpolate and args.cells != DEFAULT_CELLS:
        parts.append(f"cells{args.cells}")
    if args.truncation != 1.0:
        parts.append(f"trunc{args.truncation:g}")
    if args.best_of > 1:
        parts.append(f"best{args.best_of}")
    return "_".join(parts)


def _named(stem: str, extra: str) -> str:
    return safe_name(f"{stem}_{extra}" if extra else stem, "samples", limit=150)


def _is_png(out: str | None) -> bool:
    return bool(out) and Path(out).suffix.lower() == ".png"


def grid_path(args, stem: str) -> Path:
    """Where a picture goes: --out FILE.png as given; --out DIR: DIR/<stem>.png; else
    samples/[<model>/]<stem>.png (the folder checked writable)."""
    if _is_png(args.out):
        path = Path(args.out)
    else:
        path = (Path(args.out) if args.out else model_folder(args.model)) / f"{stem}.png"
    ensure_writable_dir(path.parent, "output folder")
    return path


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
    what.add_argument("--sweep", choices=["hair", "eyes"], default=None,
                      help="fixed z, one column per colour of this group")
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
        raise UserError("the studio has no --truncation or --best-of yet (it would ignore them); "
                        "draw with them on the command line instead")
    if args.edit or args.from_tags or args.strip:
        return _draw_edit(args)
    if args.serve:
        from studio import serve

        return serve(args.model, args.host, args.port)
    if _is_png(args.out) and Path(args.out).is_dir():
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
        return _draw_sweep_or_interpolation(args, generator)
    return _draw_requests(args, generator, items)


EDIT_REFUSES = ("tags_file", "seeds", "interpolate", "list_tags", "serve", "grade")


def _draw_edit(args) -> int:
    """--edit FACE with --tags TEXT or --sweep GROUP: one PNG (the edit, a strip or a sweep row)."""
    if not args.edit:
        raise UserError("--from and --strip go with --edit FACE")
    clash = [f"--{name.replace('_', '-')}" for name in EDIT_REFUSES if getattr(args, name)]
    if clash or args.best_of > 1 or args.truncation != 1.0:
        raise UserError(f"--edit draws one face you bring; it does not take "
                        f"{', '.join(clash) or '--best-of / --truncation'}")
    if bool(args.tags) == bool(args.sweep) or (args.tags and len(args.tags) > 1):
        raise UserError('--edit needs one --tags TEXT (e.g. "green hair") or --sweep hair|eyes')
    from editing.recolour import Recolourer, read_face
    from tags.parser import parse

    what = parse(args.tags[0], load_generator(args.model, "auto").vocab).file_stem if args.tags else \
        f"sweep_{args.sweep}"  # the canonical tags name the file, as everywhere
    out = Path(args.out or model_folder(args.model) / f"edit_{safe_name(Path(args.edit).stem.lower(), 'face')}_"
               f"{what}.png")
    ensure_writable_dir(out.parent, "output folder")
    recolour = Recolourer(args.model)
    face = read_face(args.edit, recolour.size)
    for warning in face.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    source = recolour.source_tags(face, args.from_tags)
    if args.tags:
        parse(args.tags[0], recolour.vocab)  # a typo fails now, not after the search
    print(f"{face.name}: {source.text} ({'--from' if args.from_tags else 'read by the tag checker'})")
    found = recolour.find(face, source, args.seed)
    if args.sweep:
        tags, faces = recolour.sweep(found, args.sweep)
        cells = [face.image, recolour.reconstruction(found), *faces]
        labels = ["original", "reconstruction", *(t.get(args.sweep) for t in tags)]
        save_png(out, grid(np.stack(cells), len(cells), None, args.scale, col_labels=labels))
        print(f"{args.sweep} sweep of {face.name}: original, reconstruction, then a column per colour")
    else:
        tags, edited = recolour.edit(found, args.tags[0])
        print(f"edit: {tags.text}")
        if args.strip:
            cells = np.stack([face.image, recolour.reconstruction(found), edited])
            save_png(out, grid(cells, 3, None, args.scale, col_labels=["original", "reconstruction", tags.text]))
        else:
            save_png(out, upscale(edited, args.scale))
    print(f"wrote {out}")
    return 0


def _draw_sweep_or_interpolation(args, generator) -> int:
    if args.sweep:
        rows_wanted = args.n or 4
        generation.check_output_size(rows_wanted * max(len(v) for v in generator.vocab.groups.values()),
                                     generator.config.image_size, args.scale)
        images, ncols, labels = generation.sweep(generator, args.sweep, (args.tags or [None])[0],
                                                 rows_wanted, args.seed)
        tags_stem = parse(args.tags[0], generator.vocab).file_stem if args.tags else ""
        name = _named(f"sweep_{args.sweep}" + (f"_{tags_stem}" if tags_stem else ""), variant(args, 4))
        # each column is one value of the group; each row the tags held fixed (labels on: a sweep
        # without them does not say which column is which)
        values = generator.vocab.groups[args.sweep]
        group_word = "eyes" if args.sweep == "eyes" else args.sweep
        cols = [f"{v} {group_word}" for v in values]
        rows = [label.split(" | ")[0] for label in labels]
        out = grid_path(args, name)
        save_png(out, grid(images, ncols, rows, args.scale, col_labels=cols))
        print(f"{args.sweep} sweep: a column per {args.sweep} colour, a row per fixed z ({len(rows)} rows)\n"
              f"wrote {out}")
        return 0
    else:
        a, b = args.interpolate
        generation.check_output_size(args.cells, generator.config.image_size, args.scale)
        images, ncols, labels = generation.interpolate(generator, a, b, args.cells, args.seed,
                                                       (args.tags or [None])[0])
        name = _named(generation.interpolation_stem(generator.vocab, a, b, (args.tags or [None])[0]),
                      variant(args))
    out = grid_path(args, name)
    save_png(out, grid(images, ncols, labels if args.labels else None, args.scale))
    print(f"{labels[0] if labels else name}\nwrote {out}")
    return 0


def _draw_requests(args, generator, items) -> int:
    """--tags or --tags-file: a grid, sample files, or both."""
    if items is not None:
        requests = generation.build_requests(items, generator.vocab, args.n or 5, args.seed)
        if args.cols is None:
            args.cols = full_rows_cols(len(requests))
    else:
        default_n = 25 if len(args.tags) == 1 else 5
        per_text = len(args.seed_list) if args.seed_list else args.n or default_n
        requests = generation.build_requests([(None, t) for t in args.tags], generator.vocab, per_text,
                                             args.seed_list[0] if args.seed_list else args.seed)
        if args.cols is None:
            args.cols = full_rows_cols(per_text)
    generation.check_output_size(sum(len(r.tagsets) for r in requests), generator.config.image_size,
                                 args.scale)
    for r in requests:
        used = sorted({t.text for t in r.tagsets})
        print(f"{r.id}: {clip(r.text)!r} -> " + ("; ".join(used) if len(used) <= 3 else f"{len(used)} tag sets: "
                                            + "; ".join(used[:3]) + "; ..."))
    picture, files_folder = _output_paths(args, requests, items is not None)
    images = generation.generate_requests(generator, requests, args.seed,
                                          args.seed_list if items is None else None)
    if picture is not None:
        _write_grid(args, generator, requests, images, picture, one_cell_per_request=items is not None)
    if files_folder is not None:
        written = generation.write_files(files_folder, requests, images)
        print(f"wrote {len(written)} files to {files_folder}/ (sample_<id>_<k>.jpg)")
    return 0


def _output_paths(args, requests, tags_file: bool) -> tuple[Path | None, Path | None]:
    """(grid PNG path or None, sample-file folder or None), both checked writable. The sample
    files go beside the grid. A tags file keeps the course's names (cgan.png, sample_<id>_<k>.jpg)
    in a folder named after what differs (samples/seed2/); tag texts name the grid
    (samples/blue_hair_red_eyes_seed2.png)."""
    changed = variant(args, 5 if tags_file else 25 if len(requests) == 1 else 5)
    if tags_file:
        stem = "cgan"
        if changed and not args.out:
            args = argparse.Namespace(**{**vars(args), "out": str(model_folder(args.model) / changed)})
    else:
        stem = _named("_vs_".join(r.id for r in requests), changed)
    path = grid_path(args, stem)
    files_folder = path.parent if args.format in ("files", "both") else None
    if files_folder is not None:
        ensure_writable_dir(files_folder, "output folder")
    return (path if args.format in ("grid", "both") else None), files_folder


def _write_grid(args, generator, requests, images, path: Path, *, one_cell_per_request: bool) -> None:
    if one_cell_per_request:  # a tags file: one cell per line (the 2018 course's 5x5 from 25 lines)
        cells = [imgs[0] for imgs in images]
        cell_tags = [r.tagsets[0] for r in requests]
        row_labels = generation.one_cell_row_labels(requests, args.cols)
    else:  # a block of whole rows per tag text (blank cells fill its last row), labelled on its first row
        cells, cell_tags, row_labels = [], [], []
        blank = np.full_like(images[0][0], 255)
        for r, imgs in zip(requests, images):
            rows = -(-len(imgs) // args.cols)
            fill = rows * args.cols - len(imgs) if len(requests) > 1 else 0
            cells += list(imgs) + [blank] * fill
            cell_tags += list(r.tagsets) + [None] * fill
            row_labels += [r.label] + [""] * (rows - 1)
    marks = None
    if args.grade:
        real = [i for i, t in enumerate(cell_tags) if t is not None]
        real_marks, accuracy = tag_marks([cells[i] for i in real], [cell_tags[i] for i in real],
                                         load_checker(generator.model_dir))
        marks = [None] * len(cells)
        for i, m in zip(real, real_marks):
            marks[i] = m
        if one_cell_per_request:
            print(f"{'id':>8}  {'requested':<28} " + "  ".join(f"{g:>5}" for g in accuracy))
            for r, mark in zip(requests, marks):
                print(f"{r.id:>8}  {r.tagsets[0].text:<28} " + "  ".join(f"{'ok' if m else 'WRONG':>5}" for m in mark))
        print("tag accuracy: " + ", ".join(f"{g} {a:.2f}" for g, a in accuracy.items()))
        if len(cells) == 25 and args.cols == 5:
            from evaluate.baseline import grade_grid_image

            result = grade_grid_image(grid(cells, 5))  # the plain grid, as the course graded it
            print(f"course baseline (anime-face detector on the 5x5 grid, pass at 20): {result.verdict}")
    labelled = args.labels or (not one_cell_per_request and len(requests) > 1)
    col_labels = [f"seed {s}" for s in args.seed_list] if args.seed_list and not one_cell_per_request else None
    save_png(path, grid(cells, args.cols, row_labels if labelled else None, args.scale, marks, col_labels=col_labels))
    print(f"wrote {path}")


if __name__ == "__main__":
    sys.exit(main())
